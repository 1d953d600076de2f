#include "browser/marionette.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>

#include <fmt/format.h>

#include "browser/session_driver.h"
#include "core/fd_passing.h"
#include "core/json_text.h"

namespace airlock::browser {
namespace {

// The child of ConnectInsideSandbox: 0 after sending the socket, else an errno-like step number.
int ConnectInChild(pid_t pid, int port, int reply_fd) {
  int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  if (pidfd < 0) return 1;
  if (::setns(pidfd, CLONE_NEWUSER | CLONE_NEWNET) != 0) return 2;
  int s = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (s < 0) return 3;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(s, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) return errno == ECONNREFUSED ? 4 : 5;
  return SendFd(reply_fd, s) == 0 ? 0 : 6;
}

// KEY's value when it is a string, else "".
std::string JsonString(const nlohmann::json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : "";
}

}  // namespace

Result<UniqueFd> ConnectInsideSandbox(pid_t pid, int port) {
  int sp[2];
  if (::socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sp) != 0) return ErrnoError("socketpair");
  UniqueFd mine(sp[0]), theirs(sp[1]);
  pid_t child = ::fork();
  if (child < 0) return ErrnoError("fork");
  if (child == 0) ::_exit(ConnectInChild(pid, port, theirs.get()));
  theirs.reset();
  int status = 0;
  while (::waitpid(child, &status, 0) < 0 && errno == EINTR) {}
  const int step = WIFEXITED(status) ? WEXITSTATUS(status) : 100;
  if (step == 0) {
    UniqueFd got(ReceiveFd(mine.get()));
    if (got) return got;
    return MakeError("the connection to the browser's Marionette port was not handed over");
  }
  static const char* const kSteps[] = {"", "pidfd_open", "setns into the sandbox's user and network namespaces", "socket",
                                       "connect (nothing listens yet)", "connect", "sendmsg"};
  return MakeError(fmt::format("reaching Marionette in the sandbox (pid {}, port {}): {} failed", pid, port,
                               step < 7 ? kSteps[step] : "the helper was killed"));
}

Status Marionette::Fill(int64_t deadline_ms) {
  for (;;) {
    const int64_t left = deadline_ms - NowMs();
    if (left <= 0) return MakeError("Marionette did not answer in time");
    pollfd p{fd_.get(), POLLIN, 0};
    int n = ::poll(&p, 1, static_cast<int>(std::min<int64_t>(left, 1000)));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoError("poll");
    if (n == 0) continue;
    char chunk[65536];
    ssize_t r = ::read(fd_.get(), chunk, sizeof chunk);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return ErrnoError("read from Marionette");
    if (r == 0) return MakeError("the browser closed its Marionette connection");
    buf_.append(chunk, static_cast<size_t>(r));
    return Ok();
  }
}

Result<nlohmann::json> Marionette::ReadMessage(int64_t deadline_ms) {
  for (;;) {
    const size_t colon = buf_.find(':');
    if (colon == std::string::npos) {
      if (buf_.size() > 20) return MakeError("Marionette sent a malformed frame (no length)");
    } else {
      if (colon == 0 || colon > 20 || buf_.find_first_not_of("0123456789") != colon) return MakeError("Marionette sent a malformed frame length");
      const uint64_t len = std::strtoull(buf_.c_str(), nullptr, 10);
      if (len > kMaxMarionetteMessage) return MakeError(fmt::format("Marionette sent a {}-byte message (at most {})", len, kMaxMarionetteMessage));
      if (buf_.size() - colon - 1 >= len) {
        nlohmann::json j = nlohmann::json::parse(buf_.substr(colon + 1, len), nullptr, false);
        buf_.erase(0, colon + 1 + len);
        if (j.is_discarded()) return MakeError("Marionette sent a message that is not JSON");
        return j;
      }
    }
    if (Status s = Fill(deadline_ms); !s) return std::unexpected(s.error());
  }
}

Result<nlohmann::json> Marionette::Hello(std::chrono::milliseconds timeout) { return ReadMessage(NowMs() + timeout.count()); }

Result<nlohmann::json> Marionette::Call(const std::string& command, const nlohmann::json& params, std::chrono::milliseconds timeout) {
  const uint64_t id = next_id_++;
  const std::string body = DumpJson(nlohmann::json::array({0, id, command, params}));
  const std::string frame = std::to_string(body.size()) + ":" + body;
  for (size_t done = 0; done < frame.size();) {
    ssize_t n = ::send(fd_.get(), frame.data() + done, frame.size() - done, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return ErrnoError(command + ": the browser's Marionette connection is gone");
    done += static_cast<size_t>(n);
  }
  const int64_t deadline = NowMs() + timeout.count();
  for (;;) {
    auto m = ReadMessage(deadline);
    if (!m) return std::unexpected(std::move(m.error()).WithContext(command));
    const nlohmann::json& r = *m;
    if (!r.is_array() || r.size() != 4 || r[0] != 1 || !r[1].is_number_unsigned()) return MakeError(command + ": Marionette sent a malformed reply");
    if (r[1].get<uint64_t>() != id) continue;  // a late reply to an earlier, timed-out call
    if (!r[2].is_null()) {
      const nlohmann::json& e = r[2];
      std::string what = e.is_object() ? JsonString(e, "error") + ": " + JsonString(e, "message") : DumpJson(e);
      if (what.size() > 500) what.resize(500);
      return MakeError(command + ": " + Utf8Text(what));
    }
    return r[3];
  }
}

}  // namespace airlock::browser
