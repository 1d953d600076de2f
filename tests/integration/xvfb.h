// A private Xvfb for the tests that need a display (browser_session_test.cc, app_test.cc), a private
// headless weston for the Wayland ones, and a private Wayland desktop with a screen-cast portal.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
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

// A Wayland desktop with the screen-cast portal, as the caller (an ordinary user; not as root): a
// private session bus, headless sway (software rendering), PipeWire, xdg-desktop-portal with its
// wlroots backend set to share the one output without asking. All in a runtime directory of its own
// (short, directly in /tmp: sway's IPC socket path must fit a unix socket address), logs in `dir`;
// everything stopped (SIGTERM, reaped) and the runtime directory removed when it goes. ok() once the
// portal owns its name.
class PortalDesktop {
 public:
  static constexpr const char* kTools[] = {"/usr/bin/sway", "/usr/bin/pipewire", "/usr/bin/dbus-daemon", "/usr/bin/gdbus",
                                           "/usr/libexec/xdg-desktop-portal", "/usr/libexec/xdg-desktop-portal-wlr"};
  explicit PortalDesktop(const std::string& dir) : dir_(dir) {
    std::filesystem::create_directories(dir_);
    char tmpl[] = "/tmp/airlock-pd-XXXXXX";
    if (::mkdtemp(tmpl) == nullptr) return;  // mode 0700
    runtime_ = tmpl;
    WriteConfig();
    Start({"/usr/bin/dbus-daemon", "--session", "--address=unix:path=" + runtime_ + "/bus", "--nofork", "--nopidfile"}, "dbus");
    Start({"/usr/bin/sway", "-c", dir_ + "/sway.conf"}, "sway", {"WLR_BACKENDS=headless", "WLR_LIBINPUT_NO_DEVICES=1", "WLR_RENDERER=pixman"});
    for (int i = 0; i < 100 && wayland_.empty(); ++i, ::usleep(100000)) {
      for (const char* name : {"wayland-0", "wayland-1"}) {
        if (Accepts(runtime_ + "/" + name)) wayland_ = name;
      }
    }
    if (wayland_.empty()) return;
    Start({"/usr/bin/pipewire"}, "pipewire");  // each one once the one it needs accepts connections
    for (int i = 0; i < 100 && !Accepts(runtime_ + "/pipewire-0"); ++i) ::usleep(100000);
    Start({"/usr/libexec/xdg-desktop-portal-wlr", "-l", "DEBUG"}, "xdpw");
    Start({"/usr/libexec/xdg-desktop-portal"}, "xdp");
    for (int i = 0; i < 100 && !ok_; ++i, ::usleep(100000)) {
      ok_ = Run(Env({"/usr/bin/gdbus", "call", "--session", "--dest", "org.freedesktop.DBus", "--object-path", "/org/freedesktop/DBus",
                     "--method", "org.freedesktop.DBus.NameHasOwner", "org.freedesktop.portal.Desktop"}), "", 10).out.find("true") != std::string::npos;
    }
  }
  ~PortalDesktop() {
    for (auto it = pids_.rbegin(); it != pids_.rend(); ++it) ::kill(*it, SIGTERM);
    for (pid_t p : pids_) ::waitpid(p, nullptr, 0);
    std::error_code ec;
    if (!runtime_.empty()) std::filesystem::remove_all(runtime_, ec);
  }
  bool ok() const { return ok_; }
  const std::string& runtime() const { return runtime_; }
  const std::string& wayland() const { return wayland_; }
  // The screen-cast backend's log (each request it got).
  std::string PortalLog() const { return ReadFileOrEmpty(dir_ + "/xdpw.log"); }
  // `argv` with this desktop's environment in front (env -i ...).
  std::vector<std::string> Env(std::vector<std::string> argv) const {
    std::vector<std::string> env = {"/usr/bin/env", "-i", "HOME=" + dir_, "PATH=/usr/bin:/bin", "XDG_RUNTIME_DIR=" + runtime_,
                                    "XDG_CURRENT_DESKTOP=sway", "XDG_SESSION_TYPE=wayland", "DBUS_SESSION_BUS_ADDRESS=unix:path=" + runtime_ + "/bus"};
    if (!wayland_.empty()) env.push_back("WAYLAND_DISPLAY=" + wayland_);
    argv.insert(argv.begin(), env.begin(), env.end());
    return argv;
  }

 private:
  static bool Accepts(const std::string& path) {
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    if (path.size() >= sizeof a.sun_path) return false;
    std::memcpy(a.sun_path, path.c_str(), path.size());
    const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    const bool ok = fd >= 0 && ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    if (fd >= 0) ::close(fd);
    return ok;
  }
  void WriteConfig() {
    std::filesystem::create_directories(dir_ + "/.config/xdg-desktop-portal-wlr");
    WriteFile(dir_ + "/.config/xdg-desktop-portal-wlr/config", "[screencast]\nchooser_type=none\noutput_name=HEADLESS-1\n");
    WriteFile(dir_ + "/sway.conf", "output HEADLESS-1 resolution 1024x768\n");
  }
  // Starts argv in this desktop's environment plus `extra` (KEY=VALUE), its output in dir/NAME.log.
  void Start(std::vector<std::string> argv, const std::string& name, const std::vector<std::string>& extra = {}) {
    argv.insert(argv.begin(), extra.begin(), extra.end());  // env takes them after its own
    pids_.push_back(SpawnLogged(Env(std::move(argv)), dir_ + "/" + name + ".log"));
  }
  std::string dir_, runtime_, wayland_;
  std::vector<pid_t> pids_;
  bool ok_ = false;
};

}  // namespace airlock::test
