// Integration tier: nothing is left behind after 1,000 sandboxes (issue 2, "clean up every cgroup,
// mount and process afterwards, also on SIGKILL of airlock").
//
// Runs 1,000 real `airlock run` invocations, a few at a time, in a fixed mix: normal exits (status 0
// and non-zero), command not found, --timeout kills, SIGKILL of airlock once its payload runs, and
// SIGKILL of airlock at varying points during setup; each kind with and without cgroup limits. Every
// sandboxed command line carries a marker unique to this test process. Afterwards it asserts:
//  - no process whose command line carries the marker (airlock, the payload, sleepers), and no
//    process reparented to this one (a child subreaper: a sandbox init that outlived its airlock
//    lands here; its command line is "airlock-init", without the marker);
//  - this process's mount table is unchanged (no mount, nsfs bind or namespace pinned on the host);
//  - as root: no cgroup directory named after any of the airlock pids, in any v1 or v2 hierarchy
//    (cgroups of a SIGKILLed airlock are collected by the next run that creates one: the last run
//    here is such a run);
//  - the TMPDIR given to airlock is still empty.
// Runs as root and as uid 65534 (unprivileged: limits fall back to rlimits, cgroups are not checked).
#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "cgroup/cgroup_fs.h"
#include "test_env.h"

extern char** environ;

using namespace airlock::test;

