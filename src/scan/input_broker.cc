#include "scan/input_broker.h"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string_view>

#include <fmt/format.h>

#include "core/fd_passing.h"
#include "scan/file_util.h"

namespace airlock::scan {
namespace {

constexpr uint32_t kMagic = 0x31425341;  // "ASB1"
constexpr uint32_t kCount = 1, kOpen = 2;

struct Request {
  uint32_t magic = kMagic;
  uint32_t op = 0;
  uint64_t index = 0;
};
struct ReplyHead {
  uint64_t value = 0;
  uint32_t name_len = 0;
  uint32_t error_len = 0;
};

std::string_view Clip(std::string_view s) { return s.substr(0, kMaxBrokerText); }

Status SendReply(int sock, uint64_t value, std::string_view name, std::string_view error, int fd) {
  name = Clip(name);
  error = Clip(error);
  const ReplyHead head{value, static_cast<uint32_t>(name.size()), static_cast<uint32_t>(error.size())};
  std::string buf(reinterpret_cast<const char*>(&head), sizeof head);
  buf.append(name).append(error);
  ssize_t n;
  do n = SendWithFds(sock, buf.data(), buf.size(), &fd, fd >= 0 ? 1 : 0);
  while (n == -EINTR);
  if (n == -EPIPE || n == -ECONNRESET) return Ok();  // the sandbox is gone: nothing to answer
  if (n != static_cast<ssize_t>(buf.size())) return MakeError(fmt::format("scan input broker: send: {}", std::strerror(n < 0 ? static_cast<int>(-n) : EIO)));
  return Ok();
}

Status Serve(int sock, const std::vector<std::string>& inputs) {
  for (;;) {
    Request r;
    ssize_t n;
    do n = ::recv(sock, &r, sizeof r, MSG_TRUNC);  // the datagram's real length: a longer one is malformed
    while (n < 0 && errno == EINTR);
    if (n == 0 || (n < 0 && errno == ECONNRESET)) return Ok();
    if (n < 0) return ErrnoError("scan input broker: receive");
    if (n != static_cast<ssize_t>(sizeof r) || r.magic != kMagic) return MakeError("the sandboxed scanner sent a malformed request");
    Status sent = Ok();
    if (r.op == kCount) {
      sent = SendReply(sock, inputs.size(), "", "", -1);
    } else if (r.op == kOpen && r.index < inputs.size()) {
      const std::string& path = inputs[r.index];
      auto fd = OpenInputFile(path);
      sent = fd ? SendReply(sock, 0, path, "", fd->get()) : SendReply(sock, 1, path, fd.error().What(), -1);
    } else {
      return MakeError(fmt::format("the sandboxed scanner asked for op {} of input {} (there are {})", r.op, r.index, inputs.size()));
    }
    if (!sent) return sent;
  }
}

}  // namespace

Status ServeInputs(int sock, const std::vector<std::string>& inputs) {
  Status s = Serve(sock, inputs);
  if (!s) ::shutdown(sock, SHUT_RDWR);  // a waiting request gets EOF, never a hang
  return s;
}

Result<size_t> InputClient::Count() {
  uint64_t value = 0;
  auto r = Ask(kCount, 0, &value);
  if (!r) return std::unexpected(r.error());
  return static_cast<size_t>(value);
}

Result<BrokeredInput> InputClient::Open(size_t index) { return Ask(kOpen, index, nullptr); }

Result<BrokeredInput> InputClient::Ask(uint32_t op, uint64_t index, uint64_t* value) {
  std::lock_guard lock(mu_);
  Request req;
  req.op = op;
  req.index = index;
  ssize_t n;
  do n = ::send(sock_, &req, sizeof req, MSG_NOSIGNAL);
  while (n < 0 && errno == EINTR);
  if (n != static_cast<ssize_t>(sizeof req)) return ErrnoError("scan input broker: ask");
  std::string buf(sizeof(ReplyHead) + 2 * kMaxBrokerText, '\0');
  int fd = -1;
  size_t nfds = 0;
  bool truncated = false;
  n = ReceiveWithFds(sock_, buf.data(), buf.size(), &fd, 1, &nfds, &truncated);
  BrokeredInput out;
  if (nfds == 1) out.fd.reset(fd);
  if (n < 0) return MakeError(fmt::format("scan input broker: answer: {}", std::strerror(static_cast<int>(-n))));
  ReplyHead head;
  if (static_cast<size_t>(n) < sizeof head) return MakeError("scan input broker: the host ended the conversation");
  std::memcpy(&head, buf.data(), sizeof head);
  if (head.name_len > kMaxBrokerText || head.error_len > kMaxBrokerText || sizeof head + head.name_len + head.error_len != static_cast<size_t>(n)) {
    return MakeError("scan input broker: a malformed answer");
  }
  out.name = buf.substr(sizeof head, head.name_len);
  out.error = buf.substr(sizeof head + head.name_len, head.error_len);
  if (value != nullptr) *value = head.value;
  if (op == kOpen && !out.fd && out.error.empty()) out.error = "the host sent no descriptor for " + out.name;
  return out;
}

}  // namespace airlock::scan
