#include "sandbox/control.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>

#include <fmt/format.h>

#include "core/fd_passing.h"
#include "sandbox/exec_wire.h"

namespace airlock {

namespace {

constexpr size_t kMaxMessage = 4096;

Result<struct sockaddr_un> UnixAddress(const std::string& path) {
  struct sockaddr_un addr {};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) {
    return MakeError(fmt::format("control socket path too long ({} bytes): {}", path.size(), path));
  }
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  return addr;
}

// Waits until fd is readable; false on timeout or error.
bool WaitReadable(int fd, int timeout_ms) {
  struct pollfd p = {fd, POLLIN, 0};
  int r;
  do r = ::poll(&p, 1, timeout_ms); while (r < 0 && errno == EINTR);
  return r == 1;
}

ControlRequest Parse(std::string text, std::vector<UniqueFd> fds) {
  ControlRequest req;
  uint32_t magic = 0;
  if (text.size() >= sizeof magic) std::memcpy(&magic, text.data(), sizeof magic);
  if (magic == kExecClientMagic) {
    if (fds.size() == kExecClientFds) req.kind = ControlRequest::Kind::kExec;
    req.fds = std::move(fds);
  } else if (!fds.empty()) {
    // descriptors with a text request: refused (they are closed with the request)
  } else if (text == "info") {
    req.kind = ControlRequest::Kind::kInfo;
  } else if (text.rfind("stop ", 0) == 0) {
    int ms = -1;
    const char* b = text.data() + 5;
    const char* e = text.data() + text.size();
    auto [end, ec] = std::from_chars(b, e, ms);
    if (ec == std::errc() && end == e && ms >= 0 && ms <= 3600 * 1000) {
      req.kind = ControlRequest::Kind::kStop;
      req.grace_ms = ms;
    }
  }
  req.text = std::move(text);
  return req;
}

}  // namespace

Result<UniqueFd> ListenControl(const std::string& path) {
  auto addr = UnixAddress(path);
  if (!addr) return std::unexpected(addr.error());
  UniqueFd fd(::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd) return ErrnoError("control socket");
  // 0600 from the start: bound under a umask that leaves nothing for group and other.
  const mode_t old = ::umask(0177);
  const int r = ::bind(fd.get(), reinterpret_cast<const struct sockaddr*>(&*addr), sizeof *addr);
  ::umask(old);
  if (r != 0) return ErrnoError(fmt::format("bind {}", path));
  if (::listen(fd.get(), 8) != 0) return ErrnoError(fmt::format("listen {}", path));
  return fd;
}

std::optional<ControlRequest> AcceptControl(int listen_fd) {
  UniqueFd conn(::accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK));
  if (!conn) return std::nullopt;
  struct ucred cred {};
  socklen_t len = sizeof cred;
  if (::getsockopt(conn.get(), SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) return std::nullopt;
  if (cred.uid != ::geteuid() && cred.uid != 0) return std::nullopt;
  if (!WaitReadable(conn.get(), 200)) return std::nullopt;
  std::string buf(kMaxExecMessage + 1, '\0');
  int raw[kMaxPassedFds];
  size_t nfds = 0;
  bool truncated = false;
  ssize_t n = ReceiveWithFds(conn.get(), buf.data(), buf.size(), raw, kMaxPassedFds, &nfds, &truncated, MSG_DONTWAIT);
  std::vector<UniqueFd> fds;
  for (size_t i = 0; i < nfds; ++i) fds.emplace_back(raw[i]);
  if (n <= 0) return std::nullopt;
  buf.resize(static_cast<size_t>(n));
  ControlRequest req;
  if (truncated || buf.size() > kMaxExecMessage) {
    req.text = "(a request larger than the limit)";
  } else {
    req = Parse(std::move(buf), std::move(fds));
  }
  req.conn = std::move(conn);
  return req;
}

void AnswerControl(ControlRequest& request, std::string_view answer) {
  if (request.conn) (void)::send(request.conn.get(), answer.data(), std::min(answer.size(), kMaxMessage), MSG_NOSIGNAL);
  request.conn.reset();
}

Result<std::string> CallControl(const std::string& path, std::string_view request, int timeout_ms, const int* fds,
                                size_t nfds) {
  auto addr = UnixAddress(path);
  if (!addr) return std::unexpected(addr.error());
  UniqueFd fd(::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0));
  if (!fd) return ErrnoError("control socket");
  if (::connect(fd.get(), reinterpret_cast<const struct sockaddr*>(&*addr), sizeof *addr) != 0) {
    return ErrnoError(fmt::format("connect {}", path));
  }
  // A request up to kMaxExecMessage must fit one message: room in the send buffer (best effort).
  const int sndbuf = static_cast<int>(kMaxExecMessage + 4096);
  (void)::setsockopt(fd.get(), SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
  const ssize_t sent = SendWithFds(fd.get(), request.data(), request.size(), fds, nfds);
  if (sent != static_cast<ssize_t>(request.size())) {
    return std::unexpected(Error(fmt::format("send to {}", path), sent < 0 ? static_cast<int>(-sent) : EIO));
  }
  if (!WaitReadable(fd.get(), timeout_ms)) return MakeError(fmt::format("no answer from {} within {} ms", path, timeout_ms));
  std::string answer(kMaxMessage, '\0');
  ssize_t n = ::recv(fd.get(), answer.data(), answer.size(), 0);
  if (n <= 0) return MakeError(fmt::format("{} closed without an answer", path));
  answer.resize(static_cast<size_t>(n));
  return answer;
}

}  // namespace airlock
