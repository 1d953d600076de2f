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
// The rule for `syscall`, or nullptr.
const ArgRule* FindArgRule(const std::string& syscall);

}  // namespace airlock
