#include "seccomp/arg_rules.h"

#include <fcntl.h>
#include <linux/netlink.h>
#include <linux/prctl.h>
#include <netinet/in.h>
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

// socket(): the families, types and protocols ordinary programs use; everything else -> EPERM.
// The kernel reads family, type and protocol as ints; the filter compares all 64 bits, so a value
// with high bits set is denied (never allowed by accident). Type flags (SOCK_CLOEXEC, SOCK_NONBLOCK)
// are outside the 0xf type mask. libseccomp emits the rules in order (arg_rules.h): each family's
// type list ends with a catch-all deny on the type, each type's protocol list with one on the
// protocol, so a partial match falls to a deny, never to the next family.
struct SocketFamily {
  uint64_t family;
  std::vector<uint64_t> types;
  std::vector<uint64_t> protocols;  // empty: any protocol (the family itself checks it)
};

const std::vector<SocketFamily>& AllowedSockets() {
  static const std::vector<SocketFamily> kSockets = {
      {AF_UNIX, {SOCK_STREAM, SOCK_DGRAM, SOCK_SEQPACKET}, {}},
      // NETLINK_ROUTE (getifaddrs, ip), NETLINK_SOCK_DIAG (ss), NETLINK_AUDIT (libaudit: useradd and
      // friends abort when it is refused), NETLINK_KOBJECT_UEVENT (libudev monitors). Not
      // NETLINK_NETFILTER, NETLINK_XFRM, NETLINK_GENERIC and the rest.
      {AF_NETLINK, {SOCK_RAW, SOCK_DGRAM}, {NETLINK_ROUTE, NETLINK_SOCK_DIAG, NETLINK_AUDIT, NETLINK_KOBJECT_UEVENT}},
      // TCP and UDP, and ICMP echo sockets (SOCK_DGRAM, gated by net.ipv4.ping_group_range). Not
      // SOCK_RAW, SOCK_PACKET (obsolete, logged by the host kernel), SOCK_SEQPACKET/SOCK_RDM/SOCK_DCCP,
      // nor SCTP, MPTCP, UDP-Lite (protocol modules the kernel would load on demand).
      {AF_INET, {SOCK_STREAM}, {0, IPPROTO_TCP}},
      {AF_INET, {SOCK_DGRAM}, {0, IPPROTO_UDP, IPPROTO_ICMP}},
      {AF_INET6, {SOCK_STREAM}, {0, IPPROTO_TCP}},
      {AF_INET6, {SOCK_DGRAM}, {0, IPPROTO_UDP, IPPROTO_ICMPV6}},
  };
  return kSockets;
}

bool SocketAllowed(const SyscallArgs& a) {
  for (const SocketFamily& f : AllowedSockets()) {
    if (a[0] != f.family) continue;
    if (std::find(f.types.begin(), f.types.end(), a[1] & 0xf) == f.types.end()) continue;
    if (f.protocols.empty() || std::find(f.protocols.begin(), f.protocols.end(), a[2]) != f.protocols.end()) return true;
  }
  return false;
}

ArgRule SocketRule() {
  ArgRule r;
  r.syscall = "socket";
  r.summary = "socket only AF_UNIX (stream, dgram, seqpacket), AF_NETLINK (route, sock_diag, audit, uevent), "
              "AF_INET/AF_INET6 TCP, UDP and ICMP echo; everything else (AF_PACKET, SOCK_RAW, SOCK_PACKET, "
              "SCTP, AF_ALG, AF_VSOCK...) -> EPERM";
  // Rules per (family, type): specific protocols, then the protocol catch-all; then the family's
  // type catch-all; last the family catch-all.
  uint64_t last_family = ~0ULL;
  auto close_family = [&r](uint64_t family) { r.steps.push_back({false, {Eq(0, family), Catchall(1)}}); };
  for (const SocketFamily& f : AllowedSockets()) {
    if (f.family != last_family && last_family != ~0ULL) close_family(last_family);
    last_family = f.family;
    for (uint64_t type : f.types) {
      if (f.protocols.empty()) {
        r.steps.push_back({true, {Eq(0, f.family), MaskedEq(1, 0xf, type)}});
        continue;
      }
      for (uint64_t proto : f.protocols) r.steps.push_back({true, {Eq(0, f.family), MaskedEq(1, 0xf, type), Eq(2, proto)}});
      r.steps.push_back({false, {Eq(0, f.family), MaskedEq(1, 0xf, type), Catchall(2)}});
    }
  }
  close_family(last_family);
  r.steps.push_back({false, {Catchall(0)}});
  r.denied = [](const SyscallArgs& a) { return !SocketAllowed(a); };
  // Every branch: each allowed family, type and protocol, a denied one of each, flags and high bits.
  const std::initializer_list<uint64_t> families = {0, AF_UNIX, AF_INET, AF_INET6, AF_NETLINK, AF_PACKET, AF_VSOCK};
  const std::initializer_list<uint64_t> types = {SOCK_STREAM, SOCK_DGRAM, SOCK_RAW, SOCK_SEQPACKET, SOCK_PACKET,
                                                 SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, kHigh | SOCK_DGRAM};
  const std::initializer_list<uint64_t> protocols = {0,
                                                     IPPROTO_TCP,
                                                     IPPROTO_UDP,
                                                     IPPROTO_ICMP,
                                                     IPPROTO_ICMPV6,
                                                     IPPROTO_SCTP,
                                                     NETLINK_SOCK_DIAG,
                                                     NETLINK_AUDIT,
                                                     NETLINK_KOBJECT_UEVENT,
                                                     NETLINK_NETFILTER,
                                                     kHigh | IPPROTO_TCP};
  for (uint64_t fam : families)
    for (uint64_t type : types)
      for (uint64_t proto : protocols) r.probes.push_back(A(fam, type, proto));
  r.probes.push_back(A(kHigh | AF_INET, SOCK_STREAM));
  r.probes.push_back(A(kHigh | AF_UNIX, SOCK_STREAM));
  return r;
}

