// Messages between `airlock run`, the pool (`airlock pool`) and a warm sandbox (its init and its
// waiting payload). All travel over AF_UNIX SOCK_SEQPACKET sockets, so every message arrives whole or
// not at all.
//
//   client -> pool      kHello + the policy key (PoolKey or BuiltinFastKey), then at once, without
//                       waiting, the request: RequestHeader + argv, environment and exec candidates as
//                       NUL-terminated strings; fds (SCM_RIGHTS) stdin, stdout, stderr (the client's
//                       private terminal in place of each that is a terminal, marked in the header:
//                       the payload makes it its controlling terminal), error pipe, status pipe[, seccomp
//                       listener socket]
//   pool -> payload     the client's connection (SCM_RIGHTS), then the same to init; the pool reads
//                       only the hello, the payload reads the request itself
//   pool -> client      'Y' + JSON {layers, not_enforced, weakenings, pool_pid, age_ms}, or 'N' + why
//                       (then the request was read by nobody: the client runs cold); with limits, the
//                       JSON is followed by a NUL and the sandbox's CgroupShape text, and its
//                       directories' lease descriptors come along (SCM_RIGHTS, in shape order)
//   payload -> client   its seccomp listener; payload -> init: the status pipe
//   client -> init      SignalMessage for each forwarded signal, an `airlock exec` request (sandbox/exec_wire.h);
//                       closing the connection = the client died
//   init -> client      over the passed pipes, exactly as in a cold run (ChildErrorRecord, StatusRecord)
// The payload decodes the request without allocating (DecodeRequestInPlace) and trusts nothing in it:
// counts and lengths are checked against the message's real size.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace airlock::pool {

inline constexpr char kHello[] = "AIRLOCK-POOL-1\n";
inline constexpr uint32_t kRequestMagic = 0x31514c41;  // "ALQ1"
inline constexpr uint32_t kSignalMagic = 0x31534c41;   // "ALS1"
// Larger requests (huge environments or argument lists) run cold: a SOCK_SEQPACKET message must fit
// the socket buffer.
inline constexpr size_t kMaxRequestBytes = 160 * 1024;
inline constexpr size_t kMaxStrings = 16384;

enum RequestFd : int { kFdStdin = 0, kFdStdout, kFdStderr, kFdError, kFdStatus, kFdNotify, kMaxRequestFds };

struct RequestHeader {
  uint32_t magic = kRequestMagic;
  uint32_t argc = 0;
  uint32_t envc = 0;
  uint32_t execc = 0;
  int32_t umask = 022;
  uint32_t nfds = 0;          // kFdNotify + 1 when the seccomp listener socket is passed, else kFdNotify
  uint32_t strings_bytes = 0; // bytes after the header
  uint32_t terminal = 0;      // bit i: stdio i is the run's private terminal (tty/pty_relay.h StdioTerminalMask)
};

struct SignalMessage {
  uint32_t magic = kSignalMagic;
  int32_t signo = 0;
};

// Client side (allocates): header + strings.
std::string EncodeRequest(const std::vector<std::string>& argv, const std::vector<std::string>& env,
                          const std::vector<std::string>& exec, int umask, bool with_notify, uint32_t terminal = 0);

struct DecodedRequest {
  char** argv = nullptr;  // NULL-terminated
  char** envp = nullptr;  // NULL-terminated
  char** exec = nullptr;
  size_t execc = 0;
  int umask = 022;
  uint32_t nfds = 0;
  uint32_t terminal = 0;  // RequestHeader::terminal (bits 0-2 only)
};

// Sandbox side: validates msg[0, len) and points into it; ptrs has room for nptrs pointers.
// Allocation-free; returns false on any inconsistency.
bool DecodeRequestInPlace(char* msg, size_t len, char** ptrs, size_t nptrs, DecodedRequest* out);

}  // namespace airlock::pool
