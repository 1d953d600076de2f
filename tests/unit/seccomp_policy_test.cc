// seccomp: groups, policy deltas, and the compiled BPF evaluated in user space (no installation).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/netlink.h>
#include <linux/personality.h>
#include <netinet/in.h>
#include <linux/prctl.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <sys/syscall.h>

#include <cerrno>
#include <fstream>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "seccomp/arg_rules.h"
#include "seccomp/bpf_eval.h"
#include "seccomp/monitor_syscalls.h"
#include "seccomp/seccomp.h"
#include "seccomp/seccomp_abi.h"

namespace airlock {
namespace {

constexpr uint32_t kAllow = SECCOMP_RET_ALLOW;
constexpr uint32_t kEperm = SECCOMP_RET_ERRNO | EPERM;
constexpr uint32_t kEnosys = SECCOMP_RET_ERRNO | ENOSYS;

SeccompPolicy Plain() {
  SeccompPolicy p;
  p.count_denials = false;
  return p;
}

SeccompProgram MustCompile(const SeccompPolicy& p, const SeccompCompileOptions& o = {}) {
  auto r = CompileSeccomp(p, o);
  EXPECT_TRUE(r) << r.error().What();
  return r ? *r : SeccompProgram{};
}

BpfVerdict Eval(const std::vector<sock_filter>& prog, long nr, std::array<uint64_t, 6> args = {},
                uint32_t arch = seccomp_abi::kAuditArchX86_64) {
  seccomp_data d{};
  d.nr = static_cast<int>(nr);
  d.arch = arch;
  for (int i = 0; i < 6; ++i) d.args[i] = args[i];
  auto v = EvaluateBpf(prog, d);
  EXPECT_TRUE(v) << v.error().What();
  return v ? *v : BpfVerdict{};
}

uint32_t Act(const std::vector<sock_filter>& prog, long nr, std::array<uint64_t, 6> args = {}) {
  return Eval(prog, nr, args).action;
}

TEST(SeccompGroups, NamesAreUniqueAndResolve) {
  std::set<std::string> names;
  for (const SyscallGroup& g : SyscallGroups()) {
    EXPECT_EQ(g.name[0], '@') << g.name;
    EXPECT_TRUE(names.insert(g.name).second) << "duplicate group " << g.name;
    EXPECT_FALSE(g.description.empty()) << g.name;
    for (const std::string& s : g.syscalls) EXPECT_TRUE(ResolveSyscallNames(s)) << g.name << ": " << s;
  }
  for (const char* g : {"@mount", "@chroot", "@namespaces", "@keyring", "@bpf", "@perf", "@ptrace", "@debug",
                        "@handles", "@module", "@kexec", "@reboot", "@swap", "@clock-set", "@raw-io", "@io-uring",
                        "@userfaultfd", "@quota", "@acct", "@obsolete"}) {
    auto r = ResolveSyscallNames(g);
    ASSERT_TRUE(r) << g;
    EXPECT_FALSE(r->empty()) << g;
  }
}

TEST(SeccompGroups, EveryKnownSyscallHasAGroup) {
  std::set<std::string> grouped;
  for (const SyscallGroup& g : SyscallGroups()) grouped.insert(g.syscalls.begin(), g.syscalls.end());
  int known = 0;
  for (int nr = 0; nr < 1024; ++nr) {
    std::string name = SyscallName(nr);
    if (name.empty()) continue;
    ++known;
    EXPECT_TRUE(grouped.contains(name)) << name << " (" << nr << ") is in no group";
  }
  EXPECT_GT(known, 300);
}

TEST(SeccompGroups, DangerousGroupsAreOutsideTheDefault) {
  for (const SyscallGroup& g : SyscallGroups()) {
    if (g.name == "@mount" || g.name == "@namespaces" || g.name == "@ptrace" || g.name == "@bpf" ||
        g.name == "@io-uring" || g.name == "@keyring" || g.name == "@handles") {
      EXPECT_FALSE(g.in_default) << g.name;
    }
  }
}

TEST(SeccompNames, DenyErrnoAndNames) {
  EXPECT_EQ(SyscallName(SYS_read), "read");
  EXPECT_EQ(SyscallName(1000), "");
  EXPECT_EQ(DenyErrno(SYS_mount), EPERM);
  EXPECT_EQ(DenyErrno(SYS_ptrace), EPERM);
  EXPECT_EQ(DenyErrno(SYS_clone3), ENOSYS);
  EXPECT_EQ(DenyErrno(1000), ENOSYS);
}

TEST(SeccompCompile, UnknownNamesAreErrors) {
  for (auto mutate : std::vector<std::function<void(SeccompPolicy&)>>{
           [](SeccompPolicy& p) { p.allow = {"@nope"}; }, [](SeccompPolicy& p) { p.deny = {"not_a_syscall"}; },
           [](SeccompPolicy& p) { p.allow = {""}; }, [](SeccompPolicy& p) { p.base = "permissive"; }}) {
    SeccompPolicy p = Plain();
    mutate(p);
    EXPECT_FALSE(CompileSeccomp(p));
  }
  SeccompCompileOptions o;
  o.notify_syscalls = {"@ptrace"};
  EXPECT_FALSE(CompileSeccomp(Plain(), o));
  o.notify_syscalls = {"frobnicate"};
  auto r = CompileSeccomp(Plain(), o);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().What().find("frobnicate"), std::string::npos);
}

TEST(SeccompCompile, DefaultVerdicts) {
  SeccompProgram p = MustCompile(Plain());
  EXPECT_FALSE(p.uses_user_notif);
  EXPECT_EQ(p.insns.size(), p.verdict_insns.size());
  EXPECT_LE(p.insns.size(), size_t{BPF_MAXINSNS});
  const auto& f = p.insns;
  EXPECT_EQ(Act(f, SYS_read), kAllow);
  EXPECT_EQ(Act(f, SYS_execve), kAllow);
  for (long nr : {SYS_mount, SYS_umount2, SYS_fsopen, SYS_move_mount, SYS_open_tree, SYS_mount_setattr, SYS_chroot,
                  SYS_pivot_root, SYS_unshare, SYS_setns, SYS_keyctl, SYS_add_key, SYS_bpf, SYS_perf_event_open,
                  SYS_ptrace, SYS_process_vm_readv, SYS_kcmp, SYS_pidfd_getfd, SYS_open_by_handle_at,
                  SYS_init_module, SYS_finit_module, SYS_kexec_load, SYS_reboot, SYS_swapon, SYS_settimeofday,
                  SYS_clock_settime, SYS_adjtimex, SYS_iopl, SYS_ioperm, SYS_io_uring_setup, SYS_userfaultfd,
                  SYS_quotactl, SYS_acct, SYS_uselib, SYS_modify_ldt})
    EXPECT_EQ(Act(f, nr), kEperm) << SyscallName(static_cast<int>(nr));
  EXPECT_EQ(Act(f, 1000), kEnosys);
  EXPECT_EQ(Act(f, 0x3fffffff), kEnosys);
  EXPECT_EQ(Act(f, 0x7fffffff), SECCOMP_RET_KILL_PROCESS);
  EXPECT_EQ(Act(f, -1), kEnosys);
  EXPECT_EQ(Act(f, SYS_clone3), kEnosys);
  // Foreign ABIs.
  EXPECT_EQ(Act(f, 0x40000000 | SYS_getpid), SECCOMP_RET_KILL_PROCESS);
  EXPECT_EQ(Act(f, 0x40000000 | 1000), SECCOMP_RET_KILL_PROCESS);
  EXPECT_EQ(Eval(f, 20, {}, seccomp_abi::kAuditArchI386).action, SECCOMP_RET_KILL_PROCESS);
  EXPECT_EQ(Eval(f, SYS_read, {}, 0xdeadbeef).action, SECCOMP_RET_KILL_PROCESS);
}

TEST(SeccompCompile, VerdictErrnoMatchesDenyErrno) {
  SeccompProgram p = MustCompile(Plain());
  int denied = 0;
  for (int nr = 0; nr < 1024; ++nr) {
    uint32_t a = Act(p.verdict_insns, nr);
    if ((a & SECCOMP_RET_ACTION_FULL) != SECCOMP_RET_ERRNO) continue;
    ++denied;
    EXPECT_EQ(static_cast<int>(a & SECCOMP_RET_DATA), DenyErrno(nr)) << nr << " " << SyscallName(nr);
  }
  EXPECT_GT(denied, 600);  // ~80 known denied + the unknown numbers
}

TEST(SeccompCompile, ArgumentRules) {
  SeccompProgram p = MustCompile(Plain());
  const auto& f = p.insns;
  constexpr uint64_t kHigh = 1ULL << 32;
  EXPECT_EQ(Act(f, SYS_clone, {0x01200011}), kAllow);  // glibc fork()
  EXPECT_EQ(Act(f, SYS_clone, {0x003d0f00}), kAllow);  // pthread_create
  EXPECT_EQ(Act(f, SYS_clone, {CLONE_NEWUSER | SIGCHLD}), kEperm);
  EXPECT_EQ(Act(f, SYS_clone, {CLONE_NEWNET}), kEperm);
  EXPECT_EQ(Act(f, SYS_ioctl, {0, TIOCSTI}), kEperm);
  EXPECT_EQ(Act(f, SYS_ioctl, {0, TIOCSTI | kHigh}), kEperm);
  EXPECT_EQ(Act(f, SYS_ioctl, {0, TIOCLINUX | (0xabcULL << 40)}), kEperm);
  EXPECT_EQ(Act(f, SYS_ioctl, {0, TCGETS}), kAllow);
  EXPECT_EQ(Act(f, SYS_socket, {AF_INET, SOCK_STREAM}), kAllow);
  EXPECT_EQ(Act(f, SYS_socket, {AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC}), kAllow);
  EXPECT_EQ(Act(f, SYS_socket, {AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC}), kAllow);
  EXPECT_EQ(Act(f, SYS_socket, {AF_UNIX, SOCK_RAW}), kEperm);
  EXPECT_EQ(Act(f, SYS_socket, {AF_NETLINK, SOCK_RAW, NETLINK_ROUTE}), kAllow);
  EXPECT_EQ(Act(f, SYS_socket, {AF_NETLINK, SOCK_DGRAM, NETLINK_AUDIT}), kAllow);
  EXPECT_EQ(Act(f, SYS_socket, {AF_NETLINK, SOCK_RAW, NETLINK_NETFILTER}), kEperm);
  EXPECT_EQ(Act(f, SYS_socket, {AF_NETLINK, SOCK_RAW, NETLINK_GENERIC}), kEperm);
  // SOCK_PACKET (obsolete AF_INET packet sockets, logged by the host kernel), every type but stream
  // and datagram, and protocols other than TCP, UDP and ICMP echo.
  EXPECT_EQ(Act(f, SYS_socket, {AF_INET, SOCK_PACKET, 0x300}), kEperm);
  EXPECT_EQ(Act(f, SYS_socket, {AF_INET6, SOCK_PACKET | SOCK_CLOEXEC}), kEperm);
  for (uint64_t type : {SOCK_SEQPACKET, SOCK_RDM, SOCK_DCCP}) EXPECT_EQ(Act(f, SYS_socket, {AF_INET, type}), kEperm) << type;
  EXPECT_EQ(Act(f, SYS_socket, {AF_INET, SOCK_STREAM, IPPROTO_TCP}), kAllow);
  EXPECT_EQ(Act(f, SYS_socket, {AF_INET, SOCK_STREAM, IPPROTO_SCTP}), kEperm);
  EXPECT_EQ(Act(f, SYS_socket, {AF_INET6, SOCK_STREAM, IPPROTO_MPTCP}), kEperm);
  EXPECT_EQ(Act(f, SYS_socket, {AF_INET, SOCK_DGRAM, IPPROTO_ICMP}), kAllow);
  EXPECT_EQ(Act(f, SYS_socket, {AF_INET6, SOCK_DGRAM, IPPROTO_ICMPV6}), kAllow);
  EXPECT_EQ(Act(f, SYS_socket, {AF_INET, SOCK_DGRAM, IPPROTO_UDPLITE}), kEperm);
  EXPECT_EQ(Act(f, SYS_socket, {AF_INET, SOCK_STREAM, kHigh | IPPROTO_TCP}), kEperm);
  EXPECT_EQ(Act(f, SYS_socketpair, {AF_UNIX, SOCK_STREAM}), kAllow);
  EXPECT_EQ(Act(f, SYS_socketpair, {AF_INET, SOCK_PACKET}), kEperm);
  EXPECT_EQ(Act(f, SYS_socketpair, {AF_TIPC, SOCK_STREAM}), kEperm);
  EXPECT_EQ(Act(f, SYS_socket, {AF_INET, SOCK_RAW}), kEperm);
  EXPECT_EQ(Act(f, SYS_socket, {AF_INET6, SOCK_RAW | SOCK_NONBLOCK}), kEperm);
  for (uint64_t fam : {AF_PACKET, AF_ALG, AF_VSOCK, AF_BLUETOOTH, AF_KEY, AF_XDP})
    EXPECT_EQ(Act(f, SYS_socket, {fam, SOCK_STREAM}), kEperm) << fam;
  EXPECT_EQ(Act(f, SYS_socket, {kHigh | AF_INET, SOCK_STREAM}), kEperm);
  for (uint64_t v : {0x0ULL, 0x8ULL, 0x20000ULL, 0x20008ULL, 0xffffffffULL})
    EXPECT_EQ(Act(f, SYS_personality, {v}), kAllow) << v;
  EXPECT_EQ(Act(f, SYS_personality, {READ_IMPLIES_EXEC}), kEperm);
  EXPECT_EQ(Act(f, SYS_personality, {ADDR_NO_RANDOMIZE}), kEperm);
  EXPECT_EQ(Act(f, SYS_prctl, {PR_SET_MM}), kEperm);
  EXPECT_EQ(Act(f, SYS_prctl, {PR_SET_MM | kHigh}), kEperm);
  EXPECT_EQ(Act(f, SYS_prctl, {PR_SET_NAME}), kAllow);
  EXPECT_EQ(Act(f, SYS_mknod, {0, S_IFCHR | 0600}), kEperm);
  EXPECT_EQ(Act(f, SYS_mknodat, {0, 0, S_IFBLK | 0600}), kEperm);
  EXPECT_EQ(Act(f, SYS_mknod, {0, S_IFIFO | 0600}), kAllow);
  EXPECT_EQ(Act(f, SYS_mknodat, {0, 0, S_IFREG | 0600}), kAllow);
}

TEST(SeccompCompile, HotSyscallsAreNotArgumentChecked) {
  SeccompProgram p = MustCompile(SeccompPolicy{});
  for (long nr : {SYS_read, SYS_write, SYS_mmap, SYS_munmap, SYS_mprotect, SYS_futex, SYS_close, SYS_openat,
                  SYS_fstat, SYS_newfstatat, SYS_brk, SYS_rt_sigprocmask, SYS_rt_sigaction, SYS_getpid,
                  SYS_getppid, SYS_clock_gettime, SYS_lseek, SYS_pread64, SYS_epoll_wait, SYS_poll, SYS_sendto,
                  SYS_recvfrom, SYS_madvise, SYS_sched_yield}) {
    BpfVerdict a = Eval(p.insns, nr);
    EXPECT_EQ(a.action, kAllow) << SyscallName(static_cast<int>(nr));
    EXPECT_FALSE(a.read_args) << SyscallName(static_cast<int>(nr));
    EXPECT_EQ(Eval(p.insns, nr, {~0ULL, 12345, 1ULL << 40, 7, 8, 9}).action, kAllow);
  }
  EXPECT_TRUE(Eval(p.insns, SYS_ioctl, {0, TCGETS}).read_args);
}

TEST(SeccompCompile, CountDenialsRoutesDenialsToUserNotif) {
  SeccompPolicy pol;
  ASSERT_TRUE(pol.count_denials);
  SeccompProgram p = MustCompile(pol);
  EXPECT_TRUE(p.uses_user_notif);
  EXPECT_EQ(Act(p.insns, SYS_read), kAllow);
  EXPECT_EQ(Act(p.insns, SYS_mount), SECCOMP_RET_USER_NOTIF);
  EXPECT_EQ(Act(p.insns, 1000), SECCOMP_RET_USER_NOTIF);
  EXPECT_EQ(Act(p.insns, SYS_clone, {CLONE_NEWUSER}), SECCOMP_RET_USER_NOTIF);
  EXPECT_EQ(Act(p.insns, SYS_ioctl, {0, TIOCSTI | (1ULL << 32)}), SECCOMP_RET_USER_NOTIF);
  // Every refused socket reaches the supervisor (counted), whichever argument refuses it.
  for (std::array<uint64_t, 6> args : {std::array<uint64_t, 6>{AF_PACKET, SOCK_RAW}, {AF_INET, SOCK_PACKET},
                                       {AF_INET, SOCK_RAW}, {AF_INET, SOCK_STREAM, IPPROTO_SCTP}, {AF_ALG, SOCK_SEQPACKET}}) {
    EXPECT_EQ(Act(p.insns, SYS_socket, args), SECCOMP_RET_USER_NOTIF) << args[0] << " " << args[1];
    EXPECT_EQ(Act(p.verdict_insns, SYS_socket, args), kEperm) << args[0] << " " << args[1];
  }
  EXPECT_EQ(Act(p.insns, SYS_socketpair, {AF_INET, SOCK_PACKET}), SECCOMP_RET_USER_NOTIF);
  EXPECT_EQ(Act(p.insns, SYS_clone3), kEnosys);  // libc's fallback probe: not counted
  EXPECT_EQ(Act(p.insns, 0x40000000 | SYS_read), SECCOMP_RET_KILL_PROCESS);
  // The verdict program says what the supervisor must answer.
  EXPECT_EQ(Act(p.verdict_insns, SYS_mount), kEperm);
  EXPECT_EQ(Act(p.verdict_insns, 1000), kEnosys);
  EXPECT_EQ(Act(p.verdict_insns, SYS_clone3), kEnosys);
  EXPECT_EQ(Act(p.verdict_insns, SYS_clone, {CLONE_NEWUSER}), kEperm);
}

TEST(SeccompCompile, NotifySyscallsAreRoutedButAllowedInTheVerdict) {
  SeccompCompileOptions o;
  o.notify_syscalls = {"execve", "socket"};
  SeccompProgram p = MustCompile(Plain(), o);
  EXPECT_TRUE(p.uses_user_notif);
  EXPECT_EQ(Act(p.insns, SYS_execve), SECCOMP_RET_USER_NOTIF);
  EXPECT_EQ(Act(p.verdict_insns, SYS_execve), kAllow);
  EXPECT_EQ(Act(p.insns, SYS_socket, {AF_INET, SOCK_STREAM}), SECCOMP_RET_USER_NOTIF);
  EXPECT_EQ(Act(p.insns, SYS_socket, {AF_PACKET, SOCK_RAW}), kEperm);  // still denied, not counted
  EXPECT_EQ(Act(p.insns, SYS_read), kAllow);
  EXPECT_TRUE(p.notify_nrs.contains(SYS_execve));
}

TEST(SeccompCompile, AllowBackAndDenyDeltas) {
  SeccompPolicy pol = Plain();
  pol.allow = {"@ptrace", "read", "socket"};
  pol.deny = {"@io-event", "mount"};
  SeccompProgram p = MustCompile(pol);
  EXPECT_EQ(p.allowed_back, (std::vector<std::string>{"@ptrace", "socket"}));
  EXPECT_EQ(p.denied_extra, (std::vector<std::string>{"@io-event"}));  // mount was not allowed anyway
  EXPECT_TRUE(p.allowed.contains("ptrace"));
  EXPECT_FALSE(p.allowed.contains("epoll_wait"));
  EXPECT_EQ(Act(p.insns, SYS_ptrace), kAllow);
  EXPECT_EQ(Act(p.insns, SYS_process_vm_writev), kAllow);
  EXPECT_EQ(Act(p.insns, SYS_epoll_wait), kEperm);
  EXPECT_EQ(Act(p.insns, SYS_socket, {AF_PACKET, SOCK_RAW}), kAllow);  // naming socket lifts its rule
  EXPECT_EQ(Act(p.insns, SYS_mount), kEperm);
}

TEST(SeccompCompile, NamespacesGroupLiftsCloneRules) {
  SeccompPolicy pol = Plain();
  pol.allow = {"@namespaces"};
  SeccompProgram p = MustCompile(pol);
  EXPECT_EQ(p.allowed_back, std::vector<std::string>{"@namespaces"});
  EXPECT_EQ(Act(p.insns, SYS_clone, {CLONE_NEWUSER | SIGCHLD}), kAllow);
  EXPECT_EQ(Act(p.insns, SYS_clone3), kAllow);
  EXPECT_EQ(Act(p.insns, SYS_unshare, {CLONE_NEWUSER}), kAllow);
  EXPECT_EQ(Act(p.insns, SYS_mount), kEperm);
}

TEST(SeccompCompile, DenyWinsOverAllow) {
  SeccompPolicy pol = Plain();
  pol.allow = {"@ptrace"};
  pol.deny = {"ptrace"};
  SeccompProgram p = MustCompile(pol);
  EXPECT_EQ(Act(p.insns, SYS_ptrace), kEperm);
  EXPECT_EQ(Act(p.insns, SYS_process_vm_readv), kAllow);
}

TEST(SeccompExplain, ListsDeltasAndRules) {
  SeccompPolicy pol;
  pol.allow = {"@ptrace", "@namespaces"};
  pol.deny = {"@ipc"};
  SeccompProgram p = MustCompile(pol);
  std::string text = ExplainSeccomp(p, pol);
  EXPECT_NE(text.find("allowed back (weakens the default): @ptrace, @namespaces"), std::string::npos) << text;
  EXPECT_NE(text.find("denied on top of the default: @ipc"), std::string::npos) << text;
  EXPECT_NE(text.find("rule lifted: clone"), std::string::npos) << text;
  EXPECT_NE(text.find("rule: socket only AF_UNIX"), std::string::npos) << text;
  EXPECT_NE(text.find("denials counted"), std::string::npos) << text;
}

TEST(SeccompBpfEval, RejectsMalformedPrograms) {
  seccomp_data d{};
  std::vector<sock_filter> empty;
  EXPECT_FALSE(EvaluateBpf(empty, d));
  std::vector<sock_filter> bad_load = {BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 1000), BPF_STMT(BPF_RET | BPF_K, 0)};
  EXPECT_FALSE(EvaluateBpf(bad_load, d));
  std::vector<sock_filter> runs_off = {BPF_JUMP(BPF_JMP | BPF_JA, 5, 0, 0)};
  EXPECT_FALSE(EvaluateBpf(runs_off, d));
  std::vector<sock_filter> div0 = {BPF_STMT(BPF_ALU | BPF_DIV | BPF_K, 0), BPF_STMT(BPF_RET | BPF_K, 0)};
  EXPECT_FALSE(EvaluateBpf(div0, d));
  EXPECT_EQ(SeccompActionName(kEperm), "ERRNO(1)");
  EXPECT_EQ(SeccompActionName(SECCOMP_RET_KILL_PROCESS), "KILL_PROCESS");
}