namespace {

constexpr int kRuns = 1000;  // AIRLOCK_CLEANUP_RUNS overrides (for a quick look at a failing build)
constexpr int kParallel = 4;
constexpr int kDeadlineSeconds = 240;  // a hung run fails the test instead of hanging it
constexpr double kOutliveSeconds = 5;   // a sandbox still holding its output this long after airlock's SIGKILL is a leak

enum class Kind { kExit0, kExit3, kNotFound, kTimeout, kKillRunning, kKillDuringSetup };

struct Job {
  int index = 0;
  Kind kind = Kind::kExit0;
  bool cgroup = false;
  pid_t pid = -1;
  int out = -1;  // stdout+stderr of airlock and the sandbox
  std::string output;
  bool killed = false;
  double kill_at = 0;    // kKillDuringSetup: monotonic seconds at which to SIGKILL airlock
  double killed_at = 0;  // when airlock was SIGKILLed
};

double Now() {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

Kind KindOf(int i) {
  switch (i % 20) {
    case 0: case 1: case 2: case 3: case 4: case 5: case 6: case 7: return Kind::kExit0;
    case 8: return Kind::kExit3;
    case 9: return Kind::kNotFound;
    case 10: case 11: case 12: return Kind::kTimeout;
    case 13: case 14: case 15: case 16: return Kind::kKillRunning;
    default: return Kind::kKillDuringSetup;
  }
}

std::vector<std::string> ArgvFor(const Job& j, const std::string& marker) {
  std::vector<std::string> a = {AirlockBin(), "run"};
  if (j.cgroup) {
    if (j.index % 3 == 0) {
      a.insert(a.end(), {"--memory", "256m", "--pids", "128"});
    } else {
      a.insert(a.end(), {"--pids", "64"});
    }
  }
  // The marker is in every command line: airlock's own, the shell's (-c script) and the sleeper's
  // (its argument). Not init's: it overwrites the copy of airlock's (process/proc_title.h).
  const std::string sleeper = "exec sleep " + marker;
  switch (j.kind) {
    case Kind::kExit0:
      a.insert(a.end(), {"--", "/bin/sh", "-c", "exit 0 # " + marker});
      break;
    case Kind::kExit3:
      a.insert(a.end(), {"--", "/bin/sh", "-c", "exit 3 # " + marker});
      break;
    case Kind::kNotFound:
      a.insert(a.end(), {"--", "/nonexistent/" + marker});
      break;
    case Kind::kTimeout:
      a.insert(a.end(), {"--timeout", "100ms", "--", "/bin/sh", "-c", "echo ready; " + sleeper});
      break;
    case Kind::kKillRunning:
    case Kind::kKillDuringSetup:
      a.insert(a.end(), {"--", "/bin/sh", "-c", "echo ready; " + sleeper});
      break;
  }
  return a;
}

pid_t Spawn(const std::vector<std::string>& argv, const std::string& tmpdir, int* out_fd) {
  int p[2];
  if (pipe2(p, O_CLOEXEC) != 0) return -1;
  std::vector<char*> args;
  for (const auto& s : argv) args.push_back(const_cast<char*>(s.c_str()));
  args.push_back(nullptr);
  std::vector<std::string> env_storage = {"TMPDIR=" + tmpdir};
  for (char** e = environ; *e != nullptr; ++e) {
    if (strncmp(*e, "TMPDIR=", 7) != 0) env_storage.emplace_back(*e);
  }
  std::vector<char*> envp;
  for (auto& e : env_storage) envp.push_back(e.data());
  envp.push_back(nullptr);
  pid_t pid = fork();
  if (pid == 0) {
    int null = open("/dev/null", O_RDONLY);
    dup2(null, 0);
    dup2(p[1], 1);
    dup2(p[1], 2);
    execve(args[0], args.data(), envp.data());
    _exit(99);
  }
  close(p[1]);
  if (pid < 0) {
    close(p[0]);
    return -1;
  }
  *out_fd = p[0];
  return pid;
}

std::string Cmdline(const std::string& pid) {
  std::string s = ReadFileOrEmpty("/proc/" + pid + "/cmdline");
  for (auto& c : s) {
    if (c == '\0') c = ' ';
  }
  return s;
}

// Live children of this process, "pid: cmdline" per line (every thread's list: a child belongs to the
// thread that forked it, or to the subreaper's thread group when reparented).
std::string ChildrenOfThisProcess() {
  std::string out;
  DIR* d = opendir("/proc/self/task");
  if (d == nullptr) return "cannot read /proc/self/task";
  while (struct dirent* e = readdir(d)) {
    if (e->d_name[0] == '.') continue;
    std::istringstream kids(ReadFileOrEmpty(std::string("/proc/self/task/") + e->d_name + "/children"));
    for (std::string pid; kids >> pid;) out += pid + ": " + Cmdline(pid) + "\n";
  }
  closedir(d);
  return out;
}

// Processes (other than this one) whose command line contains marker.
std::vector<std::string> ProcessesWith(const std::string& marker) {
  std::vector<std::string> found;
  DIR* d = opendir("/proc");
  if (d == nullptr) return found;
  std::string self = std::to_string(getpid());
  while (struct dirent* e = readdir(d)) {
    if (e->d_name[0] < '0' || e->d_name[0] > '9' || self == e->d_name) continue;
    std::string cmd = Cmdline(e->d_name);
    if (cmd.find(marker) != std::string::npos) found.push_back(std::string(e->d_name) + ": " + cmd);
  }
  closedir(d);
  return found;
}

// cgroup directories named airlock-<pid>-* for any pid in pids, anywhere under /sys/fs/cgroup.
void FindCgroups(const std::string& dir, int depth, const std::set<std::pair<pid_t, uint64_t>>& creators, std::vector<std::string>* out) {
  if (depth > 8) return;
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) return;
  while (struct dirent* e = readdir(d)) {
    if (e->d_type != DT_DIR || e->d_name[0] == '.') continue;
    std::string name = e->d_name;
    std::string path = dir + "/" + name;
    if (name.rfind("airlock-", 0) == 0) {
      // Ours: created by one of our airlocks, named by its pid and start time (pids are reused fast
      // here; other tests' airlocks may have had the same pids).
      std::pair<pid_t, uint64_t> creator{airlock::cgroupfs::CreatorPidFromName(name), airlock::cgroupfs::CreatorStartFromName(name)};
      if (creators.count(creator)) out->push_back(path);
      continue;
    }
    FindCgroups(path, depth + 1, creators, out);
  }
  closedir(d);
}

bool DirIsEmpty(const std::string& dir) {
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) return false;
  bool empty = true;
  while (struct dirent* e = readdir(d)) {
    if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) empty = false;
  }
  closedir(d);
  return empty;
}

}  // namespace

