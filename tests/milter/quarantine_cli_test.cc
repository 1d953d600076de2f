// `airlock quarantine` through its entry point (src/milter/quarantine_cli.h: QuarantineMain, run in a
// forked child so that its stdout/stderr can be captured) on a temporary store, and RunProgram, the
// spawn-and-capture it uses for sendmail/postsuper/postqueue. The end-to-end release/delete paths
// through the airlock-milter binary are in quarantine_test.cc; this file covers the argument
// handling, list/show output, corrupt entries and the exit codes (0 ok, 1 unknown ID, 2 error).
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <gtest/gtest.h>
#include <iostream>
#include <nlohmann/json.hpp>

#include "milter/quarantine_cli.h"
#include "milter/quarantine_store.h"
#include "test_env.h"

namespace airlock::milter {
namespace {

using airlock::test::ReadFileOrEmpty;
using airlock::test::WriteFile;
using nlohmann::json;
namespace fs = std::filesystem;

struct CliResult {
  int code = -1;
  std::string out, err;
};

class QuarantineCli : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = airlock::test::MakeTempDir("milter-qcli");
    state_ = dir_ + "/state";
    rec_ = dir_ + "/rec";
    fs::create_directories(rec_);
    fs::copy_file(MILTER_RECORD_ARGV, dir_ + "/sendmail");
    ::chmod((dir_ + "/sendmail").c_str(), 0755);
    // No postsuper: release re-injects with sendmail, delete only removes the entry.
    WriteFile(dir_ + "/milter.toml", "[quarantine]\nsendmail = \"" + dir_ + "/sendmail\"\npostsuper = \"\"\n");
    ::setenv("RECORD_DIR", rec_.c_str(), 1);
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  std::string Add(std::vector<std::string> rcpts = {"bob@example.org", "carol@example.org"}, const std::string& qid = "",
                  const std::string& message = "Subject: q\r\n\r\nbody\r\n") {
    QuarantineMeta meta{"", qid, "alice@example.org", std::move(rcpts), "2026-11-27T08:00:00Z", "malicious", 9.5,
                        {"T1204.002", "T1566"}};
    auto id = QuarantineStore(state_).Add(meta, message, "{\"verdict\": \"malicious\", \"score\": 9.5}\n");
    EXPECT_TRUE(id) << id.error().What();
    return id ? *id : "";
  }
  // QuarantineMain(args) in a child, stdout and stderr to files.
  CliResult Cli(std::vector<std::string> args, bool with_config = true) {
    std::vector<std::string> full = {"--state-dir", state_};
    if (with_config) full.insert(full.end(), {"--config", dir_ + "/milter.toml"});
    full.insert(full.end(), args.begin(), args.end());
    std::string out = dir_ + "/out", err = dir_ + "/err";
    std::fflush(nullptr);
    pid_t pid = ::fork();
    if (pid == 0) {
      int o = ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
      int e = ::open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
      ::dup2(o, STDOUT_FILENO);
      ::dup2(e, STDERR_FILENO);
      std::vector<char*> argv;
      for (auto& a : full) argv.push_back(a.data());
      argv.push_back(nullptr);
      int rc = QuarantineMain(static_cast<int>(full.size()), argv.data());
      std::cout.flush();
      std::fflush(nullptr);
      ::_exit(rc);
    }
    int st = 0;
    ::waitpid(pid, &st, 0);
    CliResult r;
    r.code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    r.out = ReadFileOrEmpty(out);
    r.err = ReadFileOrEmpty(err);
    return r;
  }
  std::string dir_, state_, rec_;
};

TEST_F(QuarantineCli, UsageAndArgumentErrors) {
  CliResult help = Cli({"--help"});
  EXPECT_EQ(help.code, 0);
  EXPECT_EQ(help.out.rfind("Usage: airlock quarantine", 0), 0u) << help.out;
  EXPECT_EQ(Cli({}).code, 2);
  CliResult unknown = Cli({"--frobnicate", "list"});
  EXPECT_EQ(unknown.code, 2);
  EXPECT_NE(unknown.err.find("unknown option '--frobnicate'"), std::string::npos) << unknown.err;
  EXPECT_EQ(Cli({"list", "extra"}).code, 2);
  EXPECT_EQ(Cli({"show"}).code, 2);
  EXPECT_EQ(Cli({"show", "a", "b"}).code, 2);
  EXPECT_EQ(Cli({"purge", "x"}).code, 2);
}

TEST_F(QuarantineCli, BadConfigIsAnError) {
  WriteFile(dir_ + "/milter.toml", "[quarantine]\nno_such_key = 1\n");
  CliResult r = Cli({"list"});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("bad config"), std::string::npos) << r.err;
}

