#include "net/net.h"

#include <fcntl.h>
#include <net/if.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cstring>
#include <vector>

#include "core/unique_fd.h"

namespace airlock {

int BringUpLoopbackInChild() {
  int s = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0) return -errno;
  struct ifreq ifr {};
  memcpy(ifr.ifr_name, "lo", 3);
  int rc = ::ioctl(s, SIOCGIFFLAGS, &ifr);
  if (rc == 0) {
    ifr.ifr_flags = static_cast<short>(ifr.ifr_flags | IFF_UP | IFF_RUNNING);
    rc = ::ioctl(s, SIOCSIFFLAGS, &ifr);
  }
  int e = errno;
  ::close(s);
  return rc == 0 ? 0 : -e;
}

static std::string FindInPath(const char* name) {
  for (const char* dir : {"/usr/bin", "/bin", "/usr/sbin", "/sbin", "/usr/local/bin"}) {
    std::string p = fmt::format("{}/{}", dir, name);
    if (::access(p.c_str(), X_OK) == 0) return p;
  }
  return "";
}

std::string FindUserNetHelper() {
  if (!FindInPath("slirp4netns").empty()) return "slirp4netns";
  if (!FindInPath("pasta").empty()) return "pasta";
  return "";
}

UserNet::~UserNet() {
  if (exit_fd_ >= 0) ::close(exit_fd_);
  if (pid_ > 0) {
    // Give the helper a moment to exit on its own (exit fd closed / namespace gone), then insist.
    int status;
    for (int i = 0; i < 50; ++i) {
      if (::waitpid(pid_, &status, WNOHANG) == pid_) return;
      if (i == 10) ::kill(pid_, SIGTERM);
      ::usleep(10000);
    }
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, &status, 0);
  }
}

Result<UserNet> StartUserNetFromParent(pid_t child, const NetPolicy& net) {
  (void)net;
  UserNet un;
  std::string helper = FindUserNetHelper();
  if (helper.empty()) {
    return MakeError("network mode 'user' needs slirp4netns or pasta (Debian packages slirp4netns / passt); neither is installed");
  }
  std::string bin = FindInPath(helper.c_str());
  int ready[2];
  if (::pipe2(ready, O_CLOEXEC) != 0) return ErrnoError("pipe");
  UniqueFd ready_r(ready[0]), ready_w(ready[1]);
  int exitp[2];
  if (::pipe2(exitp, O_CLOEXEC) != 0) return ErrnoError("pipe");
  UniqueFd exit_r(exitp[0]), exit_w(exitp[1]);
  std::vector<std::string> args;
  std::string userns = fmt::format("/proc/{}/ns/user", child);
  std::string netns = fmt::format("/proc/{}/ns/net", child);
  if (helper == "slirp4netns") {
    args = {bin, "--configure", "--mtu=65520", "--disable-host-loopback", "--ready-fd=3", "--exit-fd=4",
            "--userns-path=" + userns, "--netns-type=path", netns, "tap0"};
  } else {
    args = {bin, "--config-net", "--quiet", "--foreground", "--no-map-gw", "--userns", userns, "--netns", netns};
  }
  pid_t pid = ::fork();
  if (pid < 0) return ErrnoError("fork " + helper);
  if (pid == 0) {
    ::signal(SIGPIPE, SIG_DFL);
    int devnull = ::open("/dev/null", O_RDWR);
    int r = ::fcntl(ready_w.get(), F_DUPFD, 10);
    int e = ::fcntl(exit_r.get(), F_DUPFD, 10);
    ::dup2(r, 3);
    ::dup2(e, 4);
    ::dup2(devnull, 0);
    ::dup2(devnull, 1);
    ::dup2(devnull, 2);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    ::execv(argv[0], argv.data());
    _exit(127);
  }
  un.pid_ = pid;
  un.helper_ = helper;
  un.exit_fd_ = exit_w.release();
  ready_w.reset();
  if (helper == "slirp4netns") {
    struct pollfd p = {ready_r.get(), POLLIN, 0};
    int n = ::poll(&p, 1, 5000);
    char c;
    if (n <= 0 || ::read(ready_r.get(), &c, 1) != 1) {
      return MakeError("slirp4netns did not become ready within 5 s");
    }
  } else {
    ::usleep(100000);  // pasta has no ready fd in this version: give it time to configure the tap
  }
  return un;
}

}  // namespace airlock
