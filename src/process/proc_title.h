// What /proc/PID/cmdline and /proc/PID/environ show of a process cloned from airlock without an
// execve (the sandbox's init): airlock's own argv and environment (host paths, --setenv values, the
// caller's variables). /proc/1/cmdline is readable by everyone in the sandbox, so init overwrites
// both areas of its (copied) memory, setproctitle-style.
//
// Contract: FindProcTitleArea runs in the parent before clone (no system call: the strings lie
// between argv[0] and the executable's name the kernel put above them, AT_EXECFN); the addresses stay
// valid in a fork-like child, which has a copy of the same memory. SetProcTitleInChild is
// allocation-free and must run only in such a child: it destroys the argv and environment strings of
// the process it runs in (nothing there may use them afterwards: getenv() finds nothing).
#pragma once

#include <cstddef>
#include <cstdint>

namespace airlock {

struct ProcTitleArea {
  uintptr_t start = 0, end = 0;  // [start, end): the argv strings, then the environment strings
};

// The area of the calling process (the kernel's layout of a new process's stack, as execve leaves
// it), or zeroes when it does not look like one (then nothing is overwritten).
ProcTitleArea FindProcTitleArea();

// Zeroes the area and writes `title` at its start (truncated to fit, always NUL-terminated):
// /proc/PID/cmdline then reads `title` followed by NUL bytes, /proc/PID/environ only NULs.
void SetProcTitleInChild(const ProcTitleArea& area, const char* title);

}  // namespace airlock
