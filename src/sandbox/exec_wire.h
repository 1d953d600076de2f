// `airlock exec`'s messages (docs/ARCHITECTURE.md, "airlock exec"): one encoding, two hops, both over
// AF_UNIX SOCK_SEQPACKET sockets (a message arrives whole or not at all).
//
//   client -> supervisor  on the run's control socket (control.h), kExecClientMagic: argv, the
//                         client's whole environment, cwd ("" = the run's), umask, which stdio is a
//                         terminal; fds (SCM_RIGHTS) stdin, stdout, stderr, error pipe (write end),
//                         status socket (kExecClientFds). The supervisor answers "ok" or "error: ...".
//   supervisor -> init    on the exec channel set up at launch (cold: a socketpair; warm: the client's
//                         connection to init), kExecInitMagic: argv, the environment after the run's
//                         allow-list (BuildEnvironment), the exec candidates, cwd, umask, terminal mask;
//                         fds: the client's five, then a notify socket (kExecInitFds) on which the exec'd
//                         process sends its seccomp listener to the supervisor.
//   init -> client        on the status socket: the exec'd process's pidfd (one byte + SCM_RIGHTS, for
//                         signals), then a StatusRecord (child.h) when init reaped it; EOF without one:
//                         the sandbox ended first. Setup failures: a ChildErrorRecord on the error pipe
//                         (EOF at execve), as in a run.
// Decoding is allocation-free (init runs it) and trusts nothing: counts and lengths are checked
// against the message's real size.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace airlock {

inline constexpr uint32_t kExecClientMagic = 0x31584c41;  // "ALX1"
inline constexpr uint32_t kExecInitMagic = 0x32584c41;    // "ALX2"
// One message must fit a socket buffer; larger argument lists and environments are refused with a
// clear error on the client side (and rejected by the decoder on every side).
inline constexpr size_t kMaxExecMessage = 128 * 1024;
inline constexpr size_t kMaxExecStrings = 8192;
inline constexpr size_t kExecClientFds = 5;  // stdin, stdout, stderr, error pipe, status socket
inline constexpr size_t kExecInitFds = 6;    // the same plus the notify socket
enum ExecFd : int { kExecStdin = 0, kExecStdout, kExecStderr, kExecError, kExecStatus, kExecNotify };

struct ExecHeader {
  uint32_t magic = 0;
  uint32_t argc = 0;
  uint32_t envc = 0;
  uint32_t execc = 0;
  int32_t umask = 022;
  uint32_t terminal = 0;       // bit i: stdio i is a terminal to take as the controlling one
  uint32_t strings_bytes = 0;  // bytes after the header: argv, env, exec candidates, cwd (NUL-terminated)
  uint32_t reserved = 0;
};

struct ExecMessage {
  std::vector<std::string> argv, env, exec;
  std::string cwd;
  int umask = 022;
  uint32_t terminal = 0;
};

// Allocates (client and supervisor side).
std::string EncodeExec(uint32_t magic, const ExecMessage& m);

struct DecodedExec {
  char** argv = nullptr;  // NULL-terminated
  char** envp = nullptr;  // NULL-terminated
  char** exec = nullptr;
  size_t execc = 0;
  const char* cwd = "";
  int umask = 022;
  uint32_t terminal = 0;  // bits 0-2 only
};

// Validates msg[0, len) (magic, counts, lengths, argc >= 1, argv[0] not empty, umask, cwd absolute
// or empty) and points into it; ptrs has room for nptrs pointers. Allocation-free; false on anything
// malformed.
bool DecodeExecInPlace(uint32_t magic, char* msg, size_t len, char** ptrs, size_t nptrs, DecodedExec* out);

// The same for the supervisor: copies out into an ExecMessage; false when malformed.
bool DecodeExec(uint32_t magic, const std::string& msg, ExecMessage* out);

}  // namespace airlock
