#include "net/netns_setup.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <linux/capability.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <sstream>

#include "net/helper_creds.h"
#include "net/net.h"
#include "net/nft_apply.h"

namespace airlock {
namespace {

struct HelperReply {
  int32_t ok = 0;
  uint16_t tcp = 0, udp = 0, dns = 0;
  uint64_t cap_eff = 0;      // the helper's effective capabilities while it worked
  int32_t no_new_privs = 0;
  char message[16384] = {};  // the error, or the output of NetnsJob::list
};

constexpr int kMaxFds = 3;  // tcp, udp, dns (sinkhole), or the resolver's

// RTM_NEWROUTE "local 0.0.0.0/0 dev lo table local": every IPv4 address is this host, so connect()
// to any address succeeds past routing and reaches the nat hook.
Status AddLocalDefaultRoute() {
  UniqueFd nl(::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE));
  if (!nl) return ErrnoError("netlink socket");
  struct {
    struct nlmsghdr nh;
    struct rtmsg rt;
    char attrs[64];
  } req {};
  req.nh.nlmsg_len = NLMSG_LENGTH(sizeof(struct rtmsg));
  req.nh.nlmsg_type = RTM_NEWROUTE;
  req.nh.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL;
  req.nh.nlmsg_seq = 1;
  req.rt.rtm_family = AF_INET;
  req.rt.rtm_dst_len = 0;
  req.rt.rtm_table = RT_TABLE_LOCAL;
  req.rt.rtm_protocol = RTPROT_BOOT;
  req.rt.rtm_scope = RT_SCOPE_HOST;
  req.rt.rtm_type = RTN_LOCAL;
  unsigned lo = ::if_nametoindex("lo");
  if (lo == 0) return ErrnoError("if_nametoindex lo");
  auto* rta = reinterpret_cast<struct rtattr*>(reinterpret_cast<char*>(&req) + NLMSG_ALIGN(req.nh.nlmsg_len));
  rta->rta_type = RTA_OIF;
  rta->rta_len = RTA_LENGTH(sizeof(uint32_t));
  uint32_t oif = lo;
  memcpy(RTA_DATA(rta), &oif, sizeof oif);
  req.nh.nlmsg_len = NLMSG_ALIGN(req.nh.nlmsg_len) + RTA_ALIGN(rta->rta_len);
  if (::send(nl.get(), &req, req.nh.nlmsg_len, 0) < 0) return ErrnoError("netlink send RTM_NEWROUTE");
  char buf[512];
  ssize_t n = ::recv(nl.get(), buf, sizeof buf, 0);
  if (n < 0) return ErrnoError("netlink recv");
  auto* h = reinterpret_cast<struct nlmsghdr*>(buf);
  if (NLMSG_OK(h, static_cast<unsigned>(n)) && h->nlmsg_type == NLMSG_ERROR) {
    auto* e = static_cast<struct nlmsgerr*>(NLMSG_DATA(h));
    if (e->error != 0) return MakeError("route local 0.0.0.0/0 dev lo", -e->error);
  }
  return Ok();
}

Result<UniqueFd> BoundSocket(int type, uint16_t* port, uint16_t want_port = 0) {
  UniqueFd s(::socket(AF_INET, type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!s) return ErrnoError("socket");
  int one = 1;
  ::setsockopt(s.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in a {};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(want_port);
  if (::bind(s.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) return ErrnoError("bind 127.0.0.1");
  if (type == SOCK_STREAM && ::listen(s.get(), 128) != 0) return ErrnoError("listen");
  socklen_t len = sizeof a;
  if (::getsockname(s.get(), reinterpret_cast<sockaddr*>(&a), &len) != 0) return ErrnoError("getsockname");
  *port = ntohs(a.sin_port);
  return s;
}

// The helper's sockets and ruleset inside the namespace (after it joined it). Fills reply and fds.
Status ConfigureInHelper(const NetnsJob& job, HelperReply& reply, int (&fds)[kMaxFds], int& nfds) {
  if (int rc = BringUpLoopbackInChild(); rc != 0) return MakeError("bring up lo", -rc);
  std::string ruleset;
  if (job.sinkhole) {
    if (Status st = AddLocalDefaultRoute(); !st) return st;
    auto tcp = BoundSocket(SOCK_STREAM, &reply.tcp);
    if (!tcp) return std::unexpected(tcp.error());
    auto udp = BoundSocket(SOCK_DGRAM, &reply.udp);
    if (!udp) return std::unexpected(udp.error());
    auto dns = BoundSocket(SOCK_DGRAM, &reply.dns);
    if (!dns) return std::unexpected(dns.error());
    fds[0] = tcp->release();
    fds[1] = udp->release();
    fds[2] = dns->release();
    nfds = 3;
    ruleset = SinkholeRuleset({reply.tcp, reply.udp, reply.dns});
  }
  if (job.resolver) {
    uint16_t port = 0;
    auto res = BoundSocket(SOCK_DGRAM, &port, 53);
    if (!res) return std::unexpected(std::move(res.error()).WithContext("the resolver's socket (127.0.0.1:53)"));
    fds[0] = res->release();  // never with the sinkhole's: the parent knows which one it asked for
    nfds = 1;
  }
  ruleset += job.ruleset;
  if (!ruleset.empty()) return ApplyNftRuleset(ruleset);
  return Ok();
}

// Runs in the forked helper: never returns. Takes the sandbox's credentials first
// (net/helper_creds.h), joins the network namespace, then keeps only what configuring needs.
[[noreturn]] void HelperMain(int reply_sock, int userns, int netns, const NetnsJob& job, const HelperIdentity& who) {
  HelperReply reply;
  int fds[kMaxFds] = {-1, -1, -1};
  int nfds = 0;
  auto finish = [&](const Status& st) {
    if (!st) snprintf(reply.message, sizeof reply.message, "%s", st.error().What().c_str());
    reply.ok = st ? 1 : 0;
    reply.cap_eff = EffectiveCapsOfSelf();
    reply.no_new_privs = ::prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0);
    struct iovec iov = {&reply, sizeof reply};
    alignas(struct cmsghdr) char cbuf[CMSG_SPACE(sizeof fds)] = {};
    struct msghdr msg {};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    if (st && nfds > 0) {
      msg.msg_control = cbuf;
      msg.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
      struct cmsghdr* c = CMSG_FIRSTHDR(&msg);
      c->cmsg_level = SOL_SOCKET;
      c->cmsg_type = SCM_RIGHTS;
      c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
      memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
    }
    ssize_t r = ::sendmsg(reply_sock, &msg, MSG_NOSIGNAL);
    _exit(r == static_cast<ssize_t>(sizeof reply) && st ? 0 : 1);
  };
  const char* step = "";
  uint64_t join = CapBit(CAP_SYS_ADMIN) | CapBit(CAP_NET_ADMIN) | CapBit(CAP_NET_BIND_SERVICE) | CapBit(CAP_SETPCAP);
  if (int rc = BecomeSandboxUserInHelper(userns, who.inside_uid, who.inside_gid, join, &step); rc != 0) finish(MakeError(step, -rc));
  if (::setns(netns, CLONE_NEWNET) != 0) finish(ErrnoError("setns network namespace"));
  if (int rc = KeepOnlyCapsInHelper(CapBit(CAP_NET_ADMIN) | CapBit(CAP_NET_BIND_SERVICE)); rc != 0) finish(MakeError("capset", -rc));
  if (!job.list.empty()) {
    auto out = RunNftCommand(job.list);
    if (!out) finish(std::unexpected(out.error()));
    snprintf(reply.message, sizeof reply.message, "%s", out->c_str());
    finish(Ok());
  }
  finish(ConfigureInHelper(job, reply, fds, nfds));
  _exit(1);  // not reached: finish() exits
}

// Forks the helper into the namespaces behind userns/netns; fills reply and the passed fds.
Status RunHelper(int userns, int netns, const NetnsJob& job, const HelperIdentity& who, HelperReply& reply, int (&fds)[kMaxFds]) {
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) return ErrnoError("socketpair");
  UniqueFd mine(sv[0]), theirs(sv[1]);
  pid_t pid = ::fork();
  if (pid < 0) return ErrnoError("fork the network helper");
  if (pid == 0) {
    ::close(mine.release());
    ::signal(SIGPIPE, SIG_DFL);
    HelperMain(theirs.get(), userns, netns, job, who);
  }
  theirs.reset();
  struct iovec iov = {&reply, sizeof reply};
  alignas(struct cmsghdr) char cbuf[CMSG_SPACE(sizeof fds)] = {};
  struct msghdr msg {};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = cbuf;
  msg.msg_controllen = sizeof cbuf;
  struct pollfd p = {mine.get(), POLLIN, 0};
  int n = ::poll(&p, 1, 10000);
  ssize_t got = n > 0 ? ::recvmsg(mine.get(), &msg, MSG_CMSG_CLOEXEC) : -1;
  int status = 0;
  if (got <= 0) ::kill(pid, SIGKILL);
  ::waitpid(pid, &status, 0);
  if (got != static_cast<ssize_t>(sizeof reply)) {
    return MakeError(n == 0 ? "the network helper did not finish within 10 s" : "the network helper died without an answer");
  }
  reply.message[sizeof reply.message - 1] = '\0';
  for (struct cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
      size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
      memcpy(fds, CMSG_DATA(c), sizeof(int) * std::min<size_t>(count, kMaxFds));
    }
  }
  if (!reply.ok) {
    for (int fd : fds)
      if (fd >= 0) ::close(fd);
    return MakeError(reply.message);
  }
  return Ok();
}

}  // namespace

