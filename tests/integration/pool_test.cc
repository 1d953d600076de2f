// Warm sandboxes (`airlock pool` + `airlock run --pool`): a real pool, real runs through it, every
// property asserted from inside a warm sandbox; fresh per run; the pool never serves another policy.
// Runs as root (integration.root) and as uid 65534 (integration.user).
#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <thread>

#include "test_env.h"

using namespace airlock::test;

namespace {

// True if some process's command line contains `needle` (the host's view of every pid).
bool ProcessWithArgExists(const std::string& needle) {
  DIR* d = opendir("/proc");
  bool found = false;
  while (struct dirent* e = d ? readdir(d) : nullptr) {
    if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
    std::string cmd = ReadFileOrEmpty(std::string("/proc/") + e->d_name + "/cmdline");
    for (auto& c : cmd)
      if (c == '\0') c = ' ';
    if (cmd.find(needle) != std::string::npos && (needle.find('/') != std::string::npos || cmd.find("airlock") == std::string::npos)) {
      found = true;
    }
  }
  if (d) closedir(d);
  return found;
}

pid_t Spawn(const std::vector<std::string>& argv, const std::string& log) {
  pid_t pid = fork();
  if (pid == 0) {
    int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    dup2(fd, 1);
    dup2(fd, 2);
    int null = open("/dev/null", O_RDONLY);
    dup2(null, 0);
    std::vector<char*> a;
    for (auto& s : argv) a.push_back(const_cast<char*>(s.c_str()));
    a.push_back(nullptr);
    execv(a[0], a.data());
    _exit(127);
  }
  return pid;
}

int WaitExit(pid_t pid) {
  int st = 0;
  waitpid(pid, &st, 0);
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

class Pool : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = MakeTempDir("pool");
    ::chmod(dir_.c_str(), 0700);
    socket_ = dir_ + "/pool.sock";
    // The pool serves one policy: default plus the test helpers, exactly what the runs below ask for.
    profile_ = dir_ + "/warm.toml";
    WriteFile(profile_, "include = [\"default\"]\n[[mount]]\ntype = \"ro-bind\"\nsrc = \"" + HelperDir() +
                            "\"\ndst = \"/helpers\"\n");
    log_ = dir_ + "/pool.log";
    pool_ = Spawn({AirlockBin(), "pool", "-v", "--profile", profile_, "--socket", socket_, "--size", "2"}, log_);
    for (int i = 0; i < 500 && !Ready(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    ASSERT_TRUE(Ready()) << ReadFileOrEmpty(log_);
    ::setenv("AIRLOCK_POOL_SOCKET", socket_.c_str(), 1);
  }
  void TearDown() override {
    ::unsetenv("AIRLOCK_POOL_SOCKET");
    if (pool_ > 0) {
      kill(pool_, SIGTERM);
      EXPECT_EQ(WaitExit(pool_), 0) << ReadFileOrEmpty(log_);
      // The spawner and every sandbox still waiting end with the pool (their command line is the pool's).
      bool gone = false;
      for (int i = 0; i < 300 && !(gone = !ProcessWithArgExists(socket_)); ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
      EXPECT_TRUE(gone) << "pool processes left behind";
      EXPECT_NE(access(socket_.c_str(), F_OK), 0) << "socket left behind";
    }
  }
  // Two sandboxes reported ready by the pool's log.
  bool Ready() {
    std::string log = ReadFileOrEmpty(log_);
    size_t n = 0;
    for (size_t p = log.find("ready after"); p != std::string::npos; p = log.find("ready after", p + 1)) ++n;
    return n >= 2;
  }
  RunResult Warm(const std::string& script, std::vector<std::string> opts = {}, const std::string& input = "") {
    std::vector<std::string> argv = {AirlockBin(), "run", "--profile", profile_, "--pool", "required"};
    argv.insert(argv.end(), opts.begin(), opts.end());
    argv.insert(argv.end(), {"--", "/bin/sh", "-c", script});
    return airlock::test::Run(argv, input);
  }
  nlohmann::json Report(const std::string& path) {
    auto j = nlohmann::json::parse(ReadFileOrEmpty(path), nullptr, false);
    return j.is_discarded() ? nlohmann::json::object() : j;
  }

  std::string dir_, socket_, profile_, log_;
  pid_t pool_ = -1;
};

}  // namespace

TEST_F(Pool, RunsWarmWithEveryLayer) {
  std::string report = dir_ + "/r.json";
  ::setenv("AIRLOCK_TEST_SECRET", "leak", 1);
  auto r = Warm("cat /proc/self/status; echo host=$(hostname); echo secret=${AIRLOCK_TEST_SECRET}; ls /proc/self/fd | tr '\\n' ' '; "
                "echo; echo sid=$(cut -d' ' -f6 /proc/self/stat) pid=$$; ls /; exit 42",
                {"--report", report});
  ::unsetenv("AIRLOCK_TEST_SECRET");
  EXPECT_EQ(r.exit_code, 42) << r.err;
  auto j = Report(report);
  EXPECT_EQ(j.value("launch", ""), "warm") << ReadFileOrEmpty(report);
  EXPECT_EQ(j.value("reason", ""), "ok");
  EXPECT_EQ(j.value("child_exit_status", -1), 42);
  bool seccomp = false, landlock = false;
  for (const auto& l : j["layers"]) {
    if (l["name"] == "seccomp") seccomp = l["engaged"].get<bool>();
    if (l["name"] == "landlock") landlock = l["engaged"].get<bool>();
  }
  EXPECT_TRUE(seccomp);
  EXPECT_TRUE(landlock || j.dump().find("not supported") != std::string::npos);
  for (const char* cap : {"CapInh:\t0000000000000000", "CapPrm:\t0000000000000000", "CapEff:\t0000000000000000",
                          "CapBnd:\t0000000000000000", "CapAmb:\t0000000000000000", "NoNewPrivs:\t1", "Seccomp:\t2"}) {
    EXPECT_NE(r.out.find(cap), std::string::npos) << cap << "\n" << r.out;
  }
  EXPECT_NE(r.out.find("host=airlock"), std::string::npos);
  EXPECT_NE(r.out.find("secret=\n"), std::string::npos) << "the caller's environment leaked";
  // stdio plus the one ls opens for the listing: nothing of the pool, the client or the sandbox's init.
  EXPECT_NE(r.out.find("0 1 2 3 \n"), std::string::npos) << r.out;
  // setsid: the shell leads its own session.
  auto sid = r.out.find("sid=");
  ASSERT_NE(sid, std::string::npos);
  std::string line = r.out.substr(sid, r.out.find('\n', sid) - sid);
  std::string s = line.substr(4, line.find(' ') - 4), p = line.substr(line.find("pid=") + 4);
  EXPECT_EQ(s, p) << line;
  EXPECT_EQ(r.out.find("\nroot\n"), std::string::npos) << "host directories visible";
}

TEST_F(Pool, EveryRunGetsAFreshSandbox) {
  auto a = Warm("readlink /proc/self/ns/mnt /proc/self/ns/pid /proc/self/ns/net; echo x > /tmp/mark; echo $$");
  auto b = Warm("readlink /proc/self/ns/mnt /proc/self/ns/pid /proc/self/ns/net; test -e /tmp/mark && echo seen; echo $$");
  ASSERT_EQ(a.exit_code, 0) << a.err;
  ASSERT_EQ(b.exit_code, 0) << b.err;
  auto first_line = [](const std::string& s) { return s.substr(0, s.find('\n')); };
  EXPECT_NE(first_line(a.out), first_line(b.out)) << "two runs shared a mount namespace";
  EXPECT_EQ(b.out.find("seen"), std::string::npos) << "a file of the previous run is visible";
  EXPECT_EQ(a.out.substr(a.out.rfind('\n', a.out.size() - 2) + 1), "2\n") << "the payload is pid 2 (init is 1)";
}

TEST_F(Pool, StdinAndStdoutAreTheCallers) {
  auto r = Warm("tr a-z A-Z; echo err >&2", {}, "hello warm\n");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "HELLO WARM\n");
  EXPECT_NE(r.err.find("err"), std::string::npos);
}

TEST_F(Pool, AnotherPolicyRunsColdOrFailsWhenRequired) {
  auto r = Warm("true", {"--hostname", "other"});
  EXPECT_EQ(r.exit_code, 123) << r.err;
  EXPECT_NE(r.err.find("differs from the pool's"), std::string::npos) << r.err;
  std::string report = dir_ + "/cold.json";
  r = airlock::test::Run({AirlockBin(), "run", "--profile", profile_, "--hostname", "other", "--report", report, "--", "/bin/sh", "-c",
           "hostname"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "other\n");
  EXPECT_EQ(Report(report).value("launch", ""), "cold");
  // Monitor, cgroup limits: never warm.
  r = Warm("true", {"--pids", "32"});
  EXPECT_EQ(r.exit_code, 123) << r.err;
  EXPECT_NE(r.err.find("cgroup"), std::string::npos) << r.err;
}

TEST_F(Pool, CommandNotFoundAndDeniedSyscalls) {
  auto r = airlock::test::Run({AirlockBin(), "run", "--profile", profile_, "--pool", "required", "--", "no-such-command"});
  EXPECT_EQ(r.exit_code, 127) << r.err;
  EXPECT_NE(r.err.find("command not found inside the sandbox: no-such-command"), std::string::npos) << r.err;
  std::string report = dir_ + "/denied.json";
  r = Warm("unshare -U true || true", {"--report", report});
  auto j = Report(report);
  EXPECT_EQ(j.value("launch", ""), "warm");
  EXPECT_GE(j["denied_syscalls"].value("unshare", 0), 1) << ReadFileOrEmpty(report) << r.out << r.err;
}

// Sleep arguments unique to this test process: the root and user tiers run at the same time.
std::string Marker(const char* seconds) { return std::string(seconds) + "." + std::to_string(getpid()); }

TEST_F(Pool, TimeoutKillsTheWarmSandbox) {
  auto t0 = std::chrono::steady_clock::now();
  const std::string secs = Marker("30");
  auto r = Warm("sleep " + secs + " & sleep " + secs, {"--timeout", "1s"});
  EXPECT_EQ(r.exit_code, 124) << r.err;
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(10));
  EXPECT_FALSE(ProcessWithArgExists("sleep " + secs)) << "a process of the sandbox outlived its timeout";
}

TEST_F(Pool, SignalsAreForwardedAndAKilledClientTakesTheSandboxDown) {
  std::string log = dir_ + "/client.log";
  const std::string first = Marker("3600"), second = Marker("3601");
  pid_t c = Spawn({AirlockBin(), "run", "--profile", profile_, "--pool", "required", "--", "/bin/sleep", first}, log);
  for (int i = 0; i < 300 && !ProcessWithArgExists("sleep " + first); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  ASSERT_TRUE(ProcessWithArgExists("sleep " + first)) << ReadFileOrEmpty(log);
  kill(c, SIGTERM);
  EXPECT_EQ(WaitExit(c), 128 + SIGTERM) << ReadFileOrEmpty(log);

  c = Spawn({AirlockBin(), "run", "--profile", profile_, "--pool", "required", "--", "/bin/sleep", second}, log);
  for (int i = 0; i < 300 && !ProcessWithArgExists("sleep " + second); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  ASSERT_TRUE(ProcessWithArgExists("sleep " + second)) << ReadFileOrEmpty(log);
  kill(c, SIGKILL);
  WaitExit(c);
  bool gone = false;
  for (int i = 0; i < 300 && !(gone = !ProcessWithArgExists("sleep " + second)); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_TRUE(gone) << "the sandbox outlived its killed client";
}

// --on-interrupt kill, warm: SIGTERM to the client kills a warm sandbox whose command ignores it, and
// the report says interrupted (the same Supervisor as a cold run; the pool's init kills everything).
TEST_F(Pool, OnInterruptKillEndsTheWarmSandboxAndReportsIt) {
  std::string log = dir_ + "/client.log", report = dir_ + "/r.json";
  const std::string secs = Marker("3602");
  pid_t c = Spawn({AirlockBin(), "run", "--profile", profile_, "--pool", "required", "--on-interrupt", "kill", "--report", report,
                   "--", "/bin/sh", "-c", "trap '' INT TERM HUP; exec sleep " + secs}, log);
  for (int i = 0; i < 300 && !ProcessWithArgExists("sleep " + secs); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  ASSERT_TRUE(ProcessWithArgExists("sleep " + secs)) << ReadFileOrEmpty(log);
  kill(c, SIGTERM);
  int st = 0, code = -1;  // bounded: a client that forwarded the signal instead would wait forever
  for (int i = 0; i < 6000 && code < 0; ++i) {
    if (waitpid(c, &st, WNOHANG) == c) code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    else std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  if (code < 0) {
    kill(c, SIGKILL);  // the pool then ends the sandbox (the connection closed)
    WaitExit(c);
  }
  EXPECT_EQ(code, 128 + SIGTERM) << ReadFileOrEmpty(log);
  EXPECT_FALSE(ProcessWithArgExists("sleep " + secs)) << "the warm sandbox outlived the interrupt";
  auto j = Report(report);
  EXPECT_EQ(j.value("launch", ""), "warm") << j.dump();
  EXPECT_TRUE(j.value("interrupted", false)) << j.dump();
  EXPECT_EQ(j.value("interrupt_signal", 0), SIGTERM);
  EXPECT_EQ(j.value("reason", ""), "signaled");
}

TEST_F(Pool, AWaitingSandboxThatDiesIsReplaced) {
  // Kill every sandbox the pool has prepared so far (the log names them).
  std::string log = ReadFileOrEmpty(log_);
  int killed = 0;
  for (size_t p = log.find("pool: sandbox "); p != std::string::npos; p = log.find("pool: sandbox ", p + 1)) {
    pid_t pid = static_cast<pid_t>(std::atoi(log.c_str() + p + 14));
    if (pid > 0 && kill(pid, SIGKILL) == 0) ++killed;
  }
  ASSERT_GE(killed, 2) << log;
  int code = -1;
  for (int i = 0; i < 200 && code != 4; ++i) {
    code = Warm("exit 4").exit_code;
    if (code != 4) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ(code, 4) << ReadFileOrEmpty(log_);
  // Noticed through its pidfd, or at the hand-out (then the next one serves).
  std::string after = ReadFileOrEmpty(log_);
  EXPECT_TRUE(after.find("ended; replacing it") != std::string::npos || after.find("is gone; trying the next") != std::string::npos)
      << after;
}

TEST_F(Pool, ServesOnlyPoliciesItCanPrepare) {
  auto r = airlock::test::Run({AirlockBin(), "pool", "--profile", "network", "--socket", dir_ + "/other.sock"});
  EXPECT_EQ(r.exit_code, 125) << r.err;
  EXPECT_NE(r.err.find("cannot be pooled"), std::string::npos) << r.err;
  // A second pool on the same socket is refused; the first one keeps serving.
  r = airlock::test::Run({AirlockBin(), "pool", "--profile", profile_, "--socket", socket_});
  EXPECT_EQ(r.exit_code, 125) << r.err;
  EXPECT_NE(r.err.find("already serves"), std::string::npos) << r.err;
  EXPECT_EQ(Warm("exit 3").exit_code, 3);
}

// The fast path: a pool of a built-in profile publishes what a client needs, so `airlock run
// --pool required -- CMD` does not load the profile. Tampered or foreign parameters are not used.
TEST(PoolFastPath, BuiltinProfileServedWithoutLoadingIt) {
  std::string dir = MakeTempDir("poolfast");
  ::chmod(dir.c_str(), 0700);
  std::string sock = dir + "/pool.sock", log = dir + "/pool.log";
  pid_t pool = Spawn({AirlockBin(), "pool", "-v", "--socket", sock, "--size", "1"}, log);
  for (int i = 0; i < 500 && ReadFileOrEmpty(log).find("ready after") == std::string::npos; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ::setenv("AIRLOCK_POOL_SOCKET", sock.c_str(), 1);
  ::setenv("AIRLOCK_TRACE_SETUP", "1", 1);
  auto r = airlock::test::Run({AirlockBin(), "run", "--pool", "required", "--", "/bin/sh", "-c", "id -u; echo $HOME; exit 5"});
  EXPECT_EQ(r.exit_code, 5) << r.err;
  EXPECT_NE(r.err.find("warm fast path"), std::string::npos) << r.err;
  EXPECT_NE(r.out.find("/home/sandbox"), std::string::npos) << r.out;
  auto params = nlohmann::json::parse(ReadFileOrEmpty(sock + ".params.json"), nullptr, false);
  ASSERT_TRUE(params.is_object()) << ReadFileOrEmpty(log);
  // Tampered parameters: the client loads its profile and is still served warm, by the full key.
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  params["fast_key"] = "builtin:default|forged";
  WriteFile(sock + ".params.json", params.dump(), 0600);
  r = airlock::test::Run({AirlockBin(), "run", "--pool", "required", "--", "/bin/true"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err.find("warm fast path"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("warm +"), std::string::npos) << r.err;
  ::unsetenv("AIRLOCK_TRACE_SETUP");
  ::unsetenv("AIRLOCK_POOL_SOCKET");
  kill(pool, SIGTERM);
  EXPECT_EQ(WaitExit(pool), 0) << ReadFileOrEmpty(log);
  EXPECT_NE(access((sock + ".params.json").c_str(), F_OK), 0) << "published parameters left behind";
}
