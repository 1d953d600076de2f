#include "net/net.h"

#include <fcntl.h>
#include <linux/capability.h>
#include <net/if.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <sstream>
#include <vector>

#include "core/unique_fd.h"
#include "net/helper_creds.h"

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

namespace {

std::string FindInPath(const std::string& name) {
  for (const char* dir : {"/usr/bin", "/bin", "/usr/sbin", "/sbin", "/usr/local/bin"}) {
    std::string p = fmt::format("{}/{}", dir, name);
    if (::access(p.c_str(), X_OK) == 0) return p;
  }
  return "";
}

// What each helper needs to attach: enter the sandbox's network namespace (CAP_SYS_ADMIN there and
// in its user namespace), create and configure the tap device (CAP_NET_ADMIN), build its own
// mount-namespace sandbox (CAP_SYS_ADMIN, CAP_SETPCAP to drop the bounding set) and, for pasta,
// set its uid (CAP_SETUID/CAP_SETGID, to the same ids). All in the sandbox's user namespace.
uint64_t HelperCaps(const std::string& helper) {
  uint64_t caps = CapBit(CAP_SYS_ADMIN) | CapBit(CAP_NET_ADMIN) | CapBit(CAP_NET_BIND_SERVICE) | CapBit(CAP_SETPCAP);
  if (helper == "pasta") caps |= CapBit(CAP_SETUID) | CapBit(CAP_SETGID);
  return caps;
}

// The helper's argv. The sandbox's network namespace is fd 5 of the helper (opened by airlock), so
// the helper needs no access to the sandbox's /proc entries.
std::vector<std::string> HelperArgs(const std::string& helper, const std::string& bin, const NetPolicy& net,
                                    const HelperIdentity& who) {
  if (helper == "slirp4netns") {
    std::vector<std::string> a = {bin, "--configure", "--mtu=65520", "--disable-host-loopback", "--enable-seccomp",
                                  "--ready-fd=3", "--exit-fd=4", "--netns-type=path"};
    // Its sandbox (own mount namespace, capabilities dropped) needs uid 0 in its user namespace:
    // only when the sandbox's inside uid is 0 (root callers by default). Otherwise it runs without
    // (reported: sandboxed false); pasta isolates itself as any uid and is preferred.
    if (who.inside_uid == 0) a.push_back("--enable-sandbox");
    // Under --net-allow the sandbox's names go to airlock's own resolver only.
    if (!net.allow.empty()) a.push_back("--disable-dns");
    a.push_back("/proc/self/fd/5");
    a.push_back("tap0");
    return a;
  }
  // pasta: no port forwarding in either direction (its default "auto" would map the host's
  // loopback ports into the sandbox), no gateway mapping to the host, and slirp4netns' private
  // addressing instead of a copy of the host's address (IPv4 only, as with slirp4netns), so the
  // host's own addresses stay outside and the host filter (netns_setup.h) decides about them.
  std::vector<std::string> a = {bin,  "--config-net", "--quiet", "--foreground", "--no-map-gw", "-4", "-I", "tap0", "-a",
                                "10.0.2.100", "-n", "24", "-g", "10.0.2.2", "-t", "none", "-u", "none", "-T", "none", "-U",
                                "none", "--runas", fmt::format("{}:{}", who.inside_uid, who.inside_gid)};
  // Without an allow-list, 10.0.2.3 forwards to the host's resolver, as slirp4netns' does; with
  // one, there is no forwarder at all.
  if (net.allow.empty()) a.insert(a.end(), {"--dns-forward", "10.0.2.3"});
  a.insert(a.end(), {"--netns", "/proc/self/fd/5"});
  return a;
}

// The forked helper: take the sandbox's credentials, place the descriptors, exec. Never returns.
[[noreturn]] void ExecHelperInChild(char* const* argv, int userns, int netns, int ready_w, int exit_r, int err_w,
                                    const HelperIdentity& who, uint64_t caps) {
  ::signal(SIGPIPE, SIG_DFL);
  const char* step = "";
  int rc = BecomeSandboxUserInHelper(userns, who.inside_uid, who.inside_gid, caps, &step);
  if (rc != 0) {
    char msg[256];
    int n = snprintf(msg, sizeof msg, "airlock: preparing the helper failed at '%s': %s\n", step, strerror(-rc));
    if (::write(err_w, msg, static_cast<size_t>(n)) < 0) _exit(126);
    _exit(126);
  }
  int devnull = ::open("/dev/null", O_RDWR | O_CLOEXEC);
  // Move every descriptor above the targets first (close-on-exec copies), then into place.
  int fds[] = {devnull, err_w, ready_w, exit_r, netns};
  for (int& fd : fds) fd = ::fcntl(fd, F_DUPFD_CLOEXEC, 10);
  ::dup2(fds[0], 0);
  ::dup2(fds[1], 1);
  ::dup2(fds[1], 2);
  ::dup2(fds[2], 3);
  ::dup2(fds[3], 4);
  ::dup2(fds[4], 5);
  ::syscall(SYS_close_range, 6U, ~0U, 0U);
  ::execv(argv[0], argv);
  char msg[256];
  int n = snprintf(msg, sizeof msg, "airlock: exec %s: %s\n", argv[0], strerror(errno));
  if (::write(2, msg, static_cast<size_t>(n)) < 0) _exit(127);
  _exit(127);
}

// What the helper printed so far (bounded), on one line; pasta's complaints about a missing syslog
// are left out.
std::string DrainStderr(int fd) {
  std::string raw;
  char buf[1024];
  while (raw.size() < 4096) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n <= 0) break;
    raw.append(buf, static_cast<size_t>(n));
  }
  std::string out;
  std::istringstream in(raw);
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line.find("to syslog") != std::string::npos) continue;
    for (char& c : line) {
      if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) > 0x7e) c = '?';
    }
    out += (out.empty() ? "" : "; ") + line;
  }
  return out;
}

