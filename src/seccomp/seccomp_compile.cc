// CompileSeccomp: resolves the policy into allowed/denied syscall sets, emits rules with libseccomp
// (binary tree), exports the BPF, prepends the x32 kill check, derives the installed and the verdict
// programs, and checks the argument rules against their reference on the verdict program.
#include <fcntl.h>
#include <seccomp.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <map>
#include <memory>

#include "core/unique_fd.h"
#include "seccomp/arg_rules.h"
#include "seccomp/bpf_eval.h"
#include "seccomp/seccomp.h"
#include "seccomp/seccomp_abi.h"

namespace airlock {
namespace {

// Marker action for monitored (notify_syscalls) calls while compiling; replaced after export.
constexpr uint32_t kNotifyMarker = SCMP_ACT_TRACE(0x4e4f);
// Marker for denials that are answered in the kernel even when counting: clone3 -> ENOSYS is
// libc's routine probe before falling back to clone (glibc tries it for every thread), not a signal.
constexpr uint32_t kUncountedEnosysMarker = SCMP_ACT_TRACE(0x4e53);

int NativeNr(const std::string& name) { return seccomp_syscall_resolve_name_arch(SCMP_ARCH_X86_64, name.c_str()); }

const SyscallGroup* FindGroup(const std::string& name) {
  for (const SyscallGroup& g : SyscallGroups())
    if (g.name == name) return &g;
  return nullptr;
}

// Every syscall number that some group names (built once).
const std::map<int, std::string>& GroupedSyscalls() {
  static const std::map<int, std::string> table = [] {
    std::map<int, std::string> t;
    for (const SyscallGroup& g : SyscallGroups())
      for (const std::string& s : g.syscalls)
        if (int nr = NativeNr(s); nr >= 0) t.emplace(nr, s);
    return t;
  }();
  return table;
}

struct CtxDeleter {
  void operator()(void* ctx) const { seccomp_release(ctx); }
};
using ScmpCtx = std::unique_ptr<void, CtxDeleter>;

Status AddRule(scmp_filter_ctx ctx, uint32_t action, int nr, const std::vector<scmp_arg_cmp>& conds,
               const std::string& name) {
  int rc = seccomp_rule_add_array(ctx, action, nr, static_cast<unsigned>(conds.size()), conds.data());
  if (rc != 0) return MakeError("libseccomp rule for " + name, -rc);
  return Ok();
}

// The x32 ABI shares AUDIT_ARCH_X86_64; its numbers carry bit 30. Kill those before anything else
// (numbers with bit 31 set, e.g. -1, are left to the main program, which answers ENOSYS).
std::vector<sock_filter> X32Prologue() {
  using namespace seccomp_abi;
  return {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, kOffsetArch),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, kAuditArchX86_64, 0, 4),
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, kOffsetNr),
      BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, kX32SyscallBit, 0, 2),
      BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, 0x80000000U, 1, 0),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
  };
}

// Replaces `ret K` actions: fn(old) -> new.
template <class Fn>
std::vector<sock_filter> PatchReturns(std::vector<sock_filter> insns, Fn fn) {
  for (sock_filter& in : insns)
    if (in.code == (BPF_RET | BPF_K)) in.k = fn(in.k);
  return insns;
}

Result<std::vector<sock_filter>> Export(scmp_filter_ctx ctx) {
  // seccomp_export_bpf_mem exists only from libseccomp 2.6; go through a memfd.
  int fd = memfd_create("airlock-seccomp", MFD_CLOEXEC);
  if (fd < 0) return ErrnoError("memfd_create");
  UniqueFd owner(fd);
  if (int rc = seccomp_export_bpf(ctx, fd); rc != 0) return MakeError("seccomp_export_bpf", -rc);
  off_t size = lseek(fd, 0, SEEK_END);
  if (size <= 0 || size % sizeof(sock_filter) != 0) return MakeError("seccomp_export_bpf: bad size");
  std::vector<sock_filter> insns(static_cast<size_t>(size) / sizeof(sock_filter));
  if (pread(fd, insns.data(), static_cast<size_t>(size), 0) != size) return ErrnoError("read exported bpf");
  return insns;
}

