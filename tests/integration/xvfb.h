// A private Xvfb for the tests that need a display (browser_session_test.cc, app_test.cc), and a
// private headless weston for the Wayland ones.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <string>
#include <vector>

#include "test_env.h"

namespace airlock::test {

// Xvfb on a display it picks (-displayfd); only its socket file, no abstract socket (the sandbox's
// Landlock scope refuses abstract sockets outside it, and the X client library does not fall back).
class Xvfb {
 public:
  Xvfb() {
    int p[2];
    if (::pipe2(p, O_CLOEXEC) != 0) return;
    pid_ = ::fork();
    if (pid_ == 0) {
      ::prctl(PR_SET_PDEATHSIG, SIGTERM);  // never outlives the test (nor holds ctest's output pipe)
      int null = ::open("/dev/null", O_WRONLY | O_CLOEXEC);
      if (null >= 0) {
        ::dup2(null, 1);
        ::dup2(null, 2);
      }
      int w = ::fcntl(p[1], F_DUPFD, 10);  // without O_CLOEXEC: Xvfb writes its display number here
      std::string fd = std::to_string(w);
      ::execl("/usr/bin/Xvfb", "Xvfb", "-displayfd", fd.c_str(), "-nolisten", "tcp", "-nolisten", "local", "-noreset", "-screen", "0",
              "1024x768x24", static_cast<char*>(nullptr));
      ::_exit(127);
    }
    ::close(p[1]);
    char buf[16] = {};
    ssize_t n = ::read(p[0], buf, sizeof buf - 1);
    read_end_ = p[0];  // kept open: a server that writes its number again must not die of EPIPE
    if (n > 0) display_ = ":" + std::string(buf, static_cast<size_t>(n)).substr(0, std::string(buf).find('\n'));
  }
  ~Xvfb() {
    if (read_end_ >= 0) ::close(read_end_);
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  const std::string& display() const { return display_; }

 private:
  pid_t pid_ = -1;
  int read_end_ = -1;
  std::string display_;
};

// weston with its headless backend, its socket `wayland-7` in a private runtime directory (not below
// a test's home, which uid 65534 may not enter); as root it runs as 65534, as the sandbox's outside
// uid is (a compositor's socket is its owner's). ok() once the socket exists.
class HeadlessWeston {
 public:
  explicit HeadlessWeston(const std::string& log) : runtime_(MakeTempDir("wl-runtime")) {
    ::chmod(runtime_.c_str(), 0700);
    std::vector<std::string> argv = {"/usr/bin/env", "-i", "XDG_RUNTIME_DIR=" + runtime_, "HOME=" + runtime_, "PATH=/usr/bin:/bin",
                                     "/usr/bin/weston", "--backend=headless-backend.so", "--socket=wayland-7", "--idle-time=0"};
    if (IsRoot()) {
      if (::chown(runtime_.c_str(), 65534, 65534) != 0) return;
      argv.insert(argv.begin(), {"/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--"});
    }
    pid_ = SpawnLogged(argv, log);
    for (int i = 0; i < 100 && !ok(); ++i) ::usleep(100000);
  }
  ~HeadlessWeston() {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      ::waitpid(pid_, nullptr, 0);
    }
    std::error_code ec;
    std::filesystem::remove_all(runtime_, ec);
  }
  bool ok() const { return ::access((runtime_ + "/wayland-7").c_str(), F_OK) == 0; }
  const std::string& runtime() const { return runtime_; }

 private:
  std::string runtime_;
  pid_t pid_ = -1;
};

}  // namespace airlock::test
