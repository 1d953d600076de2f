// The watch daemon for real, shared by the gate and watcher tests (root): fanotify marks on a tmpfs
// mounted only in the test's private mount namespace (and on that namespace's copy of the root mount),
// so nothing outside this process tree is ever gated. Real exec attempts, the real daemon
// (airlock-watch), its real sandboxed judge.
//
// RunWatchTests (the binary's main) unshares the mount namespace before gtest starts any thread;
// each test starts its own daemon and stops it.
#pragma once

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sched.h>
#include <signal.h>
#include <sys/fanotify.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <mutex>
#include <regex>
#include <string>
#include <thread>
#include <vector>

namespace watch_test {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

inline std::string g_root;         // the tmpfs, mounted only in this process's mount namespace
inline std::string g_skip_reason;  // non-empty: every test skips with it

inline void WriteFile(const std::string& path, const std::string& text, mode_t mode = 0755) {
  std::ofstream(path, std::ios::trunc) << text;
  ::chmod(path.c_str(), mode);
}

// The daemon, started in the foreground with its log on a pipe read by a thread.
class Daemon {
 public:
  // `env`: extra "NAME=value" entries for the daemon (fault injection). Detonation is off unless
  // `detonate` (static triage is enough for most tests, and faster).
  explicit Daemon(std::vector<std::string> args, std::vector<std::string> env = {}, bool detonate = false) {
    int p[2];
    if (::pipe2(p, O_CLOEXEC) != 0) return;
    // --watch: never the default /tmp (an inode mark there would see every other process's files).
    std::vector<std::string> argv = {WATCH_BIN, "watch", "--state-dir", g_root + "-state", "--watch", g_root + "/dl"};
    if (!detonate) argv.push_back("--no-detonate");
    argv.insert(argv.end(), args.begin(), args.end());
    pid_ = ::fork();
    if (pid_ == 0) {
      ::dup2(p[1], 1);
      ::dup2(p[1], 2);
      ::setenv("AIRLOCK_BIN", AIRLOCK_TEST_BIN, 1);
      for (auto& e : env) ::putenv(e.data());
      std::vector<char*> a;
      for (auto& s : argv) a.push_back(s.data());
      a.push_back(nullptr);
      ::execv(a[0], a.data());
      ::_exit(127);
    }
    ::close(p[1]);
    reader_ = std::thread([this, fd = p[0]] {
      char buf[4096];
      ssize_t n;
      while ((n = ::read(fd, buf, sizeof buf)) > 0) {
        std::lock_guard lock(mu_);
        log_.append(buf, static_cast<size_t>(n));
        cv_.notify_all();
      }
      ::close(fd);
      std::lock_guard lock(mu_);
      eof_ = true;
      cv_.notify_all();
    });
  }
  ~Daemon() {
    Stop(SIGTERM);
    if (reader_.joinable()) reader_.join();
  }
  void Stop(int sig) {
    if (pid_ > 0) {
      ::kill(pid_, sig);
      if (sig == SIGSTOP) return;
      ::kill(pid_, SIGCONT);
      ::waitpid(pid_, nullptr, 0);
      pid_ = -1;
    }
  }
  pid_t pid() const { return pid_; }
  // Waits (up to 90 s: a scan sandbox under a loaded CI machine) for a log line matching `re`.
  // Each wake-up searches only the lines that arrived since the last one (a flood logs thousands).
  bool WaitFor(const std::string& re, std::chrono::seconds timeout = std::chrono::seconds(90)) {
    std::regex r(re);
    std::unique_lock lock(mu_);
    size_t from = 0;
    bool found = false;
    auto seen = [&] {
      const size_t end = log_.rfind('\n');
      if (end != std::string::npos && end + 1 > from) {
        found = std::regex_search(log_.begin() + static_cast<long>(from), log_.begin() + static_cast<long>(end + 1), r);
        from = end + 1;
      }
      return found || eof_;
    };
    cv_.wait_until(lock, Clock::now() + timeout, seen);
    return found;
  }
  std::string log() {
    std::lock_guard lock(mu_);
    return log_;
  }

