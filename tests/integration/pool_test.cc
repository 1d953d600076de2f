// Warm sandboxes (`airlock pool` + `airlock run --pool`): a real pool, real runs through it, every
// property asserted from inside a warm sandbox; fresh per run; the pool never serves another policy.
// Runs as root (integration.root) and as uid 65534 (integration.user).
#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <set>
#include <thread>

#include "test_env.h"

using namespace airlock::test;

namespace {

// The pids of this process's children, space-separated (orphans included: subreaper).
std::string Children() {
  std::string all;
  DIR* d = opendir("/proc/self/task");
  while (struct dirent* e = d ? readdir(d) : nullptr) {
    if (e->d_name[0] != '.') all += ReadFileOrEmpty(std::string("/proc/self/task/") + e->d_name + "/children");
  }
  if (d) closedir(d);
  return all;
}

// Reaps exited children; true when this process has no child left.
bool NoChildrenLeft() {
  while (waitpid(-1, nullptr, WNOHANG) > 0) {
  }
  return Children().find_first_not_of(" \n") == std::string::npos;
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
    // The pool's processes are reparented to us when their parent goes: TearDown sees every one left.
    ASSERT_EQ(prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0), 0);
    dir_ = MakeTempDir("pool");
    ::chmod(dir_.c_str(), 0700);
    socket_ = dir_ + "/pool.sock";
    // The pool serves one policy: default plus the test helpers, exactly what the runs below ask for.
    profile_ = dir_ + "/warm.toml";
    WriteFile(profile_, "include = [\"default\"]\n[[mount]]\ntype = \"ro-bind\"\nsrc = \"" + HelperDir() +
                            "\"\ndst = \"/helpers\"\n" + ProfileExtra());
    log_ = dir_ + "/pool.log";
    std::vector<std::string> argv = {AirlockBin(), "pool", "-v", "--profile", profile_, "--socket", socket_, "--size", "2"};
    for (const auto& o : PoolOptions()) argv.push_back(o);
    pool_ = Spawn(argv, log_);
    for (int i = 0; i < 500 && !Ready(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    ASSERT_TRUE(Ready()) << ReadFileOrEmpty(log_);
    ::setenv("AIRLOCK_POOL_SOCKET", socket_.c_str(), 1);
  }
  void TearDown() override {
    ::unsetenv("AIRLOCK_POOL_SOCKET");
    if (pool_ > 0) {
      kill(pool_, SIGTERM);
      EXPECT_EQ(WaitExit(pool_), 0) << ReadFileOrEmpty(log_);
      // The spawner (its command line is the pool's) and every sandbox still waiting (its init shows
      // "airlock-init"; reparented to us, the subreaper, if it outlived the spawner) end with the pool.
      bool gone = false;
      for (int i = 0; i < 300 && !(gone = !ProcessWithArgExists(socket_) && NoChildrenLeft()); ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
      EXPECT_TRUE(gone) << "pool processes left behind:\n" << DescribeProcessesWithArg(socket_) << "children: " << Children();
      EXPECT_NE(access(socket_.c_str(), F_OK), 0) << "socket left behind";
    }
  }
  virtual std::vector<std::string> PoolOptions() const { return {}; }
  virtual std::string ProfileExtra() const { return ""; }
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
    return RunWarmRetryingDecline(argv, input);
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
  // Limits are part of the policy: a pool without them does not serve a run with them.
  r = Warm("true", {"--pids", "32"});
  EXPECT_EQ(r.exit_code, 123) << r.err;
  EXPECT_NE(r.err.find("differs from the pool's"), std::string::npos) << r.err;
}

// `airlock exec` into a warm run (issue 18): the request travels on the run's connection to init; the
// exec'd process has the warm payload's files and lock-down.
TEST_F(Pool, ExecEntersAWarmRunWithItsLockDown) {
  const std::string name = "warm-exec-" + std::to_string(::getpid());
  const std::string log = dir_ + "/named.log";
  pid_t run = Spawn({AirlockBin(), "run", "--profile", profile_, "--pool", "required", "--name", name, "--", "/bin/sh", "-c",
                     "echo first > /tmp/first; echo ready; exec sleep 60"},
                    log);
  ASSERT_TRUE(WaitForMarker(log, "ready")) << ReadFileOrEmpty(log);
  auto r = airlock::test::Run({AirlockBin(), "exec", name, "--", "/bin/sh", "-c",
                               "cat /tmp/first; grep -E '^(Seccomp|NoNewPrivs|CapEff):' /proc/self/status; "
                               "/helpers/escape_layers sc_keyring; exit 3"});
  EXPECT_EQ(r.exit_code, 3) << r.err;
  for (const char* line : {"first\n", "Seccomp:\t2", "NoNewPrivs:\t1", "CapEff:\t0000000000000000", "EPERM"}) {
    EXPECT_NE(r.out.find(line), std::string::npos) << line << "\n" << r.out;
  }
  EXPECT_EQ(airlock::test::Run({AirlockBin(), "stop", "--grace", "0", name}).exit_code, 0);
  EXPECT_EQ(WaitExit(run), 128 + SIGTERM) << ReadFileOrEmpty(log);
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
  ASSERT_TRUE(WaitForProcessWithArg("sleep " + first, 3000)) << ReadFileOrEmpty(log);
  kill(c, SIGTERM);
  EXPECT_EQ(WaitExit(c), 128 + SIGTERM) << ReadFileOrEmpty(log);

  c = Spawn({AirlockBin(), "run", "--profile", profile_, "--pool", "required", "--", "/bin/sleep", second}, log);
  ASSERT_TRUE(WaitForProcessWithArg("sleep " + second, 3000)) << ReadFileOrEmpty(log);
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
  if (!WaitForProcessWithArg("sleep " + secs, 3000)) {
    kill(c, SIGKILL);  // the pool then ends the sandbox (the connection closed)
    WaitExit(c);
    FAIL() << "the warm command did not start within 3 s; client: " << ReadFileOrEmpty(log) << "\npool: " << ReadFileOrEmpty(log_);
  }
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

// ---- Limits (--memory, --pids, --cpu) served warm ----
// A pool started with limits: as root each sandbox waits in a cgroup of its own (the pool's -v log
// names its directories); as uid 65534, which has no writable cgroup on this host, the limits are the
// rlimit fallback, exactly as in a cold run. Either way a run asking for the same limits is served
// warm and ends as a cold run would; a run asking for other limits is not served.
class LimitedPool : public Pool {
 protected:
  std::vector<std::string> PoolOptions() const override { return Limits(); }
  // The profile's rlimits apply in a warm sandbox as in a cold one (they are part of the limits).
  std::string ProfileExtra() const override { return "[limits.rlimits]\nnofile = \"200\"\n"; }
  static std::vector<std::string> Limits() { return {"--memory", "64m", "--pids", "32"}; }
  void TearDown() override {
    auto dirs = PoolCgroups();
    Pool::TearDown();
    std::string log = ReadFileOrEmpty(log_);
    for (const auto& d : dirs) {
      EXPECT_NE(access(d.c_str(), F_OK), 0) << "cgroup left behind after the pool stopped: " << d;
      // Removed by the pool's spawner, their creator: a collection (the pool's own at exit, or any
      // other airlock process's) is for what a killed pool left, and races with other collectors.
      EXPECT_EQ(log.find("cgroup gc: removed stale " + d), std::string::npos) << "the pool left its cgroup to a collection: " << d << "\n" << log;
    }
  }
  // `airlock run` with the pool's limits: warm (--pool required) or cold (--pool off).
  RunResult Limited(bool warm, const std::vector<std::string>& cmd, const std::string& report, std::vector<std::string> extra = {}) {
    std::vector<std::string> argv = {AirlockBin(), "run", "--profile", profile_, "--pool", warm ? "required" : "off", "--report", report};
    for (const auto& o : Limits()) argv.push_back(o);
    argv.insert(argv.end(), extra.begin(), extra.end());
    argv.push_back("--");
    argv.insert(argv.end(), cmd.begin(), cmd.end());
    return warm ? RunWarmRetryingDecline(argv) : airlock::test::Run(argv);
  }
  // Every cgroup directory the pool made so far (one log line per sandbox, root only).
  std::vector<std::string> PoolCgroups() {
    std::vector<std::string> out;
    std::string log = ReadFileOrEmpty(log_);
    const std::string tag = "pool: cgroup of sandbox ";
    for (size_t p = log.find(tag); p != std::string::npos; p = log.find(tag, p + 1)) {
      size_t colon = log.find(": ", p + tag.size());
      std::string line = log.substr(colon + 2, log.find('\n', colon) - colon - 2);
      for (size_t a = 0, b; a < line.size(); a = b + 1) {
        b = line.find(' ', a);
        if (b == std::string::npos) b = line.size();
        if (b > a) out.push_back(line.substr(a, b - a));
      }
    }
    return out;
  }
  // The report's layers of the limits (cgroup-memory, cgroup-pids, ...), as "name engaged detail".
  static std::set<std::string> LimitLayers(const nlohmann::json& j) {
    std::set<std::string> out;
    for (const auto& l : j.value("layers", nlohmann::json::array())) {
      std::string name = l.value("name", "");
      if (name.rfind("cgroup-", 0) == 0 && name != "cgroup-namespace") out.insert(name + " " + (l.value("engaged", false) ? "on " : "off ") + l.value("detail", ""));
    }
    return out;
  }
};

TEST_F(LimitedPool, ALimitedRunIsServedWarmWithTheLayersOfAColdOne) {
  auto w = Limited(true, {"/bin/sh", "-c", "ulimit -n; ulimit -c; exit 7"}, dir_ + "/w.json");
  auto c = Limited(false, {"/bin/sh", "-c", "ulimit -n; ulimit -c; exit 7"}, dir_ + "/c.json");
  EXPECT_EQ(w.exit_code, 7) << w.err;
  EXPECT_EQ(c.exit_code, 7) << c.err;
  EXPECT_EQ(c.out, "200\n0\n");
  EXPECT_EQ(w.out, c.out);
  auto jw = Report(dir_ + "/w.json"), jc = Report(dir_ + "/c.json");
  EXPECT_EQ(jw.value("launch", ""), "warm") << jw.dump();
  EXPECT_EQ(jc.value("launch", ""), "cold") << jc.dump();
  auto layers = LimitLayers(jc);
  EXPECT_EQ(layers.size(), 2u) << jc.dump();
  EXPECT_EQ(LimitLayers(jw), layers) << jw.dump() << "\n" << jc.dump();
  // A cgroup per sandbox exactly when a cold run gets one (root here; uid 65534 has the fallback).
  bool cgroup = !layers.empty() && layers.begin()->rfind("cgroup-memory on ", 0) == 0;
  EXPECT_EQ(!PoolCgroups().empty(), cgroup) << ReadFileOrEmpty(log_);
  if (IsRoot()) {
    EXPECT_TRUE(cgroup) << "root has a writable cgroup on this host";
  }
}

// The limits bite in a warm sandbox as in a cold one: same reason, exit code and signal in the report.
TEST_F(LimitedPool, MemoryHogAndForkBombEndAsInAColdRun) {
  for (std::vector<std::string> probe : {std::vector<std::string>{"memhog", "512"}, std::vector<std::string>{"forkbomb", "200"}}) {
    SCOPED_TRACE(probe[0]);
    std::vector<std::string> cmd = {"/helpers/probe"};
    cmd.insert(cmd.end(), probe.begin(), probe.end());
    auto w = Limited(true, cmd, dir_ + "/w.json");
    auto c = Limited(false, cmd, dir_ + "/c.json");
    auto jw = Report(dir_ + "/w.json"), jc = Report(dir_ + "/c.json");
    EXPECT_EQ(jw.value("launch", ""), "warm") << w.err;
    EXPECT_EQ(jc.value("launch", ""), "cold") << c.err;
    EXPECT_EQ(jw.value("reason", "w"), jc.value("reason", "c")) << jw.dump() << "\n" << jc.dump();
    EXPECT_EQ(w.exit_code, c.exit_code) << w.err << c.err;
    EXPECT_EQ(jw.value("child_signal", 0), jc.value("child_signal", 0));
    EXPECT_EQ(jw.contains("peak_memory_bytes"), jc.contains("peak_memory_bytes"));
    EXPECT_EQ(w.out.find("allocated 512"), std::string::npos) << w.out;
    if (probe[0] == "forkbomb") {
      ASSERT_NE(w.out.find("forked "), std::string::npos) << w.out << w.err;
      EXPECT_LT(std::stoi(w.out.substr(w.out.find("forked ") + 7)), 32) << w.out;
    }
    if (!PoolCgroups().empty()) {  // the cgroup's verdict, warm as cold
      EXPECT_EQ(jw.value("reason", ""), "killed-by-limit") << jw.dump();
      EXPECT_GT(jw.value("peak_memory_bytes", uint64_t{0}), probe[0] == "memhog" ? (32ull << 20) : 0u) << jw.dump();
    }
  }
}

TEST_F(LimitedPool, OtherLimitsAreNotServed) {
  for (std::vector<std::string> other : {std::vector<std::string>{"--memory", "128m", "--pids", "32"},
                                         std::vector<std::string>{"--memory", "64m", "--pids", "33"},
                                         std::vector<std::string>{"--memory", "64m", "--pids", "32", "--cpu", "0.5"},
                                         std::vector<std::string>{}}) {
    auto r = Warm("true", other);
    EXPECT_EQ(r.exit_code, 123) << r.err;
    EXPECT_NE(r.err.find("differs from the pool's"), std::string::npos) << r.err;
  }
  // Without --pool required: cold, with the limits it asked for.
  std::string report = dir_ + "/other.json";
  auto r = airlock::test::Run({AirlockBin(), "run", "--profile", profile_, "--memory", "128m", "--pids", "32", "--report", report,
                               "--", "/bin/true"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(Report(report).value("launch", ""), "cold");
}

// A timeout kills the warm sandbox (through its cgroup too); a served sandbox's cgroup is removed once
// the run is over, and the pool's own at its end (TearDown).
TEST_F(LimitedPool, TimeoutAndNothingLeftBehind) {
  const std::string secs = Marker("31");
  auto r = Limited(true, {"/bin/sh", "-c", "sleep " + secs + " & sleep " + secs}, dir_ + "/t.json", {"--timeout", "1s"});
  EXPECT_EQ(r.exit_code, 124) << r.err;
  EXPECT_EQ(Report(dir_ + "/t.json").value("launch", ""), "warm");
  EXPECT_FALSE(ProcessWithArgExists("sleep " + secs)) << "a process of the sandbox outlived its timeout";
  for (int i = 0; i < 3; ++i) {  // back to back: a run may find no replacement ready yet (123), then again
    int code = -1;
    for (int k = 0; k < 100 && (code = Limited(true, {"/bin/true"}, dir_ + "/n.json").exit_code) == 123; ++k) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    EXPECT_EQ(code, 0);
  }
  auto dirs = PoolCgroups();
  if (dirs.empty()) {
    GTEST_SKIP() << "not applicable: uid " << geteuid()
                 << " has no writable cgroup here, so the pool's limits are rlimits (as a cold run's) and it makes no cgroup";
  }
  // Only the sandboxes still waiting (--size 2) keep a cgroup; the served ones' are removed.
  std::set<std::string> names;
  for (int i = 0; i < 300; ++i) {
    names.clear();
    for (const auto& d : dirs) {
      if (access(d.c_str(), F_OK) == 0) names.insert(d.substr(d.rfind('/') + 1));
    }
    if (names.size() <= 2) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_LE(names.size(), 2u) << "cgroups of served sandboxes left behind";
}

// --cpu has no rlimit fallback: a pool serves it warm where a cold run gets a cgroup, and refuses to
// start, with the cold run's message, where it does not.
TEST(PoolLimits, CpuLimitServedWarmOrRefusedLikeCold) {
  std::string dir = MakeTempDir("poolcpu");
  ::chmod(dir.c_str(), 0700);
  std::string sock = dir + "/pool.sock", log = dir + "/pool.log", report = dir + "/c.json";
  auto cold = airlock::test::Run({AirlockBin(), "run", "--pool", "off", "--cpu", "0.5", "--report", report, "--", "/bin/true"});
  pid_t pool = Spawn({AirlockBin(), "pool", "-v", "--cpu", "0.5", "--socket", sock, "--size", "1"}, log);
  if (cold.exit_code != 0) {
    EXPECT_EQ(WaitExit(pool), 125) << ReadFileOrEmpty(log);
    EXPECT_NE(cold.err.find("needs a writable cgroup"), std::string::npos) << cold.err;
    EXPECT_NE(ReadFileOrEmpty(log).find("needs a writable cgroup"), std::string::npos) << ReadFileOrEmpty(log);
    return;
  }
  for (int i = 0; i < 500 && ReadFileOrEmpty(log).find("ready after") == std::string::npos; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ::setenv("AIRLOCK_POOL_SOCKET", sock.c_str(), 1);
  std::string wr = dir + "/w.json";
  auto warm = airlock::test::Run({AirlockBin(), "run", "--pool", "required", "--cpu", "0.5", "--report", wr, "--", "/bin/true"});
  ::unsetenv("AIRLOCK_POOL_SOCKET");
  EXPECT_EQ(warm.exit_code, 0) << warm.err << ReadFileOrEmpty(log);
  auto layer = [](const std::string& path) {
    auto j = nlohmann::json::parse(ReadFileOrEmpty(path), nullptr, false);
    for (const auto& l : j.is_object() ? j.value("layers", nlohmann::json::array()) : nlohmann::json::array()) {
      if (l.value("name", "") == "cgroup-cpu") return l.dump();
    }
    return std::string("none");
  };
  EXPECT_NE(layer(report), "none");
  EXPECT_EQ(layer(wr), layer(report));
  kill(pool, SIGTERM);
  EXPECT_EQ(WaitExit(pool), 0) << ReadFileOrEmpty(log);
}
