// A client of Firefox's Marionette protocol (the remote protocol geckodriver speaks), for
// `airlock browser --browser firefox` (firefox_session.h). Firefox listens on a TCP port in the
// sandbox's own network namespace (the `browser` profile plus `--listen`: Landlock lets it bind that
// port and no other); airlock-browser outside reaches it through ConnectInsideSandbox.
//
// Contract:
//  - ConnectInsideSandbox: a forked child joins the user and network namespaces of `pid` (a process
//    of the sandbox: setns through a pidfd; its owner's uid has every capability there, root too),
//    connects to 127.0.0.1:`port` there and hands the connected socket back over a socketpair
//    (SCM_RIGHTS), then exits. Nothing else runs in those namespaces; the socket is the only thing
//    that crosses.
//  - Framing: "LENGTH:JSON". Everything from the browser is untrusted (a compromised browser writes
//    what it likes): a length over kMaxMessage, a malformed length or JSON, or a reply that is not
//    [1, id, error, result] is an error, never a crash; every read is bounded by a deadline.
//  - Call sends [0, id, command, params] and waits for the reply with that id (earlier replies are
//    skipped): the result, or an error naming the command and Marionette's error and message.
#pragma once

#include <sys/types.h>

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <string>

#include "core/error.h"
#include "core/unique_fd.h"

namespace airlock::browser {

inline constexpr size_t kMaxMarionetteMessage = size_t(64) << 20;  // a screenshot of a large window fits

[[nodiscard]] Result<UniqueFd> ConnectInsideSandbox(pid_t pid, int port);

class Marionette {
 public:
  explicit Marionette(UniqueFd fd) : fd_(std::move(fd)) {}
  // The server's greeting ({"applicationType": "gecko", "marionetteProtocol": 3}).
  [[nodiscard]] Result<nlohmann::json> Hello(std::chrono::milliseconds timeout);
  [[nodiscard]] Result<nlohmann::json> Call(const std::string& command, const nlohmann::json& params, std::chrono::milliseconds timeout);

 private:
  Result<nlohmann::json> ReadMessage(int64_t deadline_ms);
  Status Fill(int64_t deadline_ms);

  UniqueFd fd_;
  std::string buf_;
  uint64_t next_id_ = 1;
};

}  // namespace airlock::browser
