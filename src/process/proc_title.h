// What /proc/PID/cmdline and /proc/PID/environ show of a process cloned from airlock without an
// execve (the sandbox's init): airlock's own argv and environment (host paths, --setenv values, the
// caller's variables). /proc/1/cmdline is readable by everyone in the sandbox, so init overwrites
// both areas of its (copied) memory, setproctitle-style.
//
// Contract: FindProcTitleArea runs in the parent before clone (reads /proc/self/stat once); the
// addresses stay valid in a fork-like child, which has a copy of the same memory. SetProcTitleInChild
// is allocation-free and must run only in such a child: it destroys the argv and environment strings
// of the process it runs in (nothing there may use them afterwards: getenv() finds nothing).
#pragma once

#include <cstddef>
#include <cstdint>

namespace airlock {

struct ProcTitleArea {
  uintptr_t arg_start = 0, arg_end = 0;  // [start, end): the argv strings
  uintptr_t env_start = 0, env_end = 0;  // the environment strings
};

// The areas of the calling process, or zeroes when /proc/self/stat cannot be read (then nothing is
// overwritten).
ProcTitleArea FindProcTitleArea();

// Zeroes both areas and writes `title` at the start of the argv area (truncated to fit, always
// NUL-terminated): /proc/PID/cmdline then reads `title` followed by NUL bytes, environ reads NULs.
void SetProcTitleInChild(const ProcTitleArea& area, const char* title);

}  // namespace airlock