Result<NetnsSetup> ConfigureNetnsFromParent(pid_t child, const NetnsJob& job, const HelperIdentity& who) {
  NetnsSetup out;
  out.who = who;
  out.userns.reset(::open(fmt::format("/proc/{}/ns/user", child).c_str(), O_RDONLY | O_CLOEXEC));
  if (!out.userns) return ErrnoError("open the sandbox's user namespace");
  out.netns.reset(::open(fmt::format("/proc/{}/ns/net", child).c_str(), O_RDONLY | O_CLOEXEC));
  if (!out.netns) return ErrnoError("open the sandbox's network namespace");
  HelperReply reply;
  int fds[kMaxFds] = {-1, -1, -1};
  Status st = RunHelper(out.userns.get(), out.netns.get(), job, who, reply, fds);
  if (!st) return std::unexpected(st.error());
  if (job.resolver) {
    out.resolver.reset(fds[0]);
  } else {
    out.tcp.reset(fds[0]);
    out.udp.reset(fds[1]);
    out.dns.reset(fds[2]);
  }
  if (job.sinkhole && (!out.tcp || !out.udp || !out.dns)) return MakeError("the network helper sent no sinkhole sockets");
  if (job.resolver && !out.resolver) return MakeError("the network helper sent no resolver socket");
  out.ports = {reply.tcp, reply.udp, reply.dns};
  out.helper.name = "netns-setup";
  out.helper.uid = who.outside_uid;
  out.helper.no_new_privs = reply.no_new_privs == 1;
  out.helper.capabilities = CapNames(reply.cap_eff);
  out.helper.sandboxed = false;  // short-lived, runs no untrusted input; exits before the payload starts
  out.helper.detail = "joins the sandbox's user and network namespaces as the sandbox's user, exits after setup";
  return out;
}

