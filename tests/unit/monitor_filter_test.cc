// The monitor's notify filters, evaluated on the installed BPF program: read-only opens, plain mode
// changes and set-to-now timestamps stay in the kernel; writes, creates, exec/setuid/world-write modes
// and explicit timestamps reach the supervisor, whatever high bits the sandbox adds.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include "monitor/monitor.h"
#include "seccomp/bpf_eval.h"
#include "seccomp/seccomp.h"
#include "seccomp/seccomp_abi.h"

using namespace airlock;

namespace {

uint32_t Action(const SeccompProgram& p, int nr, std::array<uint64_t, 6> args) {
  seccomp_data d{};
  d.nr = nr;
  d.arch = seccomp_abi::kAuditArchX86_64;
  for (int i = 0; i < 6; ++i) d.args[i] = args[i];
  auto v = EvaluateBpf(p.insns, d);
  EXPECT_TRUE(v) << v.error().What();
  return v ? v->action : 0;
}

SeccompProgram Compile(bool filtered, bool count) {
  SeccompPolicy policy;
  policy.count_denials = count;
  SeccompCompileOptions o;
  o.notify_syscalls = MonitoredSyscalls();
  if (filtered) o.notify_filters = MonitorNotifyFilters();
  auto p = CompileSeccomp(policy, o);
  EXPECT_TRUE(p) << p.error().What();
  return p ? *p : SeccompProgram{};
}

constexpr uint32_t kNotif = SECCOMP_RET_USER_NOTIF;
constexpr uint32_t kAllow = SECCOMP_RET_ALLOW;
constexpr uint64_t kHigh = 0xffffffff00000000ULL;

}  // namespace

TEST(MonitorFilter, OnlyCallsThatMakeAnEventWorthHavingAreRouted) {
  for (bool count : {true, false}) {
    SeccompProgram p = Compile(true, count);
    const uint64_t path = 0x1000;
    EXPECT_EQ(Action(p, SYS_openat, {0, path, O_RDONLY | O_CLOEXEC, 0, 0, 0}), kAllow);
    EXPECT_EQ(Action(p, SYS_openat, {0, path, O_PATH | O_DIRECTORY, 0, 0, 0}), kAllow);
    EXPECT_EQ(Action(p, SYS_openat, {0, path, kHigh | O_RDONLY, 0, 0, 0}), kAllow);
    EXPECT_EQ(Action(p, SYS_openat, {0, path, O_WRONLY | O_CREAT | O_EXCL, 0600, 0, 0}), kNotif);
    EXPECT_EQ(Action(p, SYS_openat, {0, path, O_RDWR, 0, 0, 0}), kNotif);
    EXPECT_EQ(Action(p, SYS_openat, {0, path, O_TRUNC, 0, 0, 0}), kNotif);
    EXPECT_EQ(Action(p, SYS_openat, {0, path, kHigh | O_WRONLY, 0, 0, 0}), kNotif);
    EXPECT_EQ(Action(p, SYS_openat, {0, path, static_cast<uint64_t>(O_TMPFILE | O_WRONLY), 0600, 0, 0}), kNotif);
    EXPECT_EQ(Action(p, SYS_open, {path, O_RDONLY, 0, 0, 0, 0}), kAllow);
    EXPECT_EQ(Action(p, SYS_open, {path, O_CREAT | O_WRONLY, 0644, 0, 0, 0}), kNotif);
    EXPECT_EQ(Action(p, SYS_openat2, {0, path, 0x2000, 24, 0, 0}), kNotif);  // flags are behind a pointer
    EXPECT_EQ(Action(p, SYS_creat, {path, 0644, 0, 0, 0, 0}), kNotif);

    EXPECT_EQ(Action(p, SYS_fchmod, {3, 0644, 0, 0, 0, 0}), kAllow);
    EXPECT_EQ(Action(p, SYS_fchmod, {3, 0600 | kHigh, 0, 0, 0, 0}), kAllow);
    EXPECT_EQ(Action(p, SYS_fchmod, {3, 0755, 0, 0, 0, 0}), kNotif);
    EXPECT_EQ(Action(p, SYS_chmod, {path, 04644, 0, 0, 0, 0}), kNotif);
    EXPECT_EQ(Action(p, SYS_chmod, {path, 0646, 0, 0, 0, 0}), kNotif);  // world-writable
    EXPECT_EQ(Action(p, SYS_fchmodat, {0, path, 0640, 0, 0, 0}), kAllow);
    EXPECT_EQ(Action(p, SYS_fchmodat, {0, path, 02640, 0, 0, 0}), kNotif);

    EXPECT_EQ(Action(p, SYS_utimensat, {3, 0, 0, 0, 0, 0}), kAllow);  // set to now
    EXPECT_EQ(Action(p, SYS_utimensat, {3, 0, 0x2000, 0, 0, 0}), kNotif);
    EXPECT_EQ(Action(p, SYS_utimensat, {3, 0, 1ULL << 40, 0, 0, 0}), kNotif);

    // Unfiltered monitored calls are always routed; hot calls never are.
    EXPECT_EQ(Action(p, SYS_execve, {path, 0, 0, 0, 0, 0}), kNotif);
    EXPECT_EQ(Action(p, SYS_unlinkat, {0, path, 0, 0, 0, 0}), kNotif);
    EXPECT_EQ(Action(p, SYS_read, {0, path, 10, 0, 0, 0}), kAllow);
  }
}

TEST(MonitorFilter, WithoutFiltersEveryMonitoredCallIsRouted) {
  SeccompProgram p = Compile(false, true);
  EXPECT_EQ(Action(p, SYS_openat, {0, 0x1000, O_RDONLY, 0, 0, 0}), kNotif);
  EXPECT_EQ(Action(p, SYS_fchmod, {3, 0644, 0, 0, 0, 0}), kNotif);
  EXPECT_EQ(Action(p, SYS_utimensat, {3, 0, 0, 0, 0, 0}), kNotif);
}

TEST(MonitorFilter, RejectsFiltersTheCompilerCannotHonour) {
  SeccompCompileOptions o;
  o.notify_syscalls = {"openat", "prctl"};
  o.notify_filters = {{"prctl", 0, 0xff}};  // prctl has an argument rule of its own
  EXPECT_FALSE(CompileSeccomp(SeccompPolicy{}, o));
  o.notify_filters = {{"unlink", 0, 1}};  // not routed
  EXPECT_FALSE(CompileSeccomp(SeccompPolicy{}, o));
  o.notify_filters = {{"openat", 6, 1}};  // no such argument
  EXPECT_FALSE(CompileSeccomp(SeccompPolicy{}, o));
  o.notify_filters = {{"openat", 2, 0}};  // empty mask
  EXPECT_FALSE(CompileSeccomp(SeccompPolicy{}, o));
}
