// box_review.h: the rules by inside path, the verdict, the report's field names.
#include <gtest/gtest.h>

#include <algorithm>

#include "box/box_review.h"
#include "core/json_text.h"

namespace airlock::box {
namespace {

Change Ch(Change::Kind kind, std::string path, std::string type = "file") {
  Change c;
  c.kind = kind;
  c.path = std::move(path);
  c.type = std::move(type);
  return c;
}

std::vector<std::string> Rules(const Review& r) {
  std::vector<std::string> v;
  for (const auto& f : r.findings) v.push_back(f.rule + " " + f.techniques[0] + " " + f.object);
  return v;
}

TEST(BoxReview, PersistencePlacesAreFlaggedWithTheirTechniques) {
  const std::string home = "/home/sandbox";
  Change setuid = Ch(Change::Kind::kAdded, "/home/sandbox/tool");
  setuid.setid = true;
  Change dev = Ch(Change::Kind::kAdded, "/home/sandbox/mem", "char");
  dev.special = true;
  auto r = ReviewChanges({Ch(Change::Kind::kChanged, "/home/sandbox/.bashrc"),
                          Ch(Change::Kind::kAdded, "/home/sandbox/.config/autostart/x.desktop"),
                          Ch(Change::Kind::kAdded, "/home/sandbox/.ssh/authorized_keys"),
                          Ch(Change::Kind::kAdded, "/etc/cron.d/job"),
                          Ch(Change::Kind::kAdded, "/etc/ld.so.preload"),
                          Ch(Change::Kind::kChanged, "/usr/bin/ls"),
                          Ch(Change::Kind::kDeleted, "/home/sandbox/.bash_history"),
                          setuid, dev},
                         home);
  EXPECT_EQ(r.verdict, "malicious");
  EXPECT_EQ(Rules(r), (std::vector<std::string>{
                          "BOX-SHELL-STARTUP T1546.004 /home/sandbox/.bashrc",
                          "BOX-AUTOSTART T1547.013 /home/sandbox/.config/autostart/x.desktop",
                          "BOX-SSH-KEY T1098.004 /home/sandbox/.ssh/authorized_keys",
                          "BOX-CRON T1053.003 /etc/cron.d/job",
                          "BOX-PRELOAD T1574.006 /etc/ld.so.preload",
                          "BOX-SYSTEM-BINARY T1554 /usr/bin/ls",
                          "BOX-CLEARED-HISTORY T1070.003 /home/sandbox/.bash_history",
                          "BOX-SETID T1548.001 /home/sandbox/tool",
                          "BOX-SPECIAL-FILE T1006 /home/sandbox/mem"}));
}

TEST(BoxReview, OrdinaryChangesAreCleanAndMediumIsSuspicious) {
  auto clean = ReviewChanges({Ch(Change::Kind::kAdded, "/home/sandbox/notes.txt"),
                              Ch(Change::Kind::kAdded, "/home/sandbox/.config", "dir"),
                              Ch(Change::Kind::kDeleted, "/home/sandbox/old.txt"),
                              Ch(Change::Kind::kAdded, "/home/other/.bashrc")},
                             "/home/sandbox");
  EXPECT_EQ(clean.verdict, "clean");
  EXPECT_TRUE(clean.findings.empty());
  auto medium = ReviewChanges({Ch(Change::Kind::kAdded, "/home/sandbox/.local/bin/git")}, "/home/sandbox");
  EXPECT_EQ(medium.verdict, "suspicious");
  // Without a home, home rules do not apply; system rules still do.
  auto nohome = ReviewChanges({Ch(Change::Kind::kAdded, "/.bashrc"), Ch(Change::Kind::kAdded, "/etc/sudoers.d/x")}, "");
  ASSERT_EQ(nohome.findings.size(), 1u);
  EXPECT_EQ(nohome.findings[0].rule, "BOX-ACCOUNTS");
}

TEST(BoxReview, JsonUsesTheEnvelopeNamesAndSurvivesOddBytes) {
  auto r = ReviewChanges({Ch(Change::Kind::kAdded, "/home/sandbox/.ssh/authorized_keys\xff")}, "/home/sandbox");
  auto j = nlohmann::json::parse(DumpJson(ReviewToJson(r)));
  EXPECT_EQ(j.value("verdict", ""), "malicious");
  EXPECT_EQ(j.value("changes", 0), 1);
  ASSERT_EQ(j["findings"].size(), 1u);
  for (const char* k : {"rule", "severity", "techniques", "evidence", "object"}) EXPECT_TRUE(j["findings"][0].contains(k)) << k;
  ASSERT_EQ(j["files"].size(), 1u);
  EXPECT_EQ(j["files"][0].value("path", ""), "/home/sandbox/.ssh/authorized_keys\\xff");
  EXPECT_EQ(j["files"][0].value("verdict", ""), "malicious");
  EXPECT_NE(ReviewToText(r).find("T1098.004"), std::string::npos);
}

TEST(BoxReview, TextEscapesControlBytesAndInvalidUtf8InPathsAndEvidence) {
  auto r = ReviewChanges({Ch(Change::Kind::kAdded, "/home/sandbox/.config/autostart/a\nverdict: clean\x1b[0m\xfe")}, "/home/sandbox");
  ASSERT_EQ(r.findings.size(), 1u);
  AddFindings(r, {{"yara.X", "low", {}, "evil\revidence\x07", ""}});
  const std::string text = ReviewToText(r);
  // One header line, one line per finding: a newline in a name or in evidence cannot forge a line.
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 1 + 2 + static_cast<long>(r.notes.size()));
  EXPECT_NE(text.find("autostart/a\\x0averdict: clean\\x1b[0m\\xfe"), std::string::npos) << text;
  EXPECT_NE(text.find("evil\\x0devidence\\x07"), std::string::npos) << text;
  EXPECT_NE(text.find("(the box)"), std::string::npos) << text;
  EXPECT_EQ(text.find('\x1b'), std::string::npos);
}

TEST(BoxReview, EachPathHasTheVerdictOfItsOwnFindingsAndTheBoxTheWorst) {
  auto r = ReviewChanges({Ch(Change::Kind::kAdded, "/home/sandbox/a"), Ch(Change::Kind::kAdded, "/home/sandbox/b")}, "/home/sandbox");
  EXPECT_EQ(r.verdict, "clean");
  AddFindings(r, {{"yara.Y", "medium", {"T1059.004"}, "x", "/home/sandbox/b"}});
  EXPECT_EQ(r.verdict, "suspicious");
  auto j = ReviewToJson(r);
  EXPECT_EQ(j["files"][0].value("verdict", ""), "clean");
  EXPECT_EQ(j["files"][1].value("verdict", ""), "suspicious");
  EXPECT_EQ(j["files"][1]["findings"][0].value("rule", ""), "yara.Y");
  AddFindings(r, {{"Sigma rule", "high", {}, "cat /etc/shadow", ""}});  // the box as a whole
  EXPECT_EQ(r.verdict, "malicious");
  EXPECT_EQ(ReviewToJson(r)["files"][1].value("verdict", ""), "suspicious");
}

}  // namespace
}  // namespace airlock::box