Status CheckArgRule(const ArgRule& rule, int nr, const std::vector<sock_filter>& verdict, uint32_t allow_action) {
  for (const SyscallArgs& args : rule.probes) {
    seccomp_data d{};
    d.nr = nr;
    d.arch = seccomp_abi::kAuditArchX86_64;
    for (int i = 0; i < 6; ++i) d.args[i] = args[i];
    auto v = EvaluateBpf(verdict, d);
    if (!v) return std::unexpected(v.error());
    uint32_t want = rule.denied(args) ? (SECCOMP_RET_ERRNO | EPERM) : allow_action;
    if (v->action != want)
      return MakeError("compiled filter disagrees with the argument rule for " + rule.syscall + " (args " +
                       std::to_string(args[0]) + ", " + std::to_string(args[1]) + ", " + std::to_string(args[2]) +
                       "): " + SeccompActionName(v->action) + " instead of " + SeccompActionName(want));
  }
  return Ok();
}

// The installed program must route exactly the calls with a masked bit set, whatever the other bits.
Status CheckNotifyFilter(const NotifyArgFilter& f, int nr, const std::vector<sock_filter>& insns) {
  std::vector<std::pair<uint64_t, bool>> probes = {{0, false}, {~f.mask, false}, {~f.mask & 0xffffffffULL, false},
                                                   {(1ULL << 32) & ~f.mask, false}};
  for (int bit = 0; bit < 64; ++bit) {
    const uint64_t b = 1ULL << bit;
    if (f.mask & b) {
      probes.emplace_back(b, true);
      probes.emplace_back(b | (~f.mask & 0xffffffff00000000ULL), true);
    }
  }
  for (const auto& [value, routed] : probes) {
    seccomp_data d{};
    d.nr = nr;
    d.arch = seccomp_abi::kAuditArchX86_64;
    d.args[f.arg] = value;
    auto v = EvaluateBpf(insns, d);
    if (!v) return std::unexpected(v.error());
    const uint32_t want = routed ? SECCOMP_RET_USER_NOTIF : SECCOMP_RET_ALLOW;
    if (v->action != want)
      return MakeError("compiled filter disagrees with the notify filter for " + f.syscall + " (arg " +
                       std::to_string(f.arg) + " = " + std::to_string(value) + "): " + SeccompActionName(v->action) +
                       " instead of " + SeccompActionName(want));
  }
  return Ok();
}

// What a guarded syscall must do (arg_rules.h SetidGuard) on both programs, given what it would do
// without the guard: its argument rule (mknod's devices), the monitor's notify filter or plain
// allow/route. With a notify filter, a creating open (O_CREAT is one of its bits, and O_TMPFILE
// here) is routed.
struct GuardContext {
  const SetidGuard* guard = nullptr;
  const ArgRule* rule = nullptr;             // active argument rule, or nullptr
  const NotifyArgFilter* filter = nullptr;   // the monitor's narrowing, or nullptr
  bool monitored = false;                    // in notify_nrs
  bool count = false;                        // denials routed for counting
};

Status CheckGuard(const GuardContext& c, int nr, const std::vector<sock_filter>& verdict, const std::vector<sock_filter>& insns) {
  std::vector<SyscallArgs> probes = SetidGuardProbes(*c.guard);
  if (c.rule) probes.insert(probes.end(), c.rule->probes.begin(), c.rule->probes.end());
  for (const SyscallArgs& args : probes) {
    const bool denied = SetidGuardDenies(*c.guard, args) || (c.rule && c.rule->denied(args));
    bool routed = c.monitored;
    if (c.filter) {
      routed = (args[c.filter->arg] & c.filter->mask) != 0 ||
               (c.guard->flags_arg >= 0 && (args[static_cast<size_t>(c.guard->flags_arg)] & (O_CREAT | kKernelTmpfileBit)) != 0);
    }
    const uint32_t want_verdict = denied ? (SECCOMP_RET_ERRNO | EPERM) : SECCOMP_RET_ALLOW;
    const uint32_t want_insns = denied ? (c.count ? SECCOMP_RET_USER_NOTIF : (SECCOMP_RET_ERRNO | EPERM))
                                       : (routed ? SECCOMP_RET_USER_NOTIF : SECCOMP_RET_ALLOW);
    for (const auto& [prog, want] : {std::pair{&verdict, want_verdict}, std::pair{&insns, want_insns}}) {
      seccomp_data d{};
      d.nr = nr;
      d.arch = seccomp_abi::kAuditArchX86_64;
      for (int i = 0; i < 6; ++i) d.args[i] = args[i];
      auto v = EvaluateBpf(*prog, d);
      if (!v) return std::unexpected(v.error());
      if (v->action != want)
        return MakeError("compiled filter disagrees with the setid guard for " + c.guard->syscall + " (args " +
                         std::to_string(args[0]) + ", " + std::to_string(args[1]) + ", " + std::to_string(args[2]) + ", " +
                         std::to_string(args[3]) + "): " + SeccompActionName(v->action) + " instead of " + SeccompActionName(want));
    }
  }
  return Ok();
}

