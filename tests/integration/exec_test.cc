// `airlock exec` (issue 18): a command started inside a running sandbox gets its first payload's policy.
// Real sandboxes through the real binary, as root (integration.root) and as uid 65534
// (integration.user): the exec'd process sees the payload's files and pid namespace, runs with
// seccomp mode 2 and the same filter (a syscall the default denies is denied, and counted in the run's
// report), no capabilities, no_new_privs, the run's Landlock domain (its TCP bind and signal scope), in
// the run's pids limit; its status is ours; a missing command is 127; an unknown sandbox and another
// user's are refused; a sandbox that ends under it ends it.
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

class Exec : public NamedRunTest {
 protected:
  Exec() : NamedRunTest("exec") {}
  // `airlock run --name NAME --ro-bind HELPERS:/helpers [opts] -- sh -c 'echo first > /tmp/first; echo ready; exec sleep 60'`.
  void Start(std::vector<std::string> opts = {}) {
    opts.insert(opts.begin(), {"--ro-bind", HelperDir(), "/helpers"});
    StartNamed(name_, opts, "echo first > /tmp/first; echo ready; exec sleep 60");
  }
  RunResult ExecIn(const std::string& which, std::vector<std::string> cmd) {
    std::vector<std::string> argv = {AirlockBin(), "exec", which, "--"};
    argv.insert(argv.end(), cmd.begin(), cmd.end());
    return airlock::test::Run(argv);
  }
  RunResult Sh(const std::string& script) { return ExecIn(name_, {"/bin/sh", "-c", script}); }
  // Stops the run (SIGTERM at once, then SIGKILL) and returns its report.
  nlohmann::json StopAndReport() {
    airlock::test::Run({AirlockBin(), "stop", "--grace", "0", name_});
    WaitRun();
    auto j = nlohmann::json::parse(ReadFileOrEmpty(dir_ + "/report.json"), nullptr, false);
    return j.is_object() ? j : nlohmann::json::object();
  }
};