 private:
  pid_t pid_ = -1;
  std::thread reader_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::string log_;
  bool eof_ = false;
};

// execv(argv) in a child: the execve errno (0 when it ran) and the exit status.
struct ExecResult {
  int err = 0;
  int status = -1;
};
inline ExecResult Exec(const std::vector<std::string>& argv) {
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) return {errno, -1};
  pid_t pid = ::fork();
  if (pid == 0) {
    int devnull = ::open("/dev/null", O_RDWR);
    ::dup2(devnull, 0);
    ::dup2(devnull, 1);
    ::dup2(devnull, 2);
    std::vector<char*> a;
    for (const auto& s : argv) a.push_back(const_cast<char*>(s.c_str()));
    a.push_back(nullptr);
    ::execv(a[0], a.data());
    int e = errno;
    (void)!::write(p[1], &e, sizeof e);
    ::_exit(127);
  }
  ::close(p[1]);
  ExecResult r;
  if (::read(p[0], &r.err, sizeof r.err) != sizeof r.err) r.err = 0;
  ::close(p[0]);
  int st = 0;
  ::waitpid(pid, &st, 0);
  r.status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
  return r;
}

inline std::string Python() { return fs::exists("/usr/bin/python3") ? "/usr/bin/python3" : ""; }
inline const char* kLoader = "/lib64/ld-linux-x86-64.so.2";

class WatchDaemonTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!g_skip_reason.empty()) GTEST_SKIP() << g_skip_reason;
    files_ = g_root + "/" + ::testing::UnitTest::GetInstance()->current_test_info()->name();
    fs::create_directories(files_ + "/dl");
    fs::remove_all(g_root + "-state");
  }
  std::string files_;
};

// The test binary's main: the private mount namespace and tmpfs, then every test. `more_needs`
// names what else the binary's tests need and lack ("" when all is there): they skip, saying so.
inline int RunWatchTests(int argc, char** argv, const std::function<std::string()>& more_needs = {}) {
  ::testing::InitGoogleTest(&argc, argv);
  if (::testing::GTEST_FLAG(list_tests)) return RUN_ALL_TESTS();  // test discovery: no mounts
  if (::geteuid() != 0) {
    g_skip_reason = "needs root: fanotify permission events need CAP_SYS_ADMIN";
  } else if (more_needs && !(g_skip_reason = more_needs()).empty()) {
    // skipped: g_skip_reason says why
  } else if (::unshare(CLONE_NEWNS) != 0 || ::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) {
    g_skip_reason = std::string("cannot make a private mount namespace: ") + std::strerror(errno);
  } else {
    std::string t = (fs::temp_directory_path() / "airlock-watch-gate-XXXXXX").string();
    g_root = ::mkdtemp(t.data());
    if (::mount("tmpfs", g_root.c_str(), "tmpfs", 0, "size=600m,mode=0755") != 0) {
      g_skip_reason = std::string("cannot mount a tmpfs: ") + std::strerror(errno);
    } else {
      fs::create_directories(g_root + "/dl");
      int probe = ::fanotify_init(FAN_CLASS_CONTENT | FAN_CLOEXEC, O_RDONLY);
      if (probe < 0 || ::fanotify_mark(probe, FAN_MARK_ADD | FAN_MARK_FILESYSTEM, FAN_OPEN_EXEC_PERM, AT_FDCWD, g_root.c_str()) != 0) {
        g_skip_reason = std::string("fanotify permission events unavailable (CONFIG_FANOTIFY_ACCESS_PERMISSIONS?): ") + std::strerror(errno);
      }
      if (probe >= 0) ::close(probe);
    }
  }
  if (!g_skip_reason.empty()) std::fprintf(stderr, "[  SKIPPED ] %s\n", g_skip_reason.c_str());
  int rc = RUN_ALL_TESTS();
  if (!g_root.empty()) {
    ::umount2(g_root.c_str(), MNT_DETACH);
    std::error_code ec;
    fs::remove_all(g_root + "-state", ec);
    ::rmdir(g_root.c_str());
  }
  return rc;
}

}  // namespace watch_test
