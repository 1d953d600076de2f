// Running sandboxes a user can see and control (issue 18): `airlock run --name`, `airlock ps`,
// `airlock stop`. Real sandboxes through the real binary, as root (integration.root) and as uid
// 65534 (integration.user): a run is listed with its processes while it runs and not after; stop
// ends it with SIGTERM, or kills the whole tree after the grace when the program ignores SIGTERM; a
// name is unique among a user's live sandboxes; a record left by a SIGKILLed airlock is not listed
// and does not hold its name; other users' sandboxes are neither listed nor stoppable.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <sstream>
#include <string>

#include <nlohmann/json.hpp>

#include "named_run_test.h"
#include "test_env.h"

using namespace airlock::test;

namespace {

class Ps : public NamedRunTest {
 protected:
  Ps() : NamedRunTest("ps") {}
  void Start(const std::string& name, const std::string& script) { StartNamed(name, {}, script); }
  int Wait() { return WaitRun(); }
  nlohmann::json PsJson() {
    auto r = airlock::test::Run({AirlockBin(), "ps", "--json"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    auto j = nlohmann::json::parse(r.out, nullptr, false);
    return j.is_array() ? j : nlohmann::json::array();
  }
  nlohmann::json Entry(const std::string& name) {
    for (const auto& e : PsJson()) {
      if (e.value("name", "") == name) return e;
    }
    return nullptr;
  }
};

TEST_F(Ps, ARunIsListedWithItsProcessesAndStopEndsIt) {
  Start(name_, "echo ready; exec sleep 60");
  auto e = Entry(name_);
  ASSERT_TRUE(e.is_object()) << PsJson().dump();
  EXPECT_EQ(e.value("launch", ""), "cold");
  EXPECT_EQ(e.value("net", ""), "none");
  EXPECT_EQ(e.value("profile", ""), "default");
  EXPECT_EQ(e.value("airlock_pid", 0), pid_);
  EXPECT_GE(e.value("pids", 0), 2) << e.dump();  // init and the sleep
  EXPECT_GT(e.value("rss_bytes", 0ULL), 0ULL);
  EXPECT_EQ(e["command"].at(0), "/bin/sh");
  auto table = airlock::test::Run({AirlockBin(), "ps"});
  EXPECT_NE(table.out.find(name_), std::string::npos) << table.out;

  auto r = airlock::test::Run({AirlockBin(), "stop", "--grace", "5", name_});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("stopped " + name_), std::string::npos) << r.out;
  EXPECT_EQ(Wait(), 128 + SIGTERM);  // the payload died of the SIGTERM
  auto report = nlohmann::json::parse(ReadFileOrEmpty(dir_ + "/report.json"), nullptr, false);
  ASSERT_TRUE(report.is_object());
  EXPECT_EQ(report.value("interrupted", false), true) << report.dump();
  EXPECT_EQ(report.value("interrupt_signal", 0), SIGTERM);
  EXPECT_TRUE(Entry(name_).is_null()) << "listed after it ended";
}

TEST_F(Ps, StopKillsTheWholeTreeWhenTheProgramIgnoresSigterm) {
  // SIG_IGN is inherited through exec: neither sh nor its children end on SIGTERM.
  const std::string child = "sleep " + std::to_string(3000 + ::getpid() % 1000);
  Start(name_, "trap '' TERM; (" + child + "; true) & echo ready; while :; do sleep 1; done");
  ASSERT_TRUE(WaitForProcessWithArg(child)) << "the background child is not running";
  auto r = airlock::test::Run({AirlockBin(), "stop", "--grace", "0.3", name_});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(Wait(), 128 + SIGTERM);
  auto report = nlohmann::json::parse(ReadFileOrEmpty(dir_ + "/report.json"), nullptr, false);
  EXPECT_NE(report.value("error", "").find("the sandbox was killed"), std::string::npos) << report.dump();
  EXPECT_FALSE(ProcessWithArgExists(marker_)) << DescribeProcessesWithArg(marker_);
  EXPECT_FALSE(ProcessWithArgExists(child)) << DescribeProcessesWithArg(child);
  ProcessWithArgExists(child, /*kill_it=*/true);
}

TEST_F(Ps, TheTableStaysAlignedWithALongName) {
  // Was fixed widths (ID 14, NAME 8): a longer --name pushed every later column of its row to the
  // right; and LAUNCH, six letters, had a column of five.
  const std::string name = "a-rather-long-sandbox-name-" + std::to_string(::getpid());
  Start(name, "echo ready; exec sleep 60");
  auto table = airlock::test::Run({AirlockBin(), "ps"});
  ASSERT_EQ(table.exit_code, 0) << table.err;
  std::istringstream lines(table.out);
  std::string header, line, row;
  std::getline(lines, header);
  while (std::getline(lines, line)) {
    if (line.rfind(name, 0) == 0) row = line;
  }
  ASSERT_FALSE(row.empty()) << table.out;
  EXPECT_EQ(header.find("COMMAND"), row.find("/bin/sh")) << table.out;
  EXPECT_EQ(airlock::test::Run({AirlockBin(), "stop", "--grace", "0", name}).exit_code, 0);
  Wait();
}

TEST_F(Ps, ANameIsUniqueWhileItsSandboxRuns) {
  Start(name_, "echo ready; exec sleep 60");
  auto r = RunAirlock({"--name", name_}, {"/bin/true"});
  EXPECT_EQ(r.exit_code, 121);
  EXPECT_NE(r.err.find("is in use by the sandbox started"), std::string::npos) << r.err;
  r = RunAirlock({"--name", "../x"}, {"/bin/true"});
  EXPECT_EQ(r.exit_code, 121);
  EXPECT_NE(r.err.find("--name '../x': use 1 to 40 letters"), std::string::npos) << r.err;
  r = airlock::test::Run({AirlockBin(), "stop", "no-such-sandbox"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("no running sandbox 'no-such-sandbox'"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("`airlock ps` lists them"), std::string::npos) << r.err;
  // An unnamed run beside it is listed under an id of its own.
  ASSERT_EQ(airlock::test::Run({AirlockBin(), "stop", "--grace", "0", name_}).exit_code, 0);
  Wait();
  r = RunAirlock({"--name", name_}, {"/bin/true"});
  EXPECT_EQ(r.exit_code, 0) << "the name is free again once its sandbox ended: " << r.err;
}

// A run without --name writes its entry while its sandbox starts (cold: after the release; warm: after
// the request; RunOptions::late_control), so `airlock ps` is asked until it appears: listed under an
// id with its command, and stoppable by that id, cold and warm (the pool's fast path).
TEST_F(Ps, AnUnnamedRunIsListedUnderItsIdColdAndWarm) {
  const std::string pool_dir = dir_ + "/pool";  // a pool's socket directory must be private
  ASSERT_EQ(::mkdir(pool_dir.c_str(), 0700), 0);
  const std::string sock = pool_dir + "/pool.sock", pool_log = dir_ + "/pool.log";
  pid_t pool = SpawnLogged({AirlockBin(), "pool", "-v", "--socket", sock, "--size", "1"}, pool_log);
  ASSERT_TRUE(WaitForMarker(pool_log, "ready after")) << ReadFileOrEmpty(pool_log);
  for (const char* mode : {"off", "required"}) {
    SCOPED_TRACE(std::string("--pool ") + mode);
    ::setenv("AIRLOCK_POOL_SOCKET", sock.c_str(), 1);
    StartNamed("", {"--pool", mode}, "echo ready; exec sleep 60");
    ::unsetenv("AIRLOCK_POOL_SOCKET");
    nlohmann::json entry;
    for (int i = 0; i < 300 && entry.is_null(); ++i) {
      for (const auto& e : PsJson()) {
        if (e.value("airlock_pid", 0) == pid_) entry = e;
      }
      if (entry.is_null()) ::usleep(10000);
    }
    ASSERT_TRUE(entry.is_object()) << "not listed: " << PsJson().dump();
    EXPECT_EQ(entry.value("name", "x"), "") << entry.dump();
    const std::string id = entry.value("id", "");
    ASSERT_FALSE(id.empty()) << entry.dump();
    EXPECT_NE(entry.dump().find("sleep 60"), std::string::npos) << entry.dump();
    auto r = airlock::test::Run({AirlockBin(), "stop", "--grace", "0", id});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(Wait(), 0) << "the stopped run reported success";
    EXPECT_NE(ReadFileOrEmpty(dir_ + "/report.json").find(std::string("\"launch\": \"") + (mode[0] == 'o' ? "cold" : "warm")),
              std::string::npos) << ReadFileOrEmpty(dir_ + "/report.json");
  }
  ::kill(pool, SIGTERM);
  ::waitpid(pool, nullptr, 0);
}

TEST_F(Ps, ARecordLeftByAKilledAirlockIsNotListedAndFreesItsName) {
  Start(name_, "echo ready; exec sleep 60");
  ::kill(pid_, SIGKILL);  // no chance to remove its record; init dies with it (parent-death signal)
  Wait();
  EXPECT_TRUE(Entry(name_).is_null()) << PsJson().dump();
  auto r = RunAirlock({"--name", name_}, {"/bin/true"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
}

TEST_F(Ps, AnotherUsersSandboxIsNeitherListedNorStoppable) {
  if (!IsRoot()) GTEST_SKIP() << "needs root to start a sandbox as another user (uid 65534)";
  Start(name_, "echo ready; exec sleep 60");
  const std::vector<std::string> as_user = {"setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "env",
                                            "HOME=" + dir_, "TMPDIR=" + dir_};
  auto cmd = as_user;
  for (const auto& w : {AirlockBin(), std::string("ps"), std::string("--json")}) cmd.push_back(w);
  auto r = airlock::test::Run(cmd);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out.find(name_), std::string::npos) << "uid 65534 sees root's sandbox: " << r.out;
  cmd = as_user;
  for (const auto& w : {AirlockBin(), std::string("stop"), name_}) cmd.push_back(w);
  r = airlock::test::Run(cmd);
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_TRUE(Entry(name_).is_object()) << "root's sandbox is gone after another user's stop";
  // Root's --all lists its own too; a user's --all is refused.
  cmd = as_user;
  for (const auto& w : {AirlockBin(), std::string("ps"), std::string("--all")}) cmd.push_back(w);
  EXPECT_EQ(airlock::test::Run(cmd).exit_code, 121);
}

}  // namespace