TEST_F(Exec, SeesThePayloadsFilesAndPidsWithItsLockDown) {
  Start();
  auto r = Sh("cat /tmp/first; echo pid2=$(tr '\\0' ' ' < /proc/2/cmdline); echo self=$$; "
              "grep -E '^(Seccomp|NoNewPrivs|CapInh|CapPrm|CapEff|CapBnd|CapAmb):' /proc/self/status; "
              "echo uid=$(id -u) host=$(hostname) mnt=$(readlink /proc/self/ns/mnt); readlink /proc/2/ns/mnt 2>&1; exit 42");
  EXPECT_EQ(r.exit_code, 42) << r.err;
  EXPECT_NE(r.out.find("first\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("pid2=sleep 60"), std::string::npos) << "the first payload is pid 2 of the same pid namespace\n" << r.out;
  for (const char* line : {"Seccomp:\t2", "NoNewPrivs:\t1", "CapInh:\t0000000000000000", "CapPrm:\t0000000000000000",
                           "CapEff:\t0000000000000000", "CapBnd:\t0000000000000000", "CapAmb:\t0000000000000000",
                           "host=airlock"}) {
    EXPECT_NE(r.out.find(line), std::string::npos) << line << "\n" << r.out;
  }
  EXPECT_EQ(r.out.find("self=1\n"), std::string::npos) << r.out;
}

TEST_F(Exec, TheRunsSeccompFilterAndLandlockDomainApply) {
  Start();
  // keyctl is outside the default allow-list (@keyring): EPERM from the filter, counted in the run.
  auto r = ExecIn(name_, {"/helpers/escape_layers", "sc_keyring"});
  EXPECT_NE(r.out.find("EPERM"), std::string::npos) << r.out << r.err;
  EXPECT_EQ(r.out.find("ESCAPED"), std::string::npos) << r.out;
  // Landlock: TCP bind (ABI 4) and signals out of the domain (ABI 6) as the first payload has them.
  auto bind = ExecIn(name_, {"/helpers/escape_layers", "ll_tcp_bind"});
  auto signal = ExecIn(name_, {"/helpers/escape_layers", "ll_signal"});
  auto first = airlock::test::Run({AirlockBin(), "run", "--ro-bind", HelperDir(), "/helpers", "--", "/helpers/escape_layers",
                                   "ll_tcp_bind"});
  auto first_signal = airlock::test::Run({AirlockBin(), "run", "--ro-bind", HelperDir(), "/helpers", "--",
                                          "/helpers/escape_layers", "ll_signal"});
  EXPECT_EQ(first.out.find("ESCAPED") == std::string::npos, bind.out.find("ESCAPED") == std::string::npos)
      << "run: " << first.out << "exec: " << bind.out;
  EXPECT_EQ(first_signal.out.find("ESCAPED") == std::string::npos, signal.out.find("ESCAPED") == std::string::npos)
      << "run: " << first_signal.out << "exec: " << signal.out;
  auto report = StopAndReport();
  EXPECT_GE(report["denied_syscalls"].value("keyctl", 0), 1) << report.dump();
}

TEST_F(Exec, ThePidsLimitCountsTheExecdProcessesToo) {
  Start({"--pids", "12"});
  // init and the first payload hold 2 of the 12; the exec'd probe is a third.
  auto r = ExecIn(name_, {"/helpers/probe", "forkbomb", "40"});
  ASSERT_NE(r.out.find("forked "), std::string::npos) << r.out << r.err;
  int n = std::stoi(r.out.substr(r.out.find("forked ") + 7));
  EXPECT_LE(n, 9) << r.out;
  EXPECT_GT(n, 0) << r.out;
}

TEST_F(Exec, StatusNotFoundAndUnknownSandbox) {
  Start();
  EXPECT_EQ(Sh("exit 7").exit_code, 7);
  auto r = Sh("kill -TERM $$");
  EXPECT_EQ(r.exit_code, 128 + SIGTERM) << r.err;
  r = ExecIn(name_, {"no-such-command"});
  EXPECT_EQ(r.exit_code, 127) << r.err;
  EXPECT_NE(r.err.find("command not found inside the sandbox: no-such-command"), std::string::npos) << r.err;
  r = airlock::test::Run({AirlockBin(), "exec", "--cwd", "/tmp", name_, "--", "/bin/sh", "-c", "pwd"});
  EXPECT_EQ(r.out, "/tmp\n") << r.err;
  r = airlock::test::Run({AirlockBin(), "exec", name_});
  EXPECT_EQ(r.exit_code, 121);
  EXPECT_NE(r.err.find("no command"), std::string::npos) << r.err;
  r = ExecIn("no-such-sandbox", {"/bin/true"});
  EXPECT_EQ(r.exit_code, 125);
  EXPECT_NE(r.err.find("no running sandbox 'no-such-sandbox'"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("`airlock ps` lists them"), std::string::npos) << r.err;
  // An argument list past the request limit: refused before anything is sent.
  std::vector<std::string> big = {"/bin/true"};
  for (int i = 0; i < 50; ++i) big.push_back(std::string(4096, 'a'));  // 200 KiB in all
  r = ExecIn(name_, big);
  EXPECT_EQ(r.exit_code, 121);
  EXPECT_NE(r.err.find("airlock exec takes at most"), std::string::npos) << r.err;
}

TEST_F(Exec, StdinIsTheCallersAndTheEnvironmentFollowsTheRunsRules) {
  Start();
  ::setenv("AIRLOCK_TEST_SECRET", "leak", 1);
  auto r = airlock::test::Run({AirlockBin(), "exec", name_, "--", "/bin/sh", "-c", "tr a-z A-Z; echo secret=${AIRLOCK_TEST_SECRET}"},
                              "hello exec\n");
  ::unsetenv("AIRLOCK_TEST_SECRET");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "HELLO EXEC\nsecret=\n");
}

TEST_F(Exec, ASandboxThatEndsTakesTheExecWithIt) {
  Start();
  pid_t exec = SpawnLogged({AirlockBin(), "exec", name_, "--", "/bin/sh", "-c", "echo started; exec sleep 60"}, dir_ + "/exec.log");
  ASSERT_TRUE(WaitForMarker(dir_ + "/exec.log", "started")) << ReadFileOrEmpty(dir_ + "/exec.log");
  StopAndReport();
  int status = 0;
  ::waitpid(exec, &status, 0);
  EXPECT_TRUE(WIFEXITED(status)) << status;
  EXPECT_EQ(WEXITSTATUS(status), 128 + SIGKILL);
  EXPECT_NE(ReadFileOrEmpty(dir_ + "/exec.log").find("the sandbox ended while"), std::string::npos)
      << ReadFileOrEmpty(dir_ + "/exec.log");
}

TEST_F(Exec, ExecdProcessesAppearInTheRunsMonitorEvents) {
  const std::string events = dir_ + "/events.jsonl";
  Start({"--monitor", events});
  auto r = Sh("/usr/bin/id -u >/dev/null; echo done");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  StopAndReport();
  bool seen = false;
  std::istringstream lines(ReadFileOrEmpty(events));
  for (std::string line; std::getline(lines, line);) {
    auto e = nlohmann::json::parse(line, nullptr, false);
    if (e.is_object() && e.value("category", "") == "process_creation" && e.value("Image", "") == "/usr/bin/id") seen = true;
  }
  EXPECT_TRUE(seen) << ReadFileOrEmpty(events);
}

TEST_F(Exec, AnotherUserCannotExecIntoRootsSandbox) {
  if (!IsRoot()) GTEST_SKIP() << "needs root to start a sandbox as another user (uid 65534)";
  Start();
  auto r = airlock::test::Run({"setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "env", "HOME=" + dir_,
                               "TMPDIR=" + dir_, AirlockBin(), "exec", name_, "--", "/bin/true"});
  EXPECT_EQ(r.exit_code, 125) << r.err;
  EXPECT_NE(r.err.find("no running sandbox"), std::string::npos) << r.err;
  // Root reaches its own.
  EXPECT_EQ(ExecIn(name_, {"/bin/true"}).exit_code, 0);
}

}  // namespace