// The error for a helper that did not become ready: its own words and, where they point at the
// tap device, the fix.
Error HelperFailure(const std::string& helper, const std::string& what, int err_fd) {
  std::string said = DrainStderr(err_fd);
  std::string msg = fmt::format("{} {}", helper, what);
  if (!said.empty()) msg += fmt::format(" (it said: {})", said);
  std::string tun = DiagnoseTunDevice();
  // slirp4netns: open("/dev/net/tun"): Permission denied; pasta: Failed to open tun socket ...
  if (!tun.empty() && (said.empty() || said.find("tun") != std::string::npos || said.find("TUNSETIFF") != std::string::npos)) {
    msg += ": " + tun;
  }
  return Error(msg);
}

ProcStatusCreds ReadCreds(pid_t pid) {
  UniqueFd f(::open(fmt::format("/proc/{}/status", pid).c_str(), O_RDONLY | O_CLOEXEC));
  if (!f) return {};
  char buf[8192];
  ssize_t n = ::read(f.get(), buf, sizeof buf);
  return n > 0 ? ParseProcStatusCreds(std::string(buf, static_cast<size_t>(n))) : ProcStatusCreds{};
}

// slirp4netns writes its ready fd after --enable-sandbox and --enable-seccomp took effect.
Status WaitSlirpReady(const std::string& helper, int ready_fd, int err_fd) {
  struct pollfd p = {ready_fd, POLLIN, 0};
  int n = ::poll(&p, 1, 5000);
  char c;
  if (n > 0 && ::read(ready_fd, &c, 1) == 1) return Ok();
  return std::unexpected(HelperFailure(helper, n == 0 ? "did not become ready within 5 s" : "exited before it was ready", err_fd));
}

// pasta (this version) has no ready fd: it installs its seccomp filter right after configuring the
// namespace, so "Seccomp: 2" in its status is the sign. Polls every 2 ms for at most 5 s.
Status WaitPastaReady(const std::string& helper, pid_t pid, int err_fd) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (std::chrono::steady_clock::now() < deadline) {
    int status;
    if (::waitpid(pid, &status, WNOHANG) == pid) {
      return std::unexpected(HelperFailure(helper, fmt::format("exited before it was ready (status {})", status), err_fd));
    }
    if (ReadCreds(pid).seccomp == 2) return Ok();
    ::usleep(2000);
  }
  return std::unexpected(HelperFailure(helper, "did not become ready within 5 s", err_fd));
}

HelperReport ReportFor(const std::string& helper, pid_t pid) {
  ProcStatusCreds c = ReadCreds(pid);
  HelperReport r;
  r.name = helper;
  r.uid = c.uid;
  r.seccomp = c.seccomp == 2;
  r.no_new_privs = c.no_new_privs;
  r.capabilities = CapNames(c.cap_eff);
  // What proves its own sandbox took effect: slirp4netns --enable-sandbox drops the bounding set to
  // CAP_NET_BIND_SERVICE after building its mount namespace; pasta installs its seccomp filter only
  // after moving to its own mount, IPC and UTS namespaces (isolate_prefork, then isolate_postfork).
  bool own = helper == "slirp4netns" ? (c.cap_bnd & ~CapBit(CAP_NET_BIND_SERVICE)) == 0 : c.seccomp == 2;
  r.sandboxed = own && c.no_new_privs && c.uid > 0;
  r.detail = helper == "slirp4netns"
                 ? (own ? "sandbox's user namespace, own mount namespace (--enable-sandbox), --enable-seccomp"
                        : "sandbox's user namespace, --enable-seccomp; no --enable-sandbox (needs inside uid 0)")
                 : "sandbox's user namespace, own mount/IPC/UTS namespaces, seccomp (pasta's own isolation)";
  return r;
}

}  // namespace