bool NeedsNetnsSetup(const NetPolicy& net) { return net.mode == NetMode::kSinkhole || net.mode == NetMode::kUser; }

std::vector<std::string> HostInterfaceAddresses() {
  std::vector<std::string> out;
  struct ifaddrs* ifa = nullptr;
  if (::getifaddrs(&ifa) != 0) return out;
  for (auto* i = ifa; i != nullptr; i = i->ifa_next) {
    if (i->ifa_addr == nullptr || (i->ifa_flags & IFF_LOOPBACK)) continue;
    char buf[INET6_ADDRSTRLEN] = {};
    if (i->ifa_addr->sa_family == AF_INET) {
      auto* a = reinterpret_cast<sockaddr_in*>(i->ifa_addr);
      if ((ntohl(a->sin_addr.s_addr) >> 24) == 127) continue;
      inet_ntop(AF_INET, &a->sin_addr, buf, sizeof buf);
    } else if (i->ifa_addr->sa_family == AF_INET6) {
      auto* a = reinterpret_cast<sockaddr_in6*>(i->ifa_addr);
      if (IN6_IS_ADDR_LOOPBACK(&a->sin6_addr)) continue;
      inet_ntop(AF_INET6, &a->sin6_addr, buf, sizeof buf);
    } else {
      continue;
    }
    if (std::find(out.begin(), out.end(), buf) == out.end()) out.push_back(buf);
  }
  ::freeifaddrs(ifa);
  return out;
}