scmp_arg_cmp GuardMasked(unsigned arg, uint64_t bit) { return scmp_arg_cmp{arg, SCMP_CMP_MASKED_EQ, bit, bit}; }
scmp_arg_cmp GuardAny(unsigned arg) { return scmp_arg_cmp{arg, SCMP_CMP_GE, 0, 0}; }

// The rules of a guarded syscall, in libseccomp's order (arg_rules.h): the guard's denials on its
// first argument (the flags of open/openat, else the mode), then what the syscall does otherwise,
// all starting with a comparison on that same argument so the catch-alls act as "else".
Status AddGuardedRules(scmp_filter_ctx ctx, const GuardContext& c, uint32_t allow, int nr, const std::string& name) {
  const SetidGuard& g = *c.guard;
  const unsigned first = g.flags_arg >= 0 ? static_cast<unsigned>(g.flags_arg) : g.mode_arg;
  if ((c.filter && c.filter->arg != first) || (c.rule && g.flags_arg >= 0))
    return MakeError("seccomp setid guard for '" + name + "': cannot combine with its other rules");
  const uint32_t deny = SCMP_ACT_ERRNO(EPERM);
  if (g.flags_arg < 0) {
    for (uint64_t bit : {uint64_t{S_ISUID}, uint64_t{S_ISGID}}) AIRLOCK_TRY_STATUS(AddRule(ctx, deny, nr, {GuardMasked(first, bit)}, name), "seccomp");
  } else {
    for (uint64_t creates : {uint64_t{O_CREAT}, kKernelTmpfileBit}) {
      for (uint64_t bit : {uint64_t{S_ISUID}, uint64_t{S_ISGID}})
        AIRLOCK_TRY_STATUS(AddRule(ctx, deny, nr, {GuardMasked(first, creates), GuardMasked(g.mode_arg, bit)}, name), "seccomp");
      AIRLOCK_TRY_STATUS(AddRule(ctx, allow, nr, {GuardMasked(first, creates), GuardAny(g.mode_arg)}, name), "seccomp");
    }
  }
  if (c.filter) {
    AIRLOCK_TRY_STATUS(AddRule(ctx, SCMP_ACT_ALLOW, nr, {scmp_arg_cmp{first, SCMP_CMP_MASKED_EQ, c.filter->mask, 0}}, name), "seccomp");
    return AddRule(ctx, allow, nr, {GuardAny(first)}, name);
  }
  if (c.rule) {
    for (const ArgRuleStep& step : c.rule->steps) AIRLOCK_TRY_STATUS(AddRule(ctx, step.allow ? allow : deny, nr, step.conditions, name), "seccomp");
    return Ok();
  }
  return AddRule(ctx, allow, nr, {GuardAny(first)}, name);
}

}  // namespace

Result<std::vector<std::string>> ResolveSyscallNames(const std::string& name) {
  if (!name.empty() && name[0] == '@') {
    const SyscallGroup* g = FindGroup(name);
    if (!g) return MakeError("unknown syscall group '" + name + "'");
    return g->syscalls;
  }
  if (NativeNr(name) < 0) return MakeError("unknown syscall '" + name + "'");
  return std::vector<std::string>{name};
}

int DenyErrno(int nr) {
  // clone3 answers ENOSYS so that libc falls back to clone(), where flags can be inspected.
  if (nr == NativeNr("clone3")) return ENOSYS;
  return GroupedSyscalls().contains(nr) ? EPERM : ENOSYS;
}

