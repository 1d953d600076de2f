// Escape tier, network (tests/helpers/escape_net.c): host TCP listeners (loopback and a real address),
// host abstract unix sockets, packet and raw sockets, protocols and netlink families the default
// refuses by argument (seccomp/arg_rules.cc), each refusal counted in the report.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstddef>
#include <iostream>

#include <nlohmann/json.hpp>

#include "escape_util.h"

using namespace airlock::escape;

namespace {

// The first non-loopback IPv4 address of the host, or "".
std::string HostIpv4() {
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) return "";
  std::string found;
  for (ifaddrs* i = list; i && found.empty(); i = i->ifa_next) {
    if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET || (i->ifa_flags & IFF_LOOPBACK)) continue;
    char buf[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(i->ifa_addr)->sin_addr, buf, sizeof buf);
    found = buf;
  }
  freeifaddrs(list);
  return found;
}

TEST(EscapeNet, TcpListenerOnTheHost) {
  int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(s, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_ANY);  // loopback and every host address
  ASSERT_EQ(bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  ASSERT_EQ(listen(s, 16), 0);
  socklen_t len = sizeof a;
  getsockname(s, reinterpret_cast<sockaddr*>(&a), &len);
  std::vector<std::string> params = {"port=" + std::to_string(ntohs(a.sin_port))};
  std::string ip = HostIpv4();
  if (!ip.empty()) params.push_back("hostip=" + ip);
  auto in = RunInSandbox("escape_net", "tcp_host", params);
  auto host = RunOnHost("escape_net", "tcp_host", params);
  close(s);
  EXPECT_PROBE_BLOCKED(in, "tcp_host");
  EXPECT_PROBE_ESCAPED(host, "tcp_host");
}

TEST(EscapeNet, HostAbstractUnixSocket) {
  std::string name = "airlock-escape-" + std::to_string(getpid());
  int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(s, 0);
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  memcpy(a.sun_path + 1, name.data(), name.size());
  ASSERT_EQ(bind(s, reinterpret_cast<sockaddr*>(&a), static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + name.size())), 0);
  ASSERT_EQ(listen(s, 16), 0);
  auto in = RunInSandbox("escape_net", "abstract_unix", {"unixname=" + name});
  auto host = RunOnHost("escape_net", "abstract_unix", {"unixname=" + name});
  close(s);
  EXPECT_PROBE_BLOCKED(in, "abstract_unix");
  EXPECT_PROBE_ESCAPED(host, "abstract_unix");
}

TEST(EscapeNet, PacketAndRawSockets) {
  EXPECT_PROBE_BLOCKED(RunInSandbox("escape_net", "af_packet"), "af_packet");
  EXPECT_PROBE_BLOCKED(RunInSandbox("escape_net", "raw_inet"), "raw_inet");
  EXPECT_PROBE_BLOCKED(RunInSandbox("escape_net", "sock_packet"), "sock_packet");
  if (airlock::test::IsRoot()) {
    // Control: root on the host may open a packet socket, the obsolete kind too.
    EXPECT_PROBE_ESCAPED(RunOnHost("escape_net", "af_packet"), "af_packet");
    EXPECT_PROBE_ESCAPED(RunOnHost("escape_net", "sock_packet"), "sock_packet");
  }
}

// Sockets the default has no use for, which any user may open on the host: MPTCP, netlink's netfilter
// and generic families.
TEST(EscapeNet, UnneededProtocolsAndNetlinkFamilies) {
  for (const char* probe : {"mptcp", "netlink_netfilter", "netlink_generic"}) {
    EXPECT_PROBE_BLOCKED(RunInSandbox("escape_net", probe), probe);
    auto host = RunOnHost("escape_net", probe);
    if (Find(host, probe).status != "ESCAPED") {
      std::cout << "[ NOTE ] control for " << probe << ": this kernel refuses it on the host too: " << Find(host, probe).detail
                << "\n";
      continue;
    }
    EXPECT_PROBE_ESCAPED(host, probe);
  }
}

// The filter itself refuses every one of these sockets, and each refusal is counted: none is left to
// the kernel's capability checks (socket(AF_INET, SOCK_PACKET) was, and went uncounted).
TEST(EscapeNet, FilterRefusesAndCountsEverySocketProbe) {
  std::string dir = airlock::test::MakeTempDir("escape-net-report");
  std::string report = dir + "/report.json";
  auto r = RunInSandbox("escape_net", "all", {}, {"--report", report});
  auto j = nlohmann::json::parse(airlock::test::ReadFileOrEmpty(report), nullptr, false);
  unlink(report.c_str());
  rmdir(dir.c_str());
  ASSERT_TRUE(j.is_object()) << r.err;
  int socket_probes = 0;
  for (const char* probe : {"af_packet", "raw_inet", "sock_packet", "mptcp", "netlink_netfilter", "netlink_generic"}) {
    EXPECT_PROBE_BLOCKED(r, probe);
    EXPECT_EQ(Find(r, probe).detail, "EPERM") << probe;
    ++socket_probes;
  }
  EXPECT_EQ(j["denied_syscalls"].value("socket", 0), socket_probes) << j["denied_syscalls"].dump();
}

}  // namespace
