// seccomp-bpf: named syscall groups, the default allow-list, compilation with libseccomp (in the
// parent, before clone) and installation (in the child, allocation-free, last step before execve).
//
// Contract:
//  - CompileSeccomp() runs in the parent. It resolves groups, applies the policy's allow/deny deltas,
//    and exports the BPF program (binary-tree optimised, architecture checked) into SeccompProgram.
//  - InstallSeccompInChild() only makes syscalls; it must not allocate (it runs after clone()).
//  - Unknown/new syscalls get ENOSYS; denied known ones get EPERM; foreign ABIs (x32, i386 on x86_64)
//    kill the process. When SeccompPolicy::count_denials is set, denied syscalls are instead routed to
//    SECCOMP_RET_USER_NOTIF so the supervisor can count them by name and answer with DenyErrno(nr).
//    Exception: clone3 -> ENOSYS stays in the kernel (libc probes it before every clone fallback).
#pragma once

#include <linux/filter.h>

#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "core/error.h"
#include "policy/policy.h"

namespace airlock {

struct SyscallGroup {
  std::string name;         // "@ptrace"
  std::string description;  // one line
  std::vector<std::string> syscalls;
  bool in_default = false;  // part of the default allow-list
};

// All named groups, stable order.
const std::vector<SyscallGroup>& SyscallGroups();

struct SeccompProgram {
  std::vector<sock_filter> insns;          // ready for SECCOMP_SET_MODE_FILTER
  bool uses_user_notif = false;            // install with SECCOMP_FILTER_FLAG_NEW_LISTENER
  std::set<std::string> allowed;           // effective allowed syscall names
  std::vector<std::string> allowed_back;   // groups/syscalls the policy allowed on top of the base
  std::vector<std::string> denied_extra;   // groups/syscalls the policy removed
  // The same rules with USER_NOTIF replaced by the verdict it stands for (ALLOW for monitored
  // syscalls, ERRNO(DenyErrno) for counted denials). The supervisor evaluates it on each
  // notification (EvaluateBpf in bpf_eval.h) to tell a denial from a monitored call; argument-checked
  // denials (clone with CLONE_NEWUSER, socket(AF_PACKET)...) are classified exactly this way.
  std::vector<sock_filter> verdict_insns;
  std::set<int> notify_nrs;                // syscall numbers from SeccompCompileOptions::notify_syscalls
  bool setid_guard = false;                // compiled with SeccompCompileOptions::setid_guard (not serialized)
};

// A routed (notify_syscalls) syscall that reaches the supervisor only when (args[arg] & mask) != 0;
// with those bits clear the kernel allows it without a notification. The comparison covers all 64
// bits of the argument, so bits the kernel ignores (int arguments) cannot hide set low bits.
// Only for syscalls without an argument rule of their own (arg_rules.h); others are errors.
struct NotifyArgFilter {
  std::string syscall;
  unsigned arg = 0;
  uint64_t mask = 0;
};

// Syscalls to route to the supervisor for behaviour monitoring (issue: monitor). May be empty.
// Names must be syscall names (not groups); unknown names are errors.
struct SeccompCompileOptions {
  std::vector<std::string> notify_syscalls;
  std::vector<NotifyArgFilter> notify_filters;  // narrow some notify_syscalls by an argument
  bool binary_tree = true;  // SCMP_FLTATR_CTL_OPTIMIZE=2; false (libseccomp's linear default) for benchmarks
  // The setid guard of arg_rules.h (a sandbox with idmapped binds): setuid/setgid modes -> EPERM on
  // chmod, fchmod, fchmodat, fchmodat2, creat, mknod, mknodat and creating open/openat; the xattr
  // setters -> EPERM; openat2 -> ENOSYS. Not liftable by the policy. Combines with the monitor's
  // notify filters (the guard's denials first); never precompiled.
  bool setid_guard = false;
};

Result<SeccompProgram> CompileSeccomp(const SeccompPolicy& policy, const SeccompCompileOptions& options = {});

// Resolves a group ("@ptrace") or syscall name to syscall names; error for unknown names.
Result<std::vector<std::string>> ResolveSyscallNames(const std::string& name);

// Child side: installs the program (requires no_new_privs already set). Returns the listener fd
// (>= 0) when program.uses_user_notif, 0 otherwise, or -errno on failure. Allocation-free.
// The listener is O_CLOEXEC: hand it to the supervisor (SCM_RIGHTS, or keep it when the supervisor
// runs in a process that shares the fd table) before execve. While a listener is open and nobody
// answers, a notifying syscall blocks; once every copy is closed it fails with ENOSYS. So either run
// RunNotifySupervisor (notify.h) on it or compile with count_denials = false.
int InstallSeccompInChild(const SeccompProgram& program);

// Multi-line summary for --explain / `airlock audit`: base, group deltas, argument rules, how
// denials are answered. Every line starts with "seccomp: ".
std::string ExplainSeccomp(const SeccompProgram& program, const SeccompPolicy& policy);

// errno the supervisor answers a denied syscall `nr` with (EPERM for known, ENOSYS for unknown).
int DenyErrno(int nr);
// Name of syscall nr on the native arch ("" if unknown).
std::string SyscallName(int nr);

}  // namespace airlock