std::string SyscallName(int nr) {
  char* name = seccomp_syscall_resolve_num_arch(SCMP_ARCH_X86_64, nr);
  if (!name) return "";
  std::string out(name);
  std::free(name);
  return out;
}

Result<SeccompProgram> CompileSeccomp(const SeccompPolicy& policy, const SeccompCompileOptions& options) {
  if (seccomp_arch_native() != SCMP_ARCH_X86_64) return MakeError("seccomp: only x86_64 is supported");
  if (policy.base != "default") return MakeError("seccomp: unknown base allow-list '" + policy.base + "'");

  SeccompProgram program;
  std::set<std::string> lifted;  // syscalls whose argument rule is lifted
  for (const SyscallGroup& g : SyscallGroups())
    if (g.in_default) program.allowed.insert(g.syscalls.begin(), g.syscalls.end());

  for (const std::string& entry : policy.allow) {
    auto names = ResolveSyscallNames(entry);
    if (!names) return std::unexpected(std::move(names.error()).WithContext("seccomp allow"));
    bool changed = false;
    for (const std::string& n : *names) changed |= program.allowed.insert(n).second;
    if (entry[0] != '@' && FindArgRule(entry) && lifted.insert(entry).second) changed = true;
    for (const ArgRule& r : DefaultArgRules())
      if (r.lifted_by_group == entry && lifted.insert(r.syscall).second) changed = true;
    if (changed) program.allowed_back.push_back(entry);
  }
  for (const std::string& entry : policy.deny) {
    auto names = ResolveSyscallNames(entry);
    if (!names) return std::unexpected(std::move(names.error()).WithContext("seccomp deny"));
    bool changed = false;
    for (const std::string& n : *names) changed |= program.allowed.erase(n) > 0;
    if (changed) program.denied_extra.push_back(entry);
  }
  for (const std::string& n : options.notify_syscalls) {
    int nr = n.empty() || n[0] == '@' ? -1 : NativeNr(n);
    if (nr < 0) return MakeError("seccomp notify: unknown syscall '" + n + "'");
    program.notify_nrs.insert(nr);
  }

  ScmpCtx ctx(seccomp_init(SCMP_ACT_ERRNO(ENOSYS)));
  if (!ctx) return MakeError("seccomp_init failed");
  seccomp_attr_set(ctx.get(), SCMP_FLTATR_CTL_NNP, 0);  // the sandbox init sets no_new_privs itself
  if (int rc = seccomp_attr_set(ctx.get(), SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS); rc != 0)
    return MakeError("seccomp bad-arch action", -rc);
  if (int rc = seccomp_attr_set(ctx.get(), SCMP_FLTATR_CTL_OPTIMIZE, options.binary_tree ? 2 : 1); rc != 0)
    return MakeError("seccomp binary-tree optimisation", -rc);

  std::map<int, const NotifyArgFilter*> filters;
  for (const NotifyArgFilter& f : options.notify_filters) {
    int nr = NativeNr(f.syscall);
    if (nr < 0 || !program.notify_nrs.contains(nr) || f.arg > 5 || f.mask == 0 || FindArgRule(f.syscall))
      return MakeError("seccomp notify filter for '" + f.syscall +
                       "': needs a routed syscall without an argument rule, an argument 0-5 and a mask");
    filters[nr] = &f;
  }

  std::vector<std::pair<const ArgRule*, int>> active_rules;
  std::vector<std::pair<GuardContext, int>> guarded;
  const auto& refused = SetidGuardRefused();
  for (const auto& [nr, name] : GroupedSyscalls()) {
    const uint32_t allow = program.notify_nrs.contains(nr) ? kNotifyMarker : SCMP_ACT_ALLOW;
    if (options.setid_guard && program.allowed.contains(name)) {
      if (std::find(refused.begin(), refused.end(), name) != refused.end()) {
        const uint32_t action = name == kSetidGuardEnosys ? kUncountedEnosysMarker : SCMP_ACT_ERRNO(EPERM);
        AIRLOCK_TRY_STATUS(AddRule(ctx.get(), action, nr, {}, name), "seccomp");
        continue;
      }
      if (const SetidGuard* g = FindSetidGuard(name)) {
        GuardContext c{g, nullptr, nullptr, program.notify_nrs.contains(nr), policy.count_denials};
        if (auto f = filters.find(nr); f != filters.end()) c.filter = f->second;
        if (const ArgRule* rule = FindArgRule(name); rule && !lifted.contains(name)) c.rule = rule;
        AIRLOCK_TRY_STATUS(AddGuardedRules(ctx.get(), c, allow, nr, name), "seccomp");
        guarded.emplace_back(c, nr);
        continue;
      }
    }
    if (auto f = filters.find(nr); f != filters.end() && program.allowed.contains(name)) {
      // Masked bits clear: allowed in the kernel; any of them set: routed (the catch-all acts as "else",
      // see arg_rules.h for libseccomp's ordering).
      const NotifyArgFilter& nf = *f->second;
      AIRLOCK_TRY_STATUS(AddRule(ctx.get(), SCMP_ACT_ALLOW, nr, {scmp_arg_cmp{nf.arg, SCMP_CMP_MASKED_EQ, nf.mask, 0}}, name),
                         "seccomp");
      AIRLOCK_TRY_STATUS(AddRule(ctx.get(), allow, nr, {scmp_arg_cmp{nf.arg, SCMP_CMP_GE, 0, 0}}, name), "seccomp");
      continue;
    }
    if (!program.allowed.contains(name)) {
      const int err = DenyErrno(nr);
      if (name == "clone3") {
        AIRLOCK_TRY_STATUS(AddRule(ctx.get(), kUncountedEnosysMarker, nr, {}, name), "seccomp");
      } else if (err != ENOSYS) {
        AIRLOCK_TRY_STATUS(AddRule(ctx.get(), SCMP_ACT_ERRNO(err), nr, {}, name), "seccomp");
      }
      continue;
    }
    const ArgRule* rule = FindArgRule(name);
    if (!rule || lifted.contains(name)) {
      AIRLOCK_TRY_STATUS(AddRule(ctx.get(), allow, nr, {}, name), "seccomp");
      continue;
    }
    for (const ArgRuleStep& step : rule->steps)
      AIRLOCK_TRY_STATUS(AddRule(ctx.get(), step.allow ? allow : SCMP_ACT_ERRNO(EPERM), nr, step.conditions, name),
                         "seccomp");
    active_rules.emplace_back(rule, nr);
  }
  auto exported = Export(ctx.get());
  if (!exported) return std::unexpected(std::move(exported.error()).WithContext("seccomp"));

  std::vector<sock_filter> base = X32Prologue();
  base.insert(base.end(), exported->begin(), exported->end());
  if (base.size() > BPF_MAXINSNS) return MakeError("seccomp: program too long (" + std::to_string(base.size()) + ")");

  program.verdict_insns = PatchReturns(base, [](uint32_t k) {
    if (k == kNotifyMarker) return SECCOMP_RET_ALLOW;
    if (k == kUncountedEnosysMarker) return SECCOMP_RET_ERRNO | ENOSYS;
    return k;
  });
  const bool count = policy.count_denials;
  program.insns = PatchReturns(base, [count](uint32_t k) {
    if (k == kNotifyMarker) return SECCOMP_RET_USER_NOTIF;
    if (k == kUncountedEnosysMarker) return SECCOMP_RET_ERRNO | ENOSYS;
    if (count && (k & SECCOMP_RET_ACTION_FULL) == SECCOMP_RET_ERRNO) return SECCOMP_RET_USER_NOTIF;
    return k;
  });
  program.uses_user_notif = count || !program.notify_nrs.empty();

  for (const auto& [rule, nr] : active_rules)
    AIRLOCK_TRY_STATUS(CheckArgRule(*rule, nr, program.verdict_insns, SECCOMP_RET_ALLOW), "seccomp self-check");
  for (const auto& [nr, f] : filters) {
    const bool guarded_nr = std::any_of(guarded.begin(), guarded.end(), [nr](const auto& g) { return g.second == nr; });
    if (program.allowed.contains(SyscallName(nr)) && !guarded_nr)
      AIRLOCK_TRY_STATUS(CheckNotifyFilter(*f, nr, program.insns), "seccomp self-check");
  }
  for (const auto& [c, nr] : guarded) AIRLOCK_TRY_STATUS(CheckGuard(c, nr, program.verdict_insns, program.insns), "seccomp self-check");
  program.setid_guard = options.setid_guard;
  return program;
}

}  // namespace airlock
