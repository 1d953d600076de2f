// A user-space interpreter for seccomp classic-BPF programs, so tests and the notify supervisor can
// ask "what does this filter answer for (nr, arch, args)?" without installing it.
//
// Contract: pure function, no allocation on success, bounded (classic BPF only jumps forward, and
// every instruction is bounds-checked); malformed programs are errors, never crashes.
#pragma once

#include <linux/filter.h>
#include <linux/seccomp.h>

#include <cstdint>
#include <span>
#include <string>

#include "core/error.h"

namespace airlock {

struct BpfVerdict {
  uint32_t action = 0;     // full SECCOMP_RET_* value including data (e.g. ERRNO | EPERM)
  bool read_args = false;  // the path taken loaded an argument or the instruction pointer
};

Result<BpfVerdict> EvaluateBpf(std::span<const sock_filter> program, const seccomp_data& data);

// "ALLOW", "ERRNO(1)", "KILL_PROCESS", "USER_NOTIF", "TRAP(0)", ...
std::string SeccompActionName(uint32_t action);

}  // namespace airlock