// Empty is not silent (issue 18: a wrong --state-dir read as "nothing held"): stderr names where it
// looked; stdout stays empty for scripts, and JSON is an empty array.
TEST_F(QuarantineCli, ListOfAnEmptyOrMissingStore) {
  CliResult text = Cli({"list"});
  EXPECT_EQ(text.code, 0) << text.err;
  EXPECT_EQ(text.out, "");
  EXPECT_NE(text.err.find("nothing held: " + state_ + "/quarantine does not exist"), std::string::npos) << text.err;
  fs::create_directories(state_ + "/quarantine");
  text = Cli({"list"});
  EXPECT_EQ(text.out, "");
  EXPECT_NE(text.err.find("nothing held in " + state_ + "/quarantine"), std::string::npos) << text.err;
  CliResult j = Cli({"list", "--json"});
  EXPECT_EQ(j.code, 0);
  EXPECT_EQ(json::parse(j.out), json::array());
}

TEST_F(QuarantineCli, ListShowsEveryEntryInIdOrder) {
  std::string a = Add();
  std::string b = Add({"dave@example.org"});
  // Something that is not an entry is ignored.
  fs::create_directories(state_ + "/quarantine/not-an-id");
  CliResult text = Cli({"list"});
  ASSERT_EQ(text.code, 0) << text.err;
  std::string line_a = a + "  2026-11-27T08:00:00Z  malicious   9.5  alice@example.org -> bob@example.org,carol@example.org  T1204.002,T1566\n";
  std::string line_b = b + "  2026-11-27T08:00:00Z  malicious   9.5  alice@example.org -> dave@example.org  T1204.002,T1566\n";
  // IDs made in the same second differ in their random suffix only: either may sort first.
  EXPECT_EQ(text.out, a < b ? line_a + line_b : line_b + line_a);
  CliResult j = Cli({"list", "--json"});
  ASSERT_EQ(j.code, 0);
  json arr = json::parse(j.out);
  ASSERT_EQ(arr.size(), 2u);
  EXPECT_EQ(arr[0]["id"], std::min(a, b));
  EXPECT_EQ(arr[1]["id"], std::max(a, b));
  EXPECT_EQ(arr[0]["score"], 9.5);
}

TEST_F(QuarantineCli, ShowPrintsMetaAndTheParsedReport) {
  std::string id = Add();
  CliResult r = Cli({"show", id});
  ASSERT_EQ(r.code, 0) << r.err;
  json j = json::parse(r.out);
  EXPECT_EQ(j["id"], id);
  EXPECT_EQ(j["sender"], "alice@example.org");
  EXPECT_EQ(j["recipients"], json({"bob@example.org", "carol@example.org"}));
  EXPECT_EQ(j["report"]["score"], 9.5);
}

TEST_F(QuarantineCli, ShowWithACorruptReportStillPrintsJson) {
  std::string id = Add();
  WriteFile(state_ + "/quarantine/" + id + "/report.json", "{not json");
  CliResult r = Cli({"show", id});
  ASSERT_EQ(r.code, 0) << r.err;
  json j = json::parse(r.out, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << "output is not JSON: " << r.out;
  EXPECT_TRUE(j["report"].is_null());
  EXPECT_EQ(j["id"], id);
}

TEST_F(QuarantineCli, CorruptMetaIsAnErrorNotAnUnknownId) {
  std::string id = Add();
  WriteFile(state_ + "/quarantine/" + id + "/meta.json", "garbage");
  CliResult r = Cli({"show", id});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("meta.json is not JSON"), std::string::npos) << r.err;
}

