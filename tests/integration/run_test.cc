// Integration tier: real sandboxes through the real `airlock` binary, asserted from the inside.
// Runs as root (integration.root) and as uid 65534 through setpriv (integration.user).
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include "test_env.h"

using namespace airlock::test;

namespace {

std::vector<std::string> WithHelpers(std::vector<std::string> opts = {}) {
  opts.insert(opts.begin(), {"--ro-bind", HelperDir(), "/helpers"});
  return opts;
}

RunResult Sh(const std::string& script, std::vector<std::string> opts = {}) {
  return RunAirlock(WithHelpers(std::move(opts)), {"/bin/sh", "-c", script});
}

RunResult Probe(std::vector<std::string> args, std::vector<std::string> opts = {}) {
  std::vector<std::string> cmd = {"/helpers/probe"};
  cmd.insert(cmd.end(), args.begin(), args.end());
  return RunAirlock(WithHelpers(std::move(opts)), cmd);
}

std::string StatusField(const std::string& status, const std::string& key) {
  auto p = status.find(key + ":");
  if (p == std::string::npos) return "";
  auto e = status.find('\n', p);
  std::string v = status.substr(p + key.size() + 1, e - p - key.size() - 1);
  v.erase(0, v.find_first_not_of(" \t"));
  return v;
}

}  // namespace

TEST(Run, ExitStatusPassesThrough) {
  auto r = Sh("exit 42");
  EXPECT_EQ(r.exit_code, 42) << r.err;
  r = Sh("true");
  EXPECT_EQ(r.exit_code, 0) << r.err;
}

TEST(Run, SignalBecomes128PlusN) {
  auto r = Probe({"signal", "9"}, {"--report", "-"});
  EXPECT_EQ(r.exit_code, 137) << r.err;
  EXPECT_NE(r.err.find("\"reason\": \"signaled\""), std::string::npos) << r.err;
}

TEST(Run, CapabilitiesNoNewPrivsSeccomp) {
  auto r = Sh("cat /proc/self/status");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const char* cap : {"CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"}) {
    EXPECT_EQ(StatusField(r.out, cap), "0000000000000000") << cap;
  }
  EXPECT_EQ(StatusField(r.out, "NoNewPrivs"), "1");
  EXPECT_EQ(StatusField(r.out, "Seccomp"), "2");
}

TEST(Run, UserNamespaceMapsToUnprivilegedOutsideUid) {
  auto r = Sh("cat /proc/self/uid_map; id -u");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::istringstream in(r.out);
  long inside, outside, count, id;
  in >> inside >> outside >> count >> id;
  EXPECT_EQ(count, 1);
  EXPECT_EQ(inside, id);
  if (IsRoot()) {
    EXPECT_EQ(outside, 65534) << "root's sandbox must land on an unprivileged host uid";
  } else {
    EXPECT_EQ(outside, static_cast<long>(geteuid()));
  }
  EXPECT_NE(outside, 0);
}

TEST(Run, FilesystemShowsOnlyTheSkeleton) {
  auto r = Sh("ls -A /");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::istringstream in(r.out);
  std::set<std::string> seen;
  for (std::string line; std::getline(in, line);) seen.insert(line);
  const std::set<std::string> allowed = {"bin", "dev", "etc", "home", "helpers", "lib", "lib32", "lib64", "libx32",
                                         "proc", "sbin", "tmp", "usr"};
  for (const auto& e : seen) EXPECT_TRUE(allowed.count(e)) << "unexpected entry in sandbox root: /" << e;
  for (const char* must : {"usr", "proc", "dev", "tmp", "etc"}) EXPECT_TRUE(seen.count(must)) << must;
  // Host secrets and other trees are not there.
  r = Sh("ls /etc/shadow /root /var /work 2>&1; exit 0");
  EXPECT_NE(r.out.find("No such file"), std::string::npos);
  EXPECT_EQ(r.out.find("root:"), std::string::npos);
}

