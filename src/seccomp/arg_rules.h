// Argument rules of the default policy: the syscalls that are allowed only for some argument values
// (clone without CLONE_NEW*, safe personality values, socket families/types/protocols, socketpair
// only AF_UNIX, ioctl without TIOCSTI/TIOCLINUX, prctl without PR_SET_MM, mknod of non-devices).
//
// Each rule is data twice over: the ordered libseccomp rules that implement it, and a plain C++
// reference (`denied`) plus probe argument vectors. CompileSeccomp evaluates the compiled filter on
// every probe and refuses a filter that disagrees with the reference, so libseccomp's rule ordering
// is checked rather than trusted.
//
// Ordering contract with libseccomp 2.5 (one comparison per argument per rule, no "else"): the
// specific comparisons come first and a catch-all `arg >= 0` comparison on the same argument last;
// libseccomp emits them in that order, so the catch-all acts as the "else".
#pragma once

#include <seccomp.h>

#include <array>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace airlock {

using SyscallArgs = std::array<uint64_t, 6>;

struct ArgRuleStep {
  bool allow = false;  // true: the syscall's allow action; false: deny with EPERM
  std::vector<scmp_arg_cmp> conditions;
};

struct ArgRule {
  std::string syscall;
  std::string summary;  // one line for docs/--explain
  std::vector<ArgRuleStep> steps;
  std::function<bool(const SyscallArgs&)> denied;  // reference semantics
  std::vector<SyscallArgs> probes;                  // cover every branch, including high bits
  // Named group whose allow-back lifts this rule ("" = only naming the syscall itself lifts it).
  std::string lifted_by_group;
};

// The rules, stable order.
const std::vector<ArgRule>& DefaultArgRules();

// The setid guard (SeccompCompileOptions::setid_guard, for a sandbox with idmapped binds: what it
// creates there is owned by a host user it stands for, mount/mount_plan.h). No setuid or setgid bit
// can be set or created: the mode argument of each syscall below with S_ISUID or S_ISGID -> EPERM
// (for open/openat only when the flags create a file: O_CREAT or O_TMPFILE). mkdir/mkdirat are not
// here: the kernel keeps only the permission and sticky bits of a new directory's mode. Device nodes
// are the mknod rule's (and the kernel's: CAP_MKNOD of the initial namespace, nodev mounts).
struct SetidGuard {
  std::string syscall;
  unsigned mode_arg = 0;
  int flags_arg = -1;  // >= 0: open/openat, the mode counts only when these flags create a file
};
const std::vector<SetidGuard>& SetidGuards();
const SetidGuard* FindSetidGuard(const std::string& syscall);
// Reference semantics of a guard (the compiled filter is checked against it on its probes).
bool SetidGuardDenies(const SetidGuard& guard, const SyscallArgs& args);
// Probe argument vectors for a guard: every branch, with high bits and file-type bits.
std::vector<SyscallArgs> SetidGuardProbes(const SetidGuard& guard);
// With the guard, these syscalls are refused whatever their arguments: the extended-attribute
// setters (a security.capability set through an idmapped mount becomes a file capability of the host
// owner: EPERM) and openat2 (its mode is in a structure seccomp cannot read: ENOSYS, so libc and
// programs fall back to openat, where the guard sees it).
const std::vector<std::string>& SetidGuardRefused();
inline constexpr const char* kSetidGuardEnosys = "openat2";
// The kernel's __O_TMPFILE bit (glibc's __O_TMPFILE also carries O_DIRECTORY): a flag with it creates.
inline constexpr uint64_t kKernelTmpfileBit = 020000000;
// The rule for `syscall`, or nullptr.
const ArgRule* FindArgRule(const std::string& syscall);

}  // namespace airlock
