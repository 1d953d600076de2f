// Reporting setup failures from the sandbox child to the parent without allocating.
// The child writes one fixed-size ChildErrorRecord to the error pipe (O_CLOEXEC, so a successful
// execve closes it and the parent reads EOF) and exits with kChildSetupExit.
#pragma once

#include <cstdint>

namespace airlock {

inline constexpr int kChildSetupExit = 125;

struct ChildErrorRecord {
  int32_t err;          // errno, 0 if none
  char stage[64];       // "mount /usr", "seccomp", ...
  char detail[192];     // extra context (a path), may be empty
};

// Writes the record to fd (best effort). Allocation-free, async-signal-safe.
void ChildReportError(int fd, const char* stage, const char* detail, int err);
// ChildReportError then _exit(kChildSetupExit).
[[noreturn]] void ChildFail(int fd, const char* stage, const char* detail, int err);

}  // namespace airlock
