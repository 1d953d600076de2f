// box_review.h: the rules by inside path, the verdict, the report's field names.
#include <gtest/gtest.h>

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
  auto j = nlohmann::json::parse(DumpJson(ReviewToJson(r, 1)));
  EXPECT_EQ(j.value("verdict", ""), "malicious");
  ASSERT_EQ(j["findings"].size(), 1u);
  for (const char* k : {"rule", "severity", "techniques", "evidence", "object"}) EXPECT_TRUE(j["findings"][0].contains(k)) << k;
  EXPECT_NE(ReviewToText(r, 1).find("T1098.004"), std::string::npos);
}

}  // namespace
}  // namespace airlock::box