TEST(SeccompBpfEval, RandomProgramsNeverCrashOrRunAway) {
  uint64_t state = 0x9e3779b97f4a7c15ULL;
  auto next = [&state] {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return state;
  };
  seccomp_data d{};
  d.nr = SYS_read;
  int finished = 0;
  for (int i = 0; i < 3000; ++i) {
    std::vector<sock_filter> prog(1 + next() % 40);
    for (sock_filter& in : prog) {
      in.code = static_cast<uint16_t>(next());
      in.jt = static_cast<uint8_t>(next() % 4);
      in.jf = static_cast<uint8_t>(next() % 4);
      in.k = next() % 3 == 0 ? static_cast<uint32_t>(next() % 64) : static_cast<uint32_t>(next());
    }
    auto v = EvaluateBpf(prog, d);
    if (v) ++finished;
    else EXPECT_FALSE(v.error().message().empty());
  }
  EXPECT_GT(finished, 0);  // some random programs do reach a return
}

// ---- Docker's default profile as a floor ----

struct DockerProfile {
  std::set<std::string> unconditional;                 // allowed for any arguments on amd64, no caps
  std::map<std::string, std::vector<nlohmann::json>> conditional;  // name -> arg lists that allow it
};

bool AppliesToUs(const nlohmann::json& entry) {
  auto has = [](const nlohmann::json& obj, const char* key, const char* value) {
    if (!obj.contains(key)) return false;
    for (const auto& v : obj[key])
      if (v == value) return true;
    return false;
  };
  if (entry.value("action", "") != "SCMP_ACT_ALLOW") return false;
  if (entry.contains("includes")) {
    const auto& inc = entry["includes"];
    if (inc.contains("caps") && !inc["caps"].empty()) return false;  // we drop all capabilities
    if (inc.contains("arches") && !has(inc, "arches", "amd64")) return false;
  }
  if (entry.contains("excludes")) {
    const auto& exc = entry["excludes"];
    if (has(exc, "arches", "amd64")) return false;
  }
  return true;
}