TEST_F(QuarantineCli, IdsThatAreNotStoreNamesAreUnknown) {
  Add();
  for (const char* id : {"", "..", "../state", "/etc/passwd", "20261127T080000-deadbee", "20261127T080000-deadbeef/../x"}) {
    CliResult r = Cli({"delete", id});
    EXPECT_EQ(r.code, 1) << "'" << id << "'";
    EXPECT_NE(r.err.find("no entry"), std::string::npos) << r.err;
  }
  EXPECT_EQ(QuarantineStore(state_).List()->size(), 1u) << "nothing was deleted";
}

TEST_F(QuarantineCli, ReleaseReinjectsWithoutPostfixOptionsAndRemovesTheEntry) {
  std::string msg = "Subject: release\r\n\r\n\x01 binary \xff\r\n.\r\n";
  std::string id = Add({"bob@example.org"}, "4QID", msg);
  CliResult r = Cli({"release", id});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "re-injected " + id + " with " + dir_ + "/sendmail\n");
  EXPECT_EQ(ReadFileOrEmpty(rec_ + "/sendmail.log"), "argv: -i -f alice@example.org -- bob@example.org\nstdin:\n" + msg);
  EXPECT_FALSE(fs::exists(state_ + "/quarantine/" + id));
}

TEST_F(QuarantineCli, ReleaseWithoutRecipientsKeepsTheEntry) {
  std::string id = Add({});
  CliResult r = Cli({"release", id});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("has no recipients"), std::string::npos) << r.err;
  EXPECT_EQ(ReadFileOrEmpty(rec_ + "/sendmail.log"), "") << "sendmail not run";
  EXPECT_TRUE(fs::exists(state_ + "/quarantine/" + id));
}

TEST_F(QuarantineCli, DeleteRemovesOnlyThatEntryOnce) {
  std::string a = Add();
  std::string b = Add();
  CliResult r = Cli({"delete", a});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "deleted " + a + "\n");
  auto left = QuarantineStore(state_).List();
  ASSERT_TRUE(left);
  ASSERT_EQ(left->size(), 1u);
  EXPECT_EQ((*left)[0].id, b);
  EXPECT_EQ(Cli({"delete", a}).code, 1);
  EXPECT_EQ(ReadFileOrEmpty(rec_ + "/sendmail.log"), "");
}

TEST(RunProgram, StatusStdinStdoutStderr) {
  std::string out;
  ProgramResult r = RunProgram({"/bin/sh", "-c", "cat; echo oops >&2; exit 3"}, "hello\n", &out);
  EXPECT_EQ(r.status, 3);
  EXPECT_EQ(out, "hello\n");
  EXPECT_EQ(r.err, "oops\n");
}

TEST(RunProgram, SignalsAndMissingPrograms) {
  EXPECT_EQ(RunProgram({"/bin/sh", "-c", "kill -TERM $$"}, "").status, 128 + SIGTERM);
  EXPECT_EQ(RunProgram({"/nonexistent/program"}, "").status, 127);
}

TEST(RunProgram, LargeStreamsBothWaysDoNotDeadlock) {
  // More than a pipe buffer in and out at once: needs the poll loop to interleave writes and reads.
  std::string input(4 << 20, 'x');
  for (size_t i = 0; i < input.size(); i += 4096) input[i] = '\n';
  std::string out;
  ProgramResult r = RunProgram({"/bin/cat"}, input, &out);
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(out.size(), input.size());
  EXPECT_TRUE(out == input);
  // Discarded stdout still drains.
  EXPECT_EQ(RunProgram({"/bin/cat"}, input).status, 0);
}

TEST(RunProgram, StderrIsBounded) {
  ProgramResult r = RunProgram({"/bin/sh", "-c", "head -c 1000000 /dev/zero | tr '\\0' e >&2"}, "");
  EXPECT_EQ(r.status, 0);
  EXPECT_GE(r.err.size(), 65536u);
  EXPECT_LE(r.err.size(), 65536u + 4096u);
}

TEST(RunProgram, AProgramThatIgnoresItsStdinStillGetsToFinish) {
  // The child exits without reading: the write side sees EPIPE, not a SIGPIPE death of the caller.
  std::string out;
  ProgramResult r = RunProgram({"/bin/sh", "-c", "echo done"}, std::string(1 << 20, 'y'), &out);
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(out, "done\n");
}

}  // namespace
}  // namespace airlock::milter
