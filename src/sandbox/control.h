// The control socket of a running sandbox: how `airlock ps` and `airlock stop` reach the airlock
// process supervising it (cold or warm), served by the Supervisor's own loop (supervisor.h), so the one
// process that holds the sandbox's handles is the one that acts on it.
//
// A SOCK_SEQPACKET listener (mode 0600, in the caller's private registry directory: cli/running.h).
// One request and one answer per connection, as text:
//   "info"     -> {"init_pid":N,"launch":"cold"|"warm"} (N: init's host pid, 0 when unknown)
//   "stop MS"  -> "ok": SIGTERM forwarded to the payload now (signals.h); the sandbox is killed MS ms
//                 later if it still runs (SIGKILL to init and the cgroup, as the timeout does). The
//                 run report says interrupted by SIGTERM.
//   exec       -> "ok" or "error: ...": a binary request (exec_wire.h, kExecClientMagic) with the
//                 caller's descriptors; the supervisor builds the environment by the run's rules and
//                 hands it to init, which starts the command with the payload's lock-down (child.h).
// Anything else -> "error: ...". Only a peer with the supervisor's effective uid, or root, is answered
// (SO_PEERCRED); others are closed unanswered.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "core/unique_fd.h"

namespace airlock {

// Binds and listens at path (which must not exist), non-blocking, close-on-exec, mode 0600.
Result<UniqueFd> ListenControl(const std::string& path);

struct ControlRequest {
  enum class Kind { kInfo, kStop, kExec, kInvalid };
  Kind kind = Kind::kInvalid;
  int grace_ms = 0;   // kStop
  std::string text;   // the request as received (kInvalid: for the error answer; kExec: the message)
  std::vector<UniqueFd> fds;  // kExec: the caller's descriptors (exactly kExecClientFds)
  UniqueFd conn;
};

// Accepts one pending connection and reads its request (waits at most 200 ms for it; a message longer
// than kMaxExecMessage, or descriptors with anything but an exec request, make it kInvalid). nullopt: none
// pending, a peer that is neither our euid nor root, or no request in time (the connection is closed).
std::optional<ControlRequest> AcceptControl(int listen_fd);

// Sends the answer on the request's connection (best effort: the caller may be gone) and closes it.
void AnswerControl(ControlRequest& request, std::string_view answer);

// The client side: one request (with descriptors, SCM_RIGHTS), its answer, within timeout_ms.
Result<std::string> CallControl(const std::string& path, std::string_view request, int timeout_ms,
                                const int* fds = nullptr, size_t nfds = 0);

}  // namespace airlock