// Docker's default profile is reference data beside the checkout (../shared/reference, not in a
// clone): the comparison skips, naming it, when it is not there.
const char* const kDockerProfile = AIRLOCK_SOURCE_DIR "/../shared/reference/seccomp/docker-default.json";

DockerProfile LoadDocker() {
  DockerProfile d;
  std::ifstream in(kDockerProfile);
  if (!in.good()) return d;
  nlohmann::json j = nlohmann::json::parse(in);
  EXPECT_EQ(j["defaultAction"], "SCMP_ACT_ERRNO");
  for (const auto& entry : j["syscalls"]) {
    if (!AppliesToUs(entry)) continue;
    const bool has_args = entry.contains("args") && entry["args"].is_array() && !entry["args"].empty();
    for (const auto& n : entry["names"]) {
      if (has_args) d.conditional[n.get<std::string>()].push_back(entry["args"]);
      else d.unconditional.insert(n.get<std::string>());
    }
  }
  return d;
}

bool DockerArgsAllow(const nlohmann::json& args, const std::array<uint64_t, 6>& a) {
  for (const auto& c : args) {
    const uint64_t v = a[c["index"].get<unsigned>()];
    const uint64_t value = c["value"].get<uint64_t>();
    const std::string op = c["op"];
    bool ok = op == "SCMP_CMP_EQ"           ? v == value
              : op == "SCMP_CMP_LT"         ? v < value
              : op == "SCMP_CMP_GT"         ? v > value
              : op == "SCMP_CMP_NE"         ? v != value
              : op == "SCMP_CMP_MASKED_EQ"  ? (v & value) == c.value("valueTwo", uint64_t{0})
                                            : false;
    if (!ok) return false;
  }
  return true;
}

