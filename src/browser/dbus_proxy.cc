#include "browser/dbus_proxy.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "browser/browser_session.h"
#include "core/private_dir.h"
#include "process/spawn.h"

namespace airlock::browser {
namespace {

Result<std::string> SessionBus(const std::vector<std::string>& env) {
  const std::string address = EnvOf(env, "DBUS_SESSION_BUS_ADDRESS"), runtime = EnvOf(env, "XDG_RUNTIME_DIR");
  if (address.starts_with("unix:")) return address;
  if (!runtime.empty() && IsSocket(runtime + "/bus")) return "unix:path=" + runtime + "/bus";
  return MakeError("--dbus: no session bus (DBUS_SESSION_BUS_ADDRESS is not a unix: address and $XDG_RUNTIME_DIR/bus is not a socket); "
                   "run it from a desktop session, or leave --dbus out");
}

// Waits up to 5 s for the proxy's ready byte.
Status AwaitReady(int fd, pid_t pid) {
  struct pollfd p = {fd, POLLIN, 0};
  const int n = ::poll(&p, 1, 5000);
  char c = 0;
  if (n == 1 && ::read(fd, &c, 1) == 1) return Ok();
  int status = 0;
  if (::waitpid(pid, &status, WNOHANG) == pid) {
    return MakeError("--dbus: xdg-dbus-proxy exited (status " + std::to_string(WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status)) +
                     ") before it was ready; its messages are above");
  }
  return MakeError("--dbus: xdg-dbus-proxy was not ready within 5 s");
}

}  // namespace

std::vector<std::string> DbusProxy::FilterArgs() {
  return {"--filter", "--talk=org.freedesktop.Notifications", "--talk=org.freedesktop.portal.Desktop",
          "--call=org.freedesktop.portal.*=*", "--broadcast=org.freedesktop.portal.*=@/org/freedesktop/portal/*"};
}

Result<std::unique_ptr<DbusProxy>> DbusProxy::Start(const std::vector<std::string>& env) {
  auto bus = SessionBus(env);
  if (!bus) return std::unexpected(bus.error());
  const std::string binary = process::FindSystemProgram("xdg-dbus-proxy");
  if (binary.empty()) return MakeError("--dbus needs xdg-dbus-proxy: apt-get install xdg-dbus-proxy");
  std::unique_ptr<DbusProxy> p(new DbusProxy());
  const std::string runtime = EnvOf(env, "XDG_RUNTIME_DIR");
  const std::string name = "/airlock-dbus-" + std::to_string(::getuid()) + "-" + std::to_string(::getpid());
  // A socket's path must fit sockaddr_un's sun_path: a runtime directory too deep for it falls back to /tmp.
  const bool fits = (runtime + name + "/bus").size() < sizeof(sockaddr_un{}.sun_path);
  const std::string base = !runtime.empty() && fits && std::filesystem::is_directory(runtime) ? runtime : "/tmp";
  p->dir_ = base + name;
  if (auto made = MakePrivateDirs(p->dir_); !made) return std::unexpected(made.error());
  p->socket_ = p->dir_ + "/bus";
  auto pipe = process::MakePipe();
  if (!pipe) return std::unexpected(pipe.error());
  // The write end goes to the proxy (without O_CLOEXEC, so it crosses the exec).
  UniqueFd child_end(::fcntl(pipe->write.get(), F_DUPFD, 3));
  if (!child_end) return MakeError(std::string("--dbus: dup: ") + std::strerror(errno));
  std::vector<std::string> argv = {binary, "--fd=" + std::to_string(child_end.get()), *bus, p->socket_};
  for (auto& a : FilterArgs()) argv.push_back(std::move(a));
  auto pid = process::ForkExec(argv, {-1, process::kInherit, process::kInherit});
  child_end.reset();
  pipe->write.reset();
  if (!pid) return std::unexpected(pid.error());
  p->pid_ = *pid;
  p->alive_ = std::move(pipe->read);
  if (auto ready = AwaitReady(p->alive_.get(), p->pid_); !ready) return std::unexpected(ready.error());
  // The sandbox's user may differ from ours (root's sandboxes run as 65534 outside): the socket is
  // open to connect, its directory is not (the sandbox reaches the socket by a bind mount).
  if (::chmod(p->socket_.c_str(), 0666) != 0) return MakeError("--dbus: chmod " + p->socket_ + ": " + std::strerror(errno));
  return p;
}

DbusProxy::~DbusProxy() {
  alive_.reset();  // the proxy stops when its pipe closes
  if (pid_ > 0) {
    bool reaped = false;
    for (int i = 0; i < 50 && !reaped; ++i) {
      reaped = ::waitpid(pid_, nullptr, WNOHANG) == pid_;
      if (!reaped) ::usleep(20000);
    }
    if (!reaped) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  std::error_code ec;
  if (!dir_.empty()) std::filesystem::remove_all(dir_, ec);
}

}  // namespace airlock::browser