namespace {

// --net user: the host's addresses are refused; with an allow-list, the filter and the resolver.
Status PlanUserNetJob(const NetPolicy& net, NetnsJob* job, AllowedNames* names, nlohmann::json* summary) {
  std::vector<std::string> host = HostInterfaceAddresses();
  if (net.allow.empty()) {
    job->ruleset = HostBlockRuleset(host);
    (*summary)["host_addresses_refused"] = host;
    (*summary)["dns"] = {{"resolver", "the user-mode stack's forwarder (the host's resolvers)"}};
    return Ok();
  }
  auto allow = ResolveAllowList(net.allow);
  if (!allow) return std::unexpected(std::move(allow.error()).WithContext("--net-allow"));
  job->ruleset = AllowRuleset(*allow, host);
  job->resolver = true;
  nlohmann::json list = nlohmann::json::array();
  for (const auto& d : *allow) {
    list.push_back({{"entry", d.entry}, {"address", d.addr}, {"port", d.port}});
    if (d.name.empty()) continue;
    auto& addrs = (*names)[d.name];
    if (std::find(addrs.begin(), addrs.end(), d.addr) == addrs.end()) addrs.push_back(d.addr);
  }
  std::vector<std::string> refused;
  for (const auto& h : host) {
    if (std::none_of(allow->begin(), allow->end(), [&](const AllowDest& d) { return d.addr == h; })) refused.push_back(h);
  }
  (*summary)["allow"] = list;
  (*summary)["host_addresses_refused"] = refused;
  return Ok();
}

}  // namespace

Result<NetnsSetup> SetUpNetworkFromParent(pid_t child, const NetPolicy& net, const HelperIdentity& who,
                                          nlohmann::json* summary) {
  NetnsJob job;
  AllowedNames names;
  *summary = {{"mode", NetModeName(net.mode)}};
  if (net.mode == NetMode::kSinkhole) {
    job.sinkhole = true;
  } else if (net.mode == NetMode::kUser) {
    if (Status st = PlanUserNetJob(net, &job, &names, summary); !st) return std::unexpected(st.error());
  }
  auto setup = ConfigureNetnsFromParent(child, job, who);
  if (!setup) {
    const char* what = net.mode == NetMode::kSinkhole ? "network sinkhole" : net.allow.empty() ? "network host filter" : "network allow-list";
    return std::unexpected(std::move(setup.error()).WithContext(what));
  }
  setup->resolver_names = std::move(names);
  return setup;
}

Result<nlohmann::json> ReadAllowCountersFromParent(const NetnsSetup& setup) {
  if (!setup.userns || !setup.netns) return MakeError("no network namespace kept");
  NetnsJob job;
  job.list = "list table inet airlock_filter";
  HelperReply reply;
  int fds[kMaxFds] = {-1, -1, -1};
  Status st = RunHelper(setup.userns.get(), setup.netns.get(), job, setup.who, reply, fds);
  if (!st) return std::unexpected(std::move(st.error()).WithContext("reading the allow-list counters"));
  return ParseNftCounters(reply.message);
}

nlohmann::json ParseNftCounters(const std::string& listing) {
  nlohmann::json rules = nlohmann::json::array();
  uint64_t allowed = 0, refused = 0;
  std::istringstream in(listing);
  for (std::string line; std::getline(in, line);) {
    size_t c = line.find("counter packets ");
    if (c == std::string::npos) continue;
    uint64_t packets = std::strtoull(line.c_str() + c + 16, nullptr, 10);
    size_t start = line.find_first_not_of(" \t");
    std::string rule = line.substr(start, c - start);
    while (!rule.empty() && rule.back() == ' ') rule.pop_back();
    bool accept = line.find(" accept", c) != std::string::npos;
    (accept ? allowed : refused) += packets;
    rules.push_back({{"rule", rule.empty() ? std::string(accept ? "accept" : "reject") : rule},
                     {"action", accept ? "accept" : "reject"}, {"packets", packets}});
  }
  return {{"allowed_packets", allowed}, {"refused_packets", refused}, {"rules", rules}};
}

}  // namespace airlock