TEST(SeccompDocker, WeBlockEverythingDockerBlocks) {
  if (!std::ifstream(kDockerProfile).good()) GTEST_SKIP() << "Docker's seccomp profile not present: " << kDockerProfile;
  DockerProfile docker = LoadDocker();
  ASSERT_GT(docker.unconditional.size(), 300u);
  ASSERT_TRUE(docker.conditional.contains("socket"));
  ASSERT_TRUE(docker.conditional.contains("personality"));
  ASSERT_TRUE(docker.conditional.contains("clone"));
  SeccompProgram p = MustCompile(SeccompPolicy{});
  int checked = 0;
  for (int nr = 0; nr < 1024; ++nr) {
    const std::string name = SyscallName(nr);
    if (name.empty() || docker.unconditional.contains(name)) continue;
    if (docker.conditional.contains(name)) continue;  // checked argument by argument below
    ++checked;
    EXPECT_FALSE(p.allowed.contains(name)) << name << ": Docker denies it, airlock allows it";
    EXPECT_NE(Act(p.verdict_insns, nr) & SECCOMP_RET_ACTION_FULL, SECCOMP_RET_ALLOW) << name;
  }
  EXPECT_GT(checked, 30);
  // Conditional ones: wherever airlock allows, Docker must allow too.
  std::vector<std::array<uint64_t, 6>> probes;
  for (uint64_t fam = 0; fam < 48; ++fam)
    for (uint64_t type : {1, 2, 3, 5, 0x80003})
      probes.push_back({fam, type});
  for (uint64_t v : {0x0ULL, 0x8ULL, 0x20000ULL, 0x20008ULL, 0xffffffffULL, 0x400000ULL, 0x40000ULL, 1ULL, 0x10000ULL})
    probes.push_back({v});
  for (uint64_t flags : {0x01200011ULL, 0x003d0f00ULL, 0x10000011ULL, 0x20000ULL, 0x40000000ULL, 0x7E020000ULL})
    probes.push_back({flags});
  for (const auto& [name, arg_lists] : docker.conditional) {
    int nr = -1;
    for (int i = 0; i < 1024; ++i)
      if (SyscallName(i) == name) nr = i;
    if (nr < 0) continue;
    for (const auto& probe : probes) {
      if ((Act(p.verdict_insns, nr, probe) & SECCOMP_RET_ACTION_FULL) != SECCOMP_RET_ALLOW) continue;
      bool docker_allows = false;
      for (const auto& args : arg_lists) docker_allows |= DockerArgsAllow(args, probe);
      EXPECT_TRUE(docker_allows) << name << "(" << probe[0] << ", " << probe[1] << ") allowed by airlock only";
    }
  }
}

}  // namespace
}  // namespace airlock

