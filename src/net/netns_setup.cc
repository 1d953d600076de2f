#include "net/netns_setup.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cstring>
#include <fstream>
#include <sstream>

#include "net/net.h"
#include "net/nft_apply.h"

namespace airlock {
namespace {

struct HelperReply {
  int32_t ok = 0;
  uint16_t tcp = 0, udp = 0, dns = 0;
  char message[16384] = {};  // the error, or the output of NetnsJob::list
};

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

Result<UniqueFd> BoundSocket(int type, uint16_t* port) {
  UniqueFd s(::socket(AF_INET, type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!s) return ErrnoError("socket");
  int one = 1;
  ::setsockopt(s.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in a {};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(s.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) return ErrnoError("bind 127.0.0.1");
  if (type == SOCK_STREAM && ::listen(s.get(), 128) != 0) return ErrnoError("listen");
  socklen_t len = sizeof a;
  if (::getsockname(s.get(), reinterpret_cast<sockaddr*>(&a), &len) != 0) return ErrnoError("getsockname");
  *port = ntohs(a.sin_port);
  return s;
}

// Runs in the forked helper: never returns.
[[noreturn]] void HelperMain(int reply_sock, int userns, int netns, const NetnsJob& job) {
  HelperReply reply;
  int fds[3] = {-1, -1, -1};
  int nfds = 0;
  auto finish = [&](const Status& st) {
    if (!st) snprintf(reply.message, sizeof reply.message, "%s", st.error().What().c_str());
    reply.ok = st ? 1 : 0;
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
  if (::setns(userns, CLONE_NEWUSER) != 0) finish(ErrnoError("setns user namespace"));
  if (::setns(netns, CLONE_NEWNET) != 0) finish(ErrnoError("setns network namespace"));
  if (!job.list.empty()) {
    auto out = RunNftCommand(job.list);
    if (!out) finish(std::unexpected(out.error()));
    snprintf(reply.message, sizeof reply.message, "%s", out->c_str());
    finish(Ok());
  }
  if (int rc = BringUpLoopbackInChild(); rc != 0) finish(MakeError("bring up lo", -rc));
  std::string ruleset;
  if (job.sinkhole) {
    Status st = AddLocalDefaultRoute();
    if (!st) finish(st);
    auto tcp = BoundSocket(SOCK_STREAM, &reply.tcp);
    if (!tcp) finish(std::unexpected(tcp.error()));
    auto udp = BoundSocket(SOCK_DGRAM, &reply.udp);
    if (!udp) finish(std::unexpected(udp.error()));
    auto dns = BoundSocket(SOCK_DGRAM, &reply.dns);
    if (!dns) finish(std::unexpected(dns.error()));
    fds[0] = tcp->release();
    fds[1] = udp->release();
    fds[2] = dns->release();
    nfds = 3;
    ruleset = SinkholeRuleset({reply.tcp, reply.udp, reply.dns});
  }
  ruleset += job.ruleset;
  if (!ruleset.empty()) {
    Status st = ApplyNftRuleset(ruleset);
    if (!st) finish(st);
  }
  finish(Ok());
  _exit(1);  // not reached: finish() exits
}

// Forks the helper into the namespaces behind userns/netns; fills reply and the passed fds.
Status RunHelper(int userns, int netns, const NetnsJob& job, HelperReply& reply, int (&fds)[3]) {
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) return ErrnoError("socketpair");
  UniqueFd mine(sv[0]), theirs(sv[1]);
  pid_t pid = ::fork();
  if (pid < 0) return ErrnoError("fork the network helper");
  if (pid == 0) {
    ::close(mine.release());
    ::signal(SIGPIPE, SIG_DFL);
    HelperMain(theirs.get(), userns, netns, job);
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
      memcpy(fds, CMSG_DATA(c), sizeof(int) * std::min<size_t>(count, 3));
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

Result<NetnsSetup> ConfigureNetnsFromParent(pid_t child, const NetnsJob& job) {
  NetnsSetup out;
  out.userns.reset(::open(fmt::format("/proc/{}/ns/user", child).c_str(), O_RDONLY | O_CLOEXEC));
  if (!out.userns) return ErrnoError("open the sandbox's user namespace");
  out.netns.reset(::open(fmt::format("/proc/{}/ns/net", child).c_str(), O_RDONLY | O_CLOEXEC));
  if (!out.netns) return ErrnoError("open the sandbox's network namespace");
  HelperReply reply;
  int fds[3] = {-1, -1, -1};
  Status st = RunHelper(out.userns.get(), out.netns.get(), job, reply, fds);
  if (!st) return std::unexpected(st.error());
  out.tcp.reset(fds[0]);
  out.udp.reset(fds[1]);
  out.dns.reset(fds[2]);
  if (job.sinkhole && (!out.tcp || !out.udp || !out.dns)) return MakeError("the network helper sent no sinkhole sockets");
  out.ports = {reply.tcp, reply.udp, reply.dns};
  return out;
}

bool NeedsNetnsSetup(const NetPolicy& net) {
  return net.mode == NetMode::kSinkhole || (net.mode == NetMode::kUser && !net.allow.empty());
}

namespace {

// The nameservers of the host's /etc/resolv.conf (what pasta forwards to).
std::vector<std::string> HostNameservers() {
  std::vector<std::string> out;
  std::ifstream f("/etc/resolv.conf");
  for (std::string line; std::getline(f, line);) {
    std::istringstream in(line);
    std::string key, addr;
    if (in >> key >> addr && key == "nameserver") out.push_back(addr);
  }
  return out;
}

}  // namespace

Result<NetnsSetup> SetUpNetworkFromParent(pid_t child, const NetPolicy& net, const std::string& usernet_helper,
                                          nlohmann::json* summary) {
  NetnsJob job;
  *summary = {{"mode", NetModeName(net.mode)}};
  if (net.mode == NetMode::kSinkhole) {
    job.sinkhole = true;
  } else if (net.mode == NetMode::kUser && !net.allow.empty()) {
    auto allow = ResolveAllowList(net.allow);
    if (!allow) return std::unexpected(std::move(allow.error()).WithContext("--net-allow"));
    std::vector<std::string> resolvers =
        usernet_helper == "slirp4netns" ? std::vector<std::string>{"10.0.2.3"} : HostNameservers();
    job.ruleset = AllowRuleset(*allow, resolvers);
    nlohmann::json list = nlohmann::json::array();
    for (const auto& d : *allow) list.push_back({{"entry", d.entry}, {"address", d.addr}, {"port", d.port}});
    (*summary)["allow"] = list;
    (*summary)["resolvers"] = resolvers;
  }
  auto setup = ConfigureNetnsFromParent(child, job);
  if (!setup) {
    return std::unexpected(std::move(setup.error()).WithContext(net.mode == NetMode::kSinkhole ? "network sinkhole" : "network allow-list"));
  }
  return setup;
}

Result<nlohmann::json> ReadAllowCountersFromParent(const NetnsSetup& setup) {
  if (!setup.userns || !setup.netns) return MakeError("no network namespace kept");
  NetnsJob job;
  job.list = "list table inet airlock_allow";
  HelperReply reply;
  int fds[3] = {-1, -1, -1};
  Status st = RunHelper(setup.userns.get(), setup.netns.get(), job, reply, fds);
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
