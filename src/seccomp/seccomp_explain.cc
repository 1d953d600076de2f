// ExplainSeccomp: the human-readable summary of a compiled program.
#include <algorithm>

#include "seccomp/arg_rules.h"
#include "seccomp/seccomp.h"

namespace airlock {
namespace {

std::string JoinComma(const std::vector<std::string>& v) {
  std::string out;
  for (const std::string& s : v) out += (out.empty() ? "" : ", ") + s;
  return out;
}

}  // namespace

std::string ExplainSeccomp(const SeccompProgram& program, const SeccompPolicy& policy) {
  std::string out = "seccomp: base '" + policy.base + "', " + std::to_string(program.allowed.size()) +
                    " syscalls allowed, " + std::to_string(program.insns.size()) + " BPF instructions\n";
  if (!program.allowed_back.empty()) out += "seccomp: allowed back (weakens the default): " + JoinComma(program.allowed_back) + "\n";
  if (!program.denied_extra.empty()) out += "seccomp: denied on top of the default: " + JoinComma(program.denied_extra) + "\n";
  auto named = [&program](const std::string& n) {
    return !n.empty() && std::find(program.allowed_back.begin(), program.allowed_back.end(), n) != program.allowed_back.end();
  };
  for (const ArgRule& r : DefaultArgRules()) {
    if (!program.allowed.contains(r.syscall)) continue;
    if (named(r.syscall) || named(r.lifted_by_group)) out += "seccomp: rule lifted: " + r.syscall + " (any arguments)\n";
    else out += "seccomp: rule: " + r.summary + "\n";
  }
  if (program.setid_guard) {
    out += "seccomp: setid guard (idmapped binds): setuid/setgid modes -> EPERM on chmod, fchmod, fchmodat, fchmodat2, "
           "creat, mknod, mknodat and creating open/openat; setxattr, lsetxattr, fsetxattr -> EPERM; openat2 -> ENOSYS\n";
  }
  out += "seccomp: unknown syscalls and clone3 -> ENOSYS; other denied syscalls -> EPERM; x32/i386 -> kill\n";
  if (policy.count_denials) out += "seccomp: denials counted by the supervisor (user notification)\n";
  if (!program.notify_nrs.empty()) {
    std::vector<std::string> names;
    for (int nr : program.notify_nrs) names.push_back(SyscallName(nr));
    out += "seccomp: monitored: " + JoinComma(names) + "\n";
  }
  return out;
}

}  // namespace airlock