namespace airlock {
namespace {

// The setid guard (idmapped binds, arg_rules.h): compiled (its self-check passes) with and without
// denial counting and the monitor's notify filters; setid modes refused, plain ones not, xattr
// setters EPERM, openat2 ENOSYS. Without the guard (the control) the same calls are allowed.
TEST(SeccompSetidGuard, RefusesSetidModesXattrsAndOpenat2) {
  for (bool count : {false, true}) {
    for (bool monitor : {false, true}) {
      SCOPED_TRACE(std::string(count ? "count" : "no count") + (monitor ? ", monitor" : ""));
      SeccompPolicy p = Plain();
      p.count_denials = count;
      SeccompCompileOptions o;
      if (monitor) {
        o.notify_syscalls = MonitoredSyscalls();
        o.notify_filters = MonitorNotifyFilters();
      }
      const SeccompProgram plain = MustCompile(p, o);
      o.setid_guard = true;
      const SeccompProgram guarded = MustCompile(p, o);
      const auto& v = guarded.verdict_insns;
      EXPECT_EQ(Act(v, SYS_chmod, {0, 04755}), kEperm);
      EXPECT_EQ(Act(plain.verdict_insns, SYS_chmod, {0, 04755}), kAllow) << "the control";
      EXPECT_EQ(Act(v, SYS_chmod, {0, 0755}), kAllow);
      EXPECT_EQ(Act(v, SYS_fchmodat, {0, 0, 02750}), kEperm);
      EXPECT_EQ(Act(v, SYS_openat, {0, 0, O_CREAT | O_WRONLY, 04755}), kEperm);
      EXPECT_EQ(Act(v, SYS_openat, {0, 0, O_RDONLY, 04755}), kAllow) << "no file created: the mode is ignored";
      EXPECT_EQ(Act(v, SYS_open, {0, O_TMPFILE | O_RDWR, 02755}), kEperm);
      EXPECT_EQ(Act(v, SYS_mknodat, {0, 0, S_IFREG | 04755}), kEperm);
      EXPECT_EQ(Act(v, SYS_mknodat, {0, 0, S_IFCHR | 0600}), kEperm);
      EXPECT_EQ(Act(v, SYS_mknodat, {0, 0, S_IFIFO | 0600}), kAllow);
      EXPECT_EQ(Act(v, SYS_fsetxattr, {}), kEperm);
      EXPECT_EQ(Act(v, SYS_openat2, {}), kEnosys);
      EXPECT_EQ(Act(guarded.insns, SYS_openat2, {}), kEnosys) << "answered in the kernel, never counted";
    }
  }
}

}  // namespace
}  // namespace airlock