// socketpair(): only AF_UNIX pairs exist in practice; any other family would still create its socket
// (module autoload, the SOCK_PACKET log line) before failing.
ArgRule SocketpairRule() {
  ArgRule r;
  r.syscall = "socketpair";
  r.summary = "socketpair only AF_UNIX -> other families EPERM";
  r.steps = {{true, {Eq(0, AF_UNIX)}}, {false, {Catchall(0)}}};
  r.denied = [](const SyscallArgs& a) { return a[0] != AF_UNIX; };
  for (uint64_t fam : std::initializer_list<uint64_t>{0, 1, 2, 10, 16, 17, 30, kHigh | AF_UNIX})
    r.probes.push_back(A(fam, SOCK_STREAM));
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
  rules.push_back(SocketRule());
  rules.push_back(SocketpairRule());
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

const std::vector<SetidGuard>& SetidGuards() {
  static const std::vector<SetidGuard> guards = {
      {"chmod", 1},   {"fchmod", 1},    {"fchmodat", 2}, {"fchmodat2", 2}, {"creat", 1},
      {"mknod", 1},   {"mknodat", 2},   {"open", 2, 1},  {"openat", 3, 2},
  };
  return guards;
}

const SetidGuard* FindSetidGuard(const std::string& syscall) {
  for (const SetidGuard& g : SetidGuards())
    if (g.syscall == syscall) return &g;
  return nullptr;
}

bool SetidGuardDenies(const SetidGuard& g, const SyscallArgs& a) {
  if (g.flags_arg >= 0 && (a[static_cast<size_t>(g.flags_arg)] & (O_CREAT | kKernelTmpfileBit)) == 0) return false;
  return (a[g.mode_arg] & (S_ISUID | S_ISGID)) != 0;
}

std::vector<SyscallArgs> SetidGuardProbes(const SetidGuard& g) {
  const std::initializer_list<uint64_t> modes = {0,        0644,     0755,           01777,         04755,   02755,
                                                 06755,    04000,    02000,          S_IFREG | 04755, S_IFCHR | 0644,
                                                 S_IFCHR | 02644, S_IFBLK | 0600, S_IFIFO | 0644, kHigh | 04755,
                                                 kHigh | 0755, ~0ULL, 0xffff0000ULL | 0755};
  const std::initializer_list<uint64_t> flags = {0,
                                                 O_WRONLY,
                                                 O_RDWR | O_TRUNC,
                                                 O_CREAT,
                                                 O_CREAT | O_WRONLY | O_TRUNC,
                                                 O_CREAT | O_EXCL | O_CLOEXEC,
                                                 O_TMPFILE | O_RDWR,
                                                 kKernelTmpfileBit,
                                                 O_DIRECTORY | O_RDWR,
                                                 O_PATH,
                                                 O_DIRECTORY,
                                                 kHigh | O_CREAT,
                                                 kHigh};
  std::vector<SyscallArgs> out;
  for (uint64_t mode : modes) {
    if (g.flags_arg < 0) {
      SyscallArgs a{};
      a[g.mode_arg] = mode;
      out.push_back(a);
      continue;
    }
    for (uint64_t f : flags) {
      SyscallArgs a{};
      a[g.mode_arg] = mode;
      a[static_cast<size_t>(g.flags_arg)] = f;
      out.push_back(a);
    }
  }
  return out;
}

const std::vector<std::string>& SetidGuardRefused() {
  static const std::vector<std::string> refused = {"setxattr", "lsetxattr", "fsetxattr", kSetidGuardEnosys};
  return refused;
}

const ArgRule* FindArgRule(const std::string& syscall) {
  for (const ArgRule& r : DefaultArgRules())
    if (r.syscall == syscall) return &r;
  return nullptr;
}

}  // namespace airlock
