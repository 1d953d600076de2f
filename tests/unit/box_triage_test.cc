// box_triage.h: airlock-scan's report and airlock-rules' matches mapped to review findings, and the
// staging of a box's files for the scan.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include "box/box_triage.h"
#include "test_env.h"

namespace airlock::box {
namespace {

nlohmann::json Object(const std::string& input, const std::string& verdict, nlohmann::json findings, nlohmann::json children = nlohmann::json::array()) {
  return {{"input", input}, {"path", input}, {"verdict", verdict}, {"score", 8}, {"techniques", {"T1059.004"}},
          {"findings", std::move(findings)}, {"children", std::move(children)}};
}

TEST(BoxTriage, ScanFindingsMapBackToTheirInsidePathsWithSeverityAndTechniques) {
  nlohmann::json yara = {{"id", "yara.Reverse_Shell_Unix"}, {"severity", 8}, {"title", "Unix reverse shell one-liner"},
                         {"evidence", "bash -i"}, {"techniques", {"T1059.004"}}};
  nlohmann::json low = {{"id", "text.url"}, {"severity", 2}, {"title", "a URL"}, {"evidence", "http://x"}, {"techniques", nlohmann::json::array()}};
  nlohmann::json member = Object("/scan/1", "suspicious", {{{"id", "m"}, {"severity", 5}, {"title", "T"}, {"evidence", "e"}}});
  member["path"] = "/scan/1/inner.sh";
  nlohmann::json report = {{"objects", {Object("/scan/0", "malicious", {yara}), Object("/scan/1", "clean", {low}, {member})}},
                           {"errors", nlohmann::json::array()}};
  auto f = ContentFindings(report, {"/home/u/a.sh", "/home/u/b.zip"}, "/scan");
  ASSERT_TRUE(f.has_value());
  ASSERT_EQ(f->size(), 3u);
  EXPECT_EQ((*f)[0].rule, "yara.Reverse_Shell_Unix");
  EXPECT_EQ((*f)[0].severity, "high");
  EXPECT_EQ((*f)[0].object, "/home/u/a.sh");
  EXPECT_EQ((*f)[0].techniques, std::vector<std::string>{"T1059.004"});
  EXPECT_EQ((*f)[1].severity, "low");
  EXPECT_EQ((*f)[1].object, "/home/u/b.zip");
  EXPECT_EQ((*f)[2].severity, "medium");
  EXPECT_NE((*f)[2].evidence.find("in /scan/1/inner.sh"), std::string::npos);
}

TEST(BoxTriage, AVerdictThatFindingsAddUpToIsKeptAndMissingInputsAreNeverClean) {
  nlohmann::json medium = {{"id", "a"}, {"severity", 6}, {"title", "A"}};
  nlohmann::json report = {{"objects", {Object("/scan/0", "malicious", {medium})}},
                           {"errors", {{{"input", "/scan/1"}, {"error", "unreadable"}}}}};
  auto f = ContentFindings(report, {"/x", "/y", "/z"}, "/scan");
  ASSERT_TRUE(f.has_value());
  ASSERT_EQ(f->size(), 4u);
  EXPECT_EQ((*f)[1].rule, "BOX-SCAN-SCORE");
  EXPECT_EQ((*f)[1].severity, "high");
  EXPECT_EQ((*f)[2].rule, "BOX-NOT-SCANNED");
  EXPECT_EQ((*f)[2].object, "/y");
  EXPECT_EQ((*f)[2].severity, "medium");
  EXPECT_EQ((*f)[3].object, "/z");
  EXPECT_NE((*f)[3].evidence.find("missing"), std::string::npos);
  // Not the scanner's report at all: an error, never an empty (clean) list.
  EXPECT_FALSE(ContentFindings(nlohmann::json::parse("{\"verdict\":\"clean\"}"), {"/x"}, "/scan").has_value());
  EXPECT_FALSE(ContentFindings(nlohmann::json(), {}, "/scan").has_value());
  // Inputs outside the staged names are ignored (a path the scanner made up maps to nothing).
  auto odd = ContentFindings({{"objects", {Object("/etc/passwd", "malicious", {medium}), Object("/scan/x9", "malicious", {medium})}}},
                             {"/x"}, "/scan");
  ASSERT_TRUE(odd.has_value());
  ASSERT_EQ(odd->size(), 1u);
  EXPECT_EQ((*odd)[0].rule, "BOX-NOT-SCANNED");
}

TEST(BoxTriage, SigmaMatchesBecomeFindingsOnThePathsTheyName) {
  Change c;
  c.path = "/home/u/.bashrc";
  const std::string lines =
      R"({"rule_id":"1","title":"Persistence - Shell RC","level":"high","techniques":["t1546.004"],"event":{"category":"file_event","TargetFilename":"/home/u/.bashrc"}})"
      "\n"
      R"({"rule_id":"2","title":"Credential cmdline","level":"medium","techniques":["T1003.008"],"event":{"category":"process_creation","CommandLine":"cat /etc/shadow","Image":"/usr/bin/cat"}})"
      "\n"
      R"({"rule_id":"2","title":"Credential cmdline","level":"medium","techniques":["T1003.008"],"event":{"category":"process_creation","CommandLine":"cat /etc/shadow","Image":"/usr/bin/cat"}})"
      "\nnot json\n"
      R"({"title":"Info","level":"informational","event":{"category":"x"}})";
  auto f = BehaviourFindings(lines, {c});
  ASSERT_EQ(f.size(), 3u);  // the repeated match once
  EXPECT_EQ(f[0].rule, "Persistence - Shell RC");
  EXPECT_EQ(f[0].severity, "high");
  EXPECT_EQ(f[0].techniques, std::vector<std::string>{"T1546.004"});
  EXPECT_EQ(f[0].object, "/home/u/.bashrc");
  EXPECT_EQ(f[1].severity, "medium");
  EXPECT_EQ(f[1].object, "");
  EXPECT_NE(f[1].evidence.find("cat /etc/shadow"), std::string::npos);
  EXPECT_EQ(f[2].severity, "low");
}

TEST(BoxTriage, StagingCopiesRegularFilesAndBoundsTheRest) {
  const std::string dir = test::MakeTempDir("box-triage");
  const std::string upper = dir + "/upper", stage = dir + "/stage";
  std::filesystem::create_directories(upper + "/d");
  std::filesystem::create_directories(stage);
  test::WriteFile(upper + "/d/small", "hello");
  test::WriteFile(upper + "/big", std::string(64, 'x'));
  std::filesystem::create_symlink("/etc/passwd", upper + "/link");
  auto ch = [](std::string path, std::string rel, uint64_t size, std::string type = "file") {
    Change c;
    c.path = std::move(path);
    c.relative = std::move(rel);
    c.size = size;
    c.type = std::move(type);
    return c;
  };
  // "link" claims to be a file: a symlink swapped in is not followed.
  std::vector<Change> changes = {ch("/h/big", "big", 64), ch("/h/d", "d", 0, "dir"), ch("/h/d/small", "d/small", 5), ch("/h/link", "link", 3)};
  ScanLimits limits;
  limits.max_file_bytes = 32;
  auto s = StageForScan({{"/h", "/nonexistent", upper}}, changes, stage, limits);
  ASSERT_TRUE(s.has_value()) << s.error().What();
  EXPECT_EQ(s->paths, std::vector<std::string>{"/h/d/small"});
  EXPECT_EQ(test::ReadFileOrEmpty(stage + "/0"), "hello");
  struct stat st {};
  ASSERT_EQ(::stat((stage + "/0").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0444u);
  ASSERT_EQ(s->not_staged.size(), 2u);
  EXPECT_EQ(s->not_staged[0].object, "/h/big");
  EXPECT_EQ(s->not_staged[0].severity, "low");
  EXPECT_EQ(s->not_staged[1].object, "/h/link");
  EXPECT_EQ(s->not_staged[1].severity, "medium");
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace airlock::box