TEST(Cleanup, NothingLeftBehindAfterAThousandSandboxes) {
  // sleep's argument doubles as the marker: a valid duration no other process on the host uses.
  const std::string marker = "9" + std::to_string(getpid()) + "7.31337";
  const std::string mounts_before = ReadFileOrEmpty("/proc/self/mountinfo");
  const std::string tmpdir = MakeTempDir("cleanup");
  const bool root = IsRoot();
  const int runs = getenv("AIRLOCK_CLEANUP_RUNS") ? std::atoi(getenv("AIRLOCK_CLEANUP_RUNS")) : kRuns;
  // Orphans of our airlocks (a sandbox init whose airlock was SIGKILLed) are reparented to us.
  ASSERT_EQ(prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0), 0) << strerror(errno);

  std::map<Kind, int> done_by_kind;
  std::map<Kind, int> killed_by_kind;
  std::set<std::pair<pid_t, uint64_t>> airlock_pids;  // pid and start time of every airlock we ran
  std::vector<std::string> failures;
  std::vector<Job> running;
  int next = 0;
  const double deadline = Now() + kDeadlineSeconds;
  bool timed_out = false;

  while ((next < runs || !running.empty()) && !timed_out) {
    while (next < runs && static_cast<int>(running.size()) < kParallel) {
      Job j;
      j.index = next++;
      j.kind = KindOf(j.index);
      j.cgroup = (j.index / 20) % 2 == 1;  // alternate blocks of 20: every kind with and without limits
      j.pid = Spawn(ArgvFor(j, marker), tmpdir, &j.out);
      ASSERT_GT(j.pid, 0) << "fork: " << strerror(errno);
      airlock_pids.insert({j.pid, airlock::cgroupfs::ProcessStartTime(j.pid)});
      // Kill during setup at one of several points: right away, or up to ~4 ms into the run.
      if (j.kind == Kind::kKillDuringSetup) j.kill_at = Now() + (j.index % 9) * 0.0005;
      running.push_back(std::move(j));
    }
    std::vector<struct pollfd> fds;
    for (auto& j : running) fds.push_back({j.out, POLLIN, 0});
    int wait_ms = 200;
    for (auto& j : running) {
      if (j.kind == Kind::kKillDuringSetup && !j.killed) wait_ms = 0;
    }
    int n = poll(fds.data(), fds.size(), wait_ms);
    ASSERT_GE(n, 0) << strerror(errno);
    double now = Now();
    for (size_t k = 0; k < running.size(); ++k) {
      Job& j = running[k];
      if (j.kind == Kind::kKillDuringSetup && !j.killed && now >= j.kill_at) {
        kill(j.pid, SIGKILL);
        j.killed = true;
        j.killed_at = now;
      }
      if (j.killed && now - j.killed_at > kOutliveSeconds) {
        // The pipe is still open: something in the sandbox outlived its airlock. Record it and move on
        // (the process check below names it).
        if (failures.size() < 10) failures.push_back("run " + std::to_string(j.index) + ": the sandbox outlived its SIGKILLed airlock");
        close(j.out);
        j.out = -1;
        continue;
      }
      if (fds[k].revents == 0) continue;
      char buf[4096];
      ssize_t r = read(j.out, buf, sizeof buf);
      if (r > 0) {
        j.output.append(buf, static_cast<size_t>(r));
        if (j.kind == Kind::kKillRunning && !j.killed && j.output.find("ready\n") != std::string::npos) {
          kill(j.pid, SIGKILL);  // the payload runs: take airlock away under it
          j.killed = true;
          j.killed_at = Now();
        }
        continue;
      }
      // EOF: airlock and everything in the sandbox closed the pipe (all of them are gone or exiting).
      close(j.out);
      j.out = -1;
    }
    for (size_t k = 0; k < running.size();) {
      Job& j = running[k];
      if (j.out >= 0) {
        ++k;
        continue;
      }
      int st = 0;
      EXPECT_EQ(waitpid(j.pid, &st, 0), j.pid);
      int code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
      int want = -1;
      switch (j.kind) {
        case Kind::kExit0: want = 0; break;
        case Kind::kExit3: want = 3; break;
        case Kind::kNotFound: want = 127; break;
        case Kind::kTimeout: want = 124; break;
        case Kind::kKillRunning: want = 128 + SIGKILL; break;
        case Kind::kKillDuringSetup: want = code == 0 ? 0 : 128 + SIGKILL; break;  // may finish first
      }
      if (code != want && failures.size() < 10) {
        failures.push_back("run " + std::to_string(j.index) + " exited " + std::to_string(code) + ", want " +
                           std::to_string(want) + ": " + j.output.substr(0, 300));
      }
      ++done_by_kind[j.kind];
      if (j.killed) ++killed_by_kind[j.kind];
      running.erase(running.begin() + static_cast<long>(k));
    }
    if (Now() > deadline) timed_out = true;
  }
  for (auto& j : running) {  // only after the deadline
    ADD_FAILURE() << "run " << j.index << " (kind " << static_cast<int>(j.kind) << (j.killed ? ", airlock killed" : "")
                  << ") still open at the deadline; output: " << j.output.substr(0, 300);
    kill(j.pid, SIGKILL);
    waitpid(j.pid, nullptr, 0);
    close(j.out);
  }
  ASSERT_FALSE(timed_out) << runs << " runs did not finish within " << kDeadlineSeconds << " s";
  for (const auto& f : failures) ADD_FAILURE() << f;
  EXPECT_EQ(done_by_kind[Kind::kExit0] + done_by_kind[Kind::kExit3] + done_by_kind[Kind::kNotFound] +
                done_by_kind[Kind::kTimeout] + done_by_kind[Kind::kKillRunning] + done_by_kind[Kind::kKillDuringSetup],
            runs);
  EXPECT_EQ(killed_by_kind[Kind::kKillRunning], done_by_kind[Kind::kKillRunning]);
  EXPECT_GE(done_by_kind[Kind::kTimeout], runs / 10);

  // Processes: a SIGKILLed airlock's init dies with it (die-with-parent) and takes the pid namespace
  // along; its zombie is reaped by the host's init. Allow that a moment, then require none.
  std::vector<std::string> left;
  for (int attempt = 0; attempt < 50; ++attempt) {
    left = ProcessesWith(marker);
    if (left.empty()) break;
    usleep(100 * 1000);
  }
  EXPECT_TRUE(left.empty()) << left.size() << " processes left, first: " << left.front();
  std::string orphans;
  for (int attempt = 0; attempt < 50; ++attempt) {
    while (waitpid(-1, nullptr, WNOHANG) > 0) {  // orphans that already exited: reaped here
    }
    orphans = ChildrenOfThisProcess();
    if (orphans.empty()) break;
    usleep(100 * 1000);
  }
  EXPECT_EQ(orphans, "") << "processes of the sandboxes outlived their airlock (reparented to this test)";

  // A run with limits collects the cgroups of SIGKILLed airlocks (their creators are dead). After the
  // processes above are gone: a cgroup whose last task is still exiting cannot be removed yet.
  auto gc = RunAirlock({"--pids", "8"}, {"/bin/true"});
  EXPECT_EQ(gc.exit_code, 0) << gc.err;

  EXPECT_EQ(ReadFileOrEmpty("/proc/self/mountinfo"), mounts_before) << "the host mount table changed";

  if (root) {
    std::vector<std::string> cgroups;
    FindCgroups("/sys/fs/cgroup", 0, airlock_pids, &cgroups);
    EXPECT_TRUE(cgroups.empty()) << cgroups.size() << " cgroups left, first: " << cgroups.front();
  }

  EXPECT_TRUE(DirIsEmpty(tmpdir)) << "airlock left files in TMPDIR " << tmpdir;
  rmdir(tmpdir.c_str());
}