TEST(Run, SystemDirsAreReadOnlyAndTmpIsPrivate) {
  auto r = Sh("touch /usr/airlock-test 2>&1; touch /etc/x 2>&1; touch / 2>&1; echo data > /tmp/f && cat /tmp/f; echo h > $HOME/f && cat $HOME/f");
  EXPECT_NE(r.out.find("Read-only file system"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("data"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("h\n"), std::string::npos) << r.out;
  // The host's /tmp is not the sandbox's /tmp.
  std::string marker = MakeTempDir("visible");
  r = Sh("ls " + marker + " 2>&1; exit 0");
  EXPECT_NE(r.out.find("No such file"), std::string::npos) << r.out;
  rmdir(marker.c_str());
}

TEST(Run, MountsAreNosuidNodev) {
  auto r = Sh("cat /proc/self/mountinfo");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::istringstream in(r.out);
  int checked = 0;
  for (std::string line; std::getline(in, line);) {
    std::istringstream f(line);
    std::string id, parent, devno, root, mnt, opts;
    f >> id >> parent >> devno >> root >> mnt >> opts;
    if (mnt == "/usr" || mnt == "/tmp" || mnt == "/helpers" || mnt.rfind("/home", 0) == 0) {
      EXPECT_NE(opts.find("nosuid"), std::string::npos) << line;
      EXPECT_NE(opts.find("nodev"), std::string::npos) << line;
      ++checked;
    }
    if (mnt == "/usr" || mnt == "/") {
      EXPECT_EQ(opts.rfind("ro", 0), 0u) << line;
    }
  }
  EXPECT_GE(checked, 3);
}

TEST(Run, PidNamespaceAndInit) {
  auto r = Sh("echo $$; ls /proc | grep -c '^[0-9]'");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::istringstream in(r.out);
  int mypid, nprocs;
  in >> mypid >> nprocs;
  EXPECT_EQ(mypid, 2) << "payload is the first child of airlock's init";
  EXPECT_LE(nprocs, 4) << r.out;
}

TEST(Run, InitReapsZombies) {
  // An orphaned grandchild is re-parented to init, which must reap it.
  auto r = Sh("(sleep 0.2 &) ; sleep 0.6; ps -eo stat,comm 2>/dev/null | grep -c '^Z' || cat /proc/[0-9]*/stat | awk '{print $3}' | grep -c Z; exit 0");
  EXPECT_EQ(r.out.substr(0, 1), "0") << r.out;
}

TEST(Run, HostnameAndSession) {
  auto r = Sh("hostname");
  EXPECT_EQ(r.out, "airlock\n");
  r = Probe({"sid"});
  EXPECT_EQ(r.out, "sid leader\n") << r.err;
  r = Sh("hostname", {"--hostname", "box1"});
  EXPECT_EQ(r.out, "box1\n");
}

TEST(Run, InheritedFdsAreClosedExceptPassFd) {
  std::string script = "exec 7</dev/null; exec 9</dev/null; exec \"$0\" run --ro-bind " + HelperDir() +
                       " /helpers \"$@\" -- /helpers/probe fds";
  auto r = airlock::test::Run({"/bin/sh", "-c", script, AirlockBin()});
  EXPECT_EQ(r.out, "fds 0 1 2\n") << r.err;
  r = airlock::test::Run({"/bin/sh", "-c", script, AirlockBin(), "--pass-fd", "7"});
  EXPECT_EQ(r.out, "fds 0 1 2 7\n") << r.err;
}

TEST(Run, EnvironmentIsClearedExceptAllowList) {
  setenv("AIRLOCK_TEST_SECRET", "hunter2", 1);
  auto r = Sh("env", {"--setenv", "FOO=bar"});
  unsetenv("AIRLOCK_TEST_SECRET");
  EXPECT_EQ(r.out.find("hunter2"), std::string::npos);
  EXPECT_NE(r.out.find("FOO=bar"), std::string::npos);
  EXPECT_NE(r.out.find("PATH="), std::string::npos);
  EXPECT_NE(r.out.find("HOME=/home/sandbox"), std::string::npos) << r.out;
}

TEST(Run, NetworkNoneHasOnlyLoopback) {
  // A listener on the host's loopback must not be reachable.
  int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(s, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  ASSERT_EQ(listen(s, 4), 0);
  socklen_t len = sizeof a;
  getsockname(s, reinterpret_cast<sockaddr*>(&a), &len);
  int port = ntohs(a.sin_port);
  auto r = Probe({"connect", std::to_string(port)});
  close(s);
  EXPECT_NE(r.out.find("connect "), std::string::npos) << r.out << r.err;
  EXPECT_EQ(r.out.find("connected"), std::string::npos) << r.out;
  r = Sh("cat /proc/net/dev | tail -n +3 | cut -d: -f1 | tr -d ' '");
  EXPECT_EQ(r.out, "lo\n");
}

TEST(Run, SessionKeyringOfTheCallerIsNotReachable) {
  // Add a key to this test's session keyring; the sandbox must not read it even with keyctl allowed.
  long id = syscall(SYS_add_key, "user", "airlock-test-key", "s3cret", 6, -3 /* KEY_SPEC_SESSION_KEYRING */);
  if (id < 0) GTEST_SKIP() << "add_key unavailable here: " << strerror(errno);
  auto r = Probe({"keyread", std::to_string(id)}, {"--allow", "@keyring"});
  EXPECT_EQ(r.out.find("s3cret"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("keyctl "), std::string::npos) << r.out << r.err;
  r = Probe({"keyread", std::to_string(id)});
  EXPECT_EQ(r.out.find("s3cret"), std::string::npos) << r.out;
}

TEST(Run, AirlockBinaryIsNotReachableThroughProc) {
  auto r = Probe({"open", "/proc/1/exe", "w"});
  EXPECT_EQ(r.out.find("opened"), std::string::npos) << r.out;
  r = Probe({"open", "/proc/1/exe", "r"});
  EXPECT_EQ(r.out.find("opened"), std::string::npos) << r.out;
  r = Sh("ls /proc/1/fd 2>&1; exit 0");
  EXPECT_NE(r.out.find("Permission denied"), std::string::npos) << r.out;
}

TEST(Limits, TimeoutKillsTheWholeTree) {
  auto r = Sh("sleep 30 & sleep 30", {"--timeout", "1s", "--report", "-"});
  EXPECT_EQ(r.exit_code, 124) << r.err;
  EXPECT_NE(r.err.find("\"reason\": \"timeout\""), std::string::npos) << r.err;
}

TEST(Limits, ForkBombStopsAtPids) {
  auto r = Probe({"forkbomb", "200"}, {"--pids", "20"});
  ASSERT_NE(r.out.find("forked "), std::string::npos) << r.out << r.err;
  int n = std::stoi(r.out.substr(r.out.find("forked ") + 7));
  EXPECT_LT(n, 20) << r.out;
  EXPECT_GT(n, 0) << r.out;
}

TEST(Limits, MemoryHogIsStopped) {
  auto r = Probe({"memhog", "512"}, {"--memory", "64m", "--report", "-"});
  EXPECT_NE(r.exit_code, 0) << r.out;
  EXPECT_EQ(r.out.find("allocated 512"), std::string::npos) << r.out;
  // Either the cgroup OOM killer (killed-by-limit) or the RLIMIT_AS fallback (malloc fails, reported).
  bool oom = r.err.find("killed-by-limit") != std::string::npos;
  bool rlimit = r.out.find("malloc failed") != std::string::npos && r.err.find("RLIMIT_AS") != std::string::npos;
  EXPECT_TRUE(oom || rlimit) << r.out << r.err;
}

TEST(Errors, DistinctExitCodesAndClearMessages) {
  auto r = RunAirlock({"--profile", "no-such-profile"}, {"/bin/true"});
  EXPECT_EQ(r.exit_code, 122) << r.err;
  EXPECT_NE(r.err.find("no-such-profile"), std::string::npos) << r.err;

  std::string dir = MakeTempDir("profile");
  WriteFile(dir + "/bad.toml", "include = [\"default\"]\n[limits]\npids = \"many\n");
  r = RunAirlock({"--profile", dir + "/bad.toml"}, {"/bin/true"});
  EXPECT_EQ(r.exit_code, 122) << r.err;
  EXPECT_NE(r.err.find("bad.toml:3"), std::string::npos) << r.err;

  r = RunAirlock({"--ro-bind", "/nonexistent/airlock-src", "/x"}, {"/bin/true"});
  EXPECT_EQ(r.exit_code, 125) << r.err;
  EXPECT_NE(r.err.find("/nonexistent/airlock-src"), std::string::npos) << r.err;

  r = RunAirlock({}, {"no-such-command-airlock"});
  EXPECT_EQ(r.exit_code, 127) << r.err;
  EXPECT_NE(r.err.find("command not found"), std::string::npos) << r.err;

  r = airlock::test::Run({AirlockBin(), "run", "--no-such-option", "--", "/bin/true"});
  EXPECT_EQ(r.exit_code, 121) << r.err;
  unlink((dir + "/bad.toml").c_str());
  rmdir(dir.c_str());
}

TEST(Run, BindsAndWorkdir) {
  std::string dir = MakeTempDir("bind");
  chmod(dir.c_str(), 0777);
  WriteFile(dir + "/in.txt", "hello\n");
  auto r = Sh("cat /data/in.txt; echo x > /data/out.txt", {"--bind", dir, "/data"});
  EXPECT_EQ(r.out, "hello\n") << r.err;
  EXPECT_EQ(ReadFileOrEmpty(dir + "/out.txt"), "x\n");
  r = Sh("echo y > /data/ro.txt 2>&1", {"--ro-bind", dir, "/data"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_EQ(ReadFileOrEmpty(dir + "/ro.txt"), "");
  unlink((dir + "/in.txt").c_str());
  unlink((dir + "/out.txt").c_str());
  rmdir(dir.c_str());
}

TEST(Run, ReportHasOutcomeAndLayers) {
  std::string dir = MakeTempDir("report");
  auto r = RunAirlock({"--report", dir + "/r.json"}, {"/bin/true"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = nlohmann::json::parse(ReadFileOrEmpty(dir + "/r.json"));
  EXPECT_EQ(j["reason"], "ok");
  EXPECT_EQ(j["status"], 0);
  EXPECT_TRUE(j.contains("wall_seconds"));
  EXPECT_TRUE(j.contains("peak_memory_bytes"));
  std::set<std::string> engaged;
  for (auto& l : j["layers"])
    if (l["engaged"]) engaged.insert(l["name"]);
  for (const char* l : {"user-namespace", "mount-namespace", "pid-namespace", "net-namespace", "seccomp", "capabilities"}) {
    EXPECT_TRUE(engaged.count(l)) << l;
  }
  unlink((dir + "/r.json").c_str());
  rmdir(dir.c_str());
}

// Starts `airlock run -- /bin/sh -c SCRIPT` with its stdout (and the payload's) on `out`; SCRIPT
// writes "ready" there once the payload runs, so signals are sent after that, not after a guess.
static pid_t StartAirlockSh(const std::string& out, const std::string& script) {
  pid_t pid = fork();
  if (pid == 0) {
    int fd = open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    int null = open("/dev/null", O_WRONLY);
    dup2(fd, 1);
    dup2(null, 2);
    execl(AirlockBin().c_str(), "airlock", "run", "--", "/bin/sh", "-c", script.c_str(), nullptr);
    _exit(99);
  }
  return pid;
}

TEST(Run, DieWithParentAndSignalForwarding) {
  std::string dir = MakeTempDir("dwp"), out = dir + "/out";
  // SIGTERM to airlock reaches the payload, which dies of it: 128+15.
  pid_t pid = StartAirlockSh(out, "echo ready; exec sleep 30");
  EXPECT_TRUE(WaitForMarker(out, "ready\n")) << "the payload never started";
  kill(pid, SIGTERM);
  int st = 0;
  waitpid(pid, &st, 0);
  ASSERT_TRUE(WIFEXITED(st));
  EXPECT_EQ(WEXITSTATUS(st), 143);

  // SIGKILL of airlock takes the whole sandbox with it. (The shell waits for sleep, so it carries the
  // marker while the sandbox lives; dash has no `exec -a`. Init shows "airlock-init".)
  std::string marker = "airlock-dwp-" + std::to_string(getpid());
  pid = StartAirlockSh(out, "echo ready; sleep 30; : " + marker);
  EXPECT_TRUE(WaitForMarker(out, "ready\n")) << "the payload never started";
  kill(pid, SIGKILL);
  waitpid(pid, &st, 0);
  // The sandbox's processes die with their airlock a moment later: wait for that, bounded.
  const std::string count = "grep -l \"[a]" + marker.substr(1) + "\" /proc/[0-9]*/cmdline 2>/dev/null | wc -l";
  airlock::test::RunResult r;
  for (int i = 0; i < 200; ++i) {
    r = airlock::test::Run({"/bin/sh", "-c", count});
    if (r.out == "0\n") break;
    usleep(10 * 1000);
  }
  EXPECT_EQ(r.out, "0\n") << "sandboxed process survived its airlock";
  unlink(out.c_str());
  rmdir(dir.c_str());
}

// The cgroups airlock-<pid>-* of the given creators in our own cgroup of every hierarchy: what those
// runs left behind. (Only theirs: other tests running meanwhile may kill an airlock, whose cgroups
// wait for the next run's garbage collection.)
std::vector<std::string> CgroupsOfCreators(const std::set<pid_t>& creators) {
  std::vector<std::string> left;
  std::istringstream own(ReadFileOrEmpty("/proc/self/cgroup"));
  std::set<std::string> dirs;
  for (std::string line; std::getline(own, line);) {
    const std::string path = line.substr(line.rfind(':') + 1);
    for (const auto& h : std::filesystem::directory_iterator("/sys/fs/cgroup")) dirs.insert(h.path().string() + path);
  }
  for (const auto& dir : dirs) {
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
      const std::string name = e.path().filename().string();
      if (name.rfind("airlock-", 0) == 0 && creators.count(static_cast<pid_t>(std::atoi(name.c_str() + 8)))) left.push_back(e.path().string());
    }
  }
  return left;
}

TEST(Run, NothingLeftBehindAfterManyRuns) {
  std::string mounts_before = ReadFileOrEmpty("/proc/self/mountinfo");
  const std::string log = MakeTempDir("many-runs") + "/log";
  std::set<pid_t> creators;
  for (int i = 0; i < 100; ++i) {
    pid_t pid = SpawnLogged({AirlockBin(), "run", "--pids", "64", "--", "/bin/true"}, log);
    int st = 0;
    ASSERT_EQ(waitpid(pid, &st, 0), pid);
    ASSERT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0) << ReadFileOrEmpty(log);
    creators.insert(pid);
  }
  EXPECT_EQ(ReadFileOrEmpty("/proc/self/mountinfo"), mounts_before);
  // Unprivileged runs cannot create cgroups here (rlimit fallback): then there is nothing to find.
  auto left = CgroupsOfCreators(creators);
  EXPECT_TRUE(left.empty()) << "cgroups left behind, e.g. " << left.front() << " (" << left.size() << ")";
}

TEST(Run, NetworkUserModeHasAnOutboundInterface) {
  if (std::string why = airlock::test::UserNetSkipReason(); !why.empty()) GTEST_SKIP() << why;
  auto r = Sh("cat /proc/net/dev | tail -n +3 | cut -d: -f1 | tr -d ' ' | sort; cat /proc/net/route | awk 'NR>1 && $2==\"00000000\" {print \"default via \" $1}'",
              {"--net", "user", "--report", "-"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("lo\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("tap0"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("default via tap0"), std::string::npos) << r.out;
  EXPECT_NE(r.err.find("\"user-network\""), std::string::npos) << r.err;
}

TEST(Run, NetworkHostIsAReportedWeakening) {
  auto r = Sh("true", {"--net", "host", "--report", "-"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("host network namespace shared"), std::string::npos) << r.err;
}
