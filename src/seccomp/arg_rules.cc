#include "seccomp/arg_rules.h"

#include <linux/prctl.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <algorithm>
#include <initializer_list>

#include "seccomp/seccomp_abi.h"

namespace airlock {
namespace {

constexpr uint64_t kLow32 = 0xffffffffULL;
constexpr uint64_t kHigh = 1ULL << 32;

scmp_arg_cmp Catchall(unsigned arg) { return scmp_arg_cmp{arg, SCMP_CMP_GE, 0, 0}; }
scmp_arg_cmp Eq(unsigned arg, uint64_t v) { return scmp_arg_cmp{arg, SCMP_CMP_EQ, v, 0}; }
scmp_arg_cmp MaskedEq(unsigned arg, uint64_t mask, uint64_t v) {
  return scmp_arg_cmp{arg, SCMP_CMP_MASKED_EQ, mask, v};
}

SyscallArgs A(uint64_t a0, uint64_t a1 = 0, uint64_t a2 = 0) { return {a0, a1, a2, 0, 0, 0}; }

// "deny these masked values of arg, allow the rest"
ArgRule DenyMasked(std::string syscall, std::string summary, unsigned arg, uint64_t mask,
                   std::vector<uint64_t> denied_values) {
  ArgRule r;
  r.syscall = std::move(syscall);
  r.summary = std::move(summary);
  for (uint64_t v : denied_values) r.steps.push_back({false, {MaskedEq(arg, mask, v)}});
  r.steps.push_back({true, {Catchall(arg)}});
  r.denied = [arg, mask, denied_values](const SyscallArgs& a) {
    return std::find(denied_values.begin(), denied_values.end(), a[arg] & mask) != denied_values.end();
  };
  for (uint64_t v : denied_values) {
    SyscallArgs p{};
    p[arg] = v;
    r.probes.push_back(p);
    p[arg] = v | kHigh | (~mask & 0xffff0000ULL);  // bits outside the mask must not hide the value
    r.probes.push_back(p);
  }
  SyscallArgs ok{};
  r.probes.push_back(ok);
  ok[arg] = ~0ULL;
  r.probes.push_back(ok);
  ok[arg] = 0x5401;  // TCGETS / an ordinary value
  r.probes.push_back(ok);
  return r;
}

std::vector<ArgRule> Build() {
  std::vector<ArgRule> rules;

  {  // clone: no namespace flags (they need @namespaces).
    ArgRule r;
    r.syscall = "clone";
    r.summary = "clone with any CLONE_NEW* flag -> EPERM (allowed back with @namespaces)";
    r.lifted_by_group = "@namespaces";
    const uint64_t ns = seccomp_abi::kCloneNamespaceFlags;
    r.steps = {{true, {MaskedEq(0, ns, 0)}}, {false, {Catchall(0)}}};
    r.denied = [ns](const SyscallArgs& a) { return (a[0] & ns) != 0; };
    r.probes = {A(0x01200011), A(0x003d0f00), A(0x10000000), A(0x20000), A(0x40000000 | 17), A(0x7E020000),
                A(kHigh | 0x11), A(0x80 | 17)};
    rules.push_back(std::move(r));
  }
  {  // personality: the values Docker allows.
    ArgRule r;
    r.syscall = "personality";
    r.summary = "personality only 0, PER_LINUX32 (0x8), UNAME26 (0x20000), 0x20008, 0xffffffff (query)";
    const std::vector<uint64_t> ok = {0x0, 0x8, 0x20000, 0x20008, 0xffffffff};
    for (uint64_t v : ok) r.steps.push_back({true, {Eq(0, v)}});
    r.steps.push_back({false, {Catchall(0)}});
    r.denied = [ok](const SyscallArgs& a) { return std::find(ok.begin(), ok.end(), a[0]) == ok.end(); };
    for (uint64_t v : ok) r.probes.push_back(A(v));
    for (uint64_t v : std::initializer_list<uint64_t>{0x0400000 /*READ_IMPLIES_EXEC*/, 0x0040000 /*ADDR_NO_RANDOMIZE*/, 0x1, kHigh | 0x8})
      r.probes.push_back(A(v));
    rules.push_back(std::move(r));
  }
  {  // socket: families and raw IP sockets.
    ArgRule r;
    r.syscall = "socket";
    r.summary = "socket only AF_UNIX, AF_NETLINK, AF_INET/AF_INET6 without SOCK_RAW; others (AF_PACKET, AF_ALG, "
                "AF_VSOCK...) -> EPERM";
    r.steps.push_back({true, {Eq(0, AF_UNIX)}});
    r.steps.push_back({true, {Eq(0, AF_NETLINK)}});
    for (int fam : {AF_INET, AF_INET6}) {
      r.steps.push_back({false, {Eq(0, fam), MaskedEq(1, 0xf, SOCK_RAW)}});
      r.steps.push_back({true, {Eq(0, fam), Catchall(1)}});
    }
    r.steps.push_back({false, {Catchall(0)}});
    r.denied = [](const SyscallArgs& a) {
      if (a[0] == AF_UNIX || a[0] == AF_NETLINK) return false;
      if (a[0] == AF_INET || a[0] == AF_INET6) return (a[1] & 0xf) == SOCK_RAW;
      return true;
    };
    for (int fam : {0, AF_UNIX, AF_INET, AF_INET6, AF_NETLINK, AF_PACKET, AF_ALG, AF_VSOCK, AF_BLUETOOTH, 45}) {
      for (int type : std::initializer_list<int>{SOCK_STREAM, SOCK_DGRAM, SOCK_RAW, SOCK_RAW | SOCK_CLOEXEC, SOCK_STREAM | SOCK_NONBLOCK})
        r.probes.push_back(A(static_cast<uint64_t>(fam), static_cast<uint64_t>(type)));
    }
    r.probes.push_back(A(kHigh | AF_INET, SOCK_STREAM));
    r.probes.push_back(A(AF_INET, kHigh | SOCK_RAW));
    rules.push_back(std::move(r));
  }
  rules.push_back(DenyMasked("ioctl", "ioctl TIOCSTI and TIOCLINUX -> EPERM (32-bit compare: high bits do not hide them)",
                             1, kLow32, {TIOCSTI, TIOCLINUX}));
  rules.push_back(DenyMasked("prctl", "prctl PR_SET_MM -> EPERM", 0, kLow32, {PR_SET_MM}));
  rules.push_back(DenyMasked("mknod", "mknod of character/block devices -> EPERM (FIFOs, sockets, files allowed)", 1,
                             S_IFMT, {S_IFCHR, S_IFBLK}));
  rules.push_back(DenyMasked("mknodat", "mknodat of character/block devices -> EPERM", 2, S_IFMT, {S_IFCHR, S_IFBLK}));
  return rules;
}

}  // namespace

const std::vector<ArgRule>& DefaultArgRules() {
  static const std::vector<ArgRule> rules = Build();
  return rules;
}

const ArgRule* FindArgRule(const std::string& syscall) {
  for (const ArgRule& r : DefaultArgRules())
    if (r.syscall == syscall) return &r;
  return nullptr;
}

}  // namespace airlock