std::string FindUserNetHelper() {
  if (const char* want = ::getenv("AIRLOCK_NET_HELPER"); want != nullptr && *want != '\0') {
    std::string w = want;
    return (w == "slirp4netns" || w == "pasta") && !FindInPath(w).empty() ? w : "";
  }
  // pasta first: it isolates itself as any uid (slirp4netns' sandbox needs uid 0 inside) and moved
  // 2.9x the bytes of slirp4netns at 0.6x its connect latency here (bench/net, docs/PERFORMANCE.md).
  if (!FindInPath("pasta").empty()) return "pasta";
  if (!FindInPath("slirp4netns").empty()) return "slirp4netns";
  return "";
}

std::string DiagnoseTunDevice() {
  struct stat st {};
  if (::stat("/dev/net/tun", &st) != 0) {
    return fmt::format("/dev/net/tun: {} (load the tun module as root: modprobe tun)", strerror(errno));
  }
  if ((st.st_mode & 0006) != 0006) {
    return fmt::format("/dev/net/tun is mode {:04o}, so the unprivileged network helper cannot open it; as root run "
                       "'chmod 0666 /dev/net/tun' (the mode Debian's udev rules give it; scripts/install-deps.sh does this)",
                       st.st_mode & 07777);
  }
  return "";
}

ProcStatusCreds ParseProcStatusCreds(const std::string& status) {
  ProcStatusCreds c;
  std::istringstream in(status);
  for (std::string line; std::getline(in, line);) {
    size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string key = line.substr(0, colon);
    const char* v = line.c_str() + colon + 1;
    if (key == "Uid") c.uid = std::strtoll(v, nullptr, 10);  // the real uid comes first
    else if (key == "CapEff") c.cap_eff = std::strtoull(v, nullptr, 16);
    else if (key == "CapBnd") c.cap_bnd = std::strtoull(v, nullptr, 16);
    else if (key == "NoNewPrivs") c.no_new_privs = std::strtol(v, nullptr, 10) == 1;
    else if (key == "Seccomp") c.seccomp = static_cast<int>(std::strtol(v, nullptr, 10));
  }
  return c;
}

UserNet::~UserNet() {
  if (exit_fd_ >= 0) ::close(exit_fd_);
  if (pid_ > 0) {
    // slirp4netns exits when its exit fd closes. pasta has no such fd and outlives SIGTERM (measured:
    // still there 0.5 s later); it keeps no state worth a clean exit, so it gets SIGKILL at once.
    if (helper_ == "pasta") ::kill(pid_, SIGKILL);
    int status;
    for (int i = 0; i < 50; ++i) {
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        if (err_fd_ >= 0) ::close(err_fd_);
        return;
      }
      if (i == 10) ::kill(pid_, SIGTERM);
      ::usleep(i < 10 ? 1000 : 10000);
    }
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, &status, 0);
  }
  if (err_fd_ >= 0) ::close(err_fd_);
}

Result<UserNet> StartUserNetFromParent(pid_t child, const NetPolicy& net, const HelperIdentity& who) {
  std::string helper = FindUserNetHelper();
  if (helper.empty()) {
    return MakeError("network mode 'user' needs slirp4netns or pasta (Debian packages slirp4netns / passt); neither is installed"
                     " (or AIRLOCK_NET_HELPER names one that is not)");
  }
  std::string bin = FindInPath(helper);
  UniqueFd userns(::open(fmt::format("/proc/{}/ns/user", child).c_str(), O_RDONLY | O_CLOEXEC));
  if (!userns) return ErrnoError("open the sandbox's user namespace");
  UniqueFd netns(::open(fmt::format("/proc/{}/ns/net", child).c_str(), O_RDONLY | O_CLOEXEC));
  if (!netns) return ErrnoError("open the sandbox's network namespace");
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) return ErrnoError("pipe");
  UniqueFd ready_r(p[0]), ready_w(p[1]);
  if (::pipe2(p, O_CLOEXEC) != 0) return ErrnoError("pipe");
  UniqueFd exit_r(p[0]), exit_w(p[1]);
  if (::pipe2(p, O_CLOEXEC | O_NONBLOCK) != 0) return ErrnoError("pipe");  // both ends: the helper never blocks on it
  UniqueFd err_r(p[0]), err_w(p[1]);
  std::vector<std::string> args = HelperArgs(helper, bin, net, who);
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  uint64_t caps = HelperCaps(helper);
  pid_t pid = ::fork();
  if (pid < 0) return ErrnoError("fork " + helper);
  if (pid == 0) ExecHelperInChild(argv.data(), userns.get(), netns.get(), ready_w.get(), exit_r.get(), err_w.get(), who, caps);
  UserNet un;
  un.pid_ = pid;
  un.helper_ = helper;
  un.exit_fd_ = exit_w.release();
  ready_w.reset();
  err_w.reset();
  Status ready = helper == "slirp4netns" ? WaitSlirpReady(helper, ready_r.get(), err_r.get())
                                         : WaitPastaReady(helper, pid, err_r.get());
  if (!ready) return std::unexpected(ready.error());
  un.report_ = ReportFor(helper, pid);
  un.err_fd_ = err_r.release();  // not read from here on (see err_fd_)
  return un;
}

}  // namespace airlock
