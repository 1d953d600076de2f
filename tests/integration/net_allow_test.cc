// --net user with --net-allow: the allow-list is enforced by nftables in the sandbox's network
// namespace, outside the sandbox's control; as root and as an unprivileged user.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "test_env.h"

using namespace airlock::test;

namespace {

// A non-loopback IPv4 address of this host (slirp4netns reaches it; host loopback is disabled).
std::string HostAddress() {
  struct ifaddrs* ifa = nullptr;
  std::string out;
  if (getifaddrs(&ifa) != 0) return out;
  for (auto* i = ifa; i != nullptr; i = i->ifa_next) {
    if (i->ifa_addr == nullptr || i->ifa_addr->sa_family != AF_INET) continue;
    auto* a = reinterpret_cast<sockaddr_in*>(i->ifa_addr);
    if ((ntohl(a->sin_addr.s_addr) >> 24) == 127) continue;
    char b[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &a->sin_addr, b, sizeof b);
    out = b;
    break;
  }
  freeifaddrs(ifa);
  return out;
}

// A listening TCP socket on addr:ephemeral (connects complete in the backlog without accept()).
struct Listener {
  int fd = -1;
  int port = 0;
  explicit Listener(const std::string& addr) {
    fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    inet_pton(AF_INET, addr.c_str(), &a.sin_addr);
    if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || listen(fd, 16) != 0) return;
    socklen_t len = sizeof a;
    getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    port = ntohs(a.sin_port);
  }
  ~Listener() { close(fd); }
};

bool HaveUserNet() { return airlock::test::Run({"/bin/sh", "-c", "command -v slirp4netns"}).exit_code == 0; }

}  // namespace

TEST(NetAllow, AllowedDestinationReachableOthersRefused) {
  if (!HaveUserNet()) GTEST_SKIP() << "slirp4netns is not installed";
  std::string host = HostAddress();
  if (host.empty()) GTEST_SKIP() << "no non-loopback IPv4 address on this host";
  Listener allowed(host), other(host);
  ASSERT_GT(allowed.port, 0);
  ASSERT_GT(other.port, 0);
  // The second entry puts other.port into Landlock's TCP port list too, so only the nftables
  // filter (by address) can refuse host:other.port.
  std::string a = host + ":" + std::to_string(allowed.port), b = "203.0.113.1:" + std::to_string(other.port);
  std::string script = "exec 3<>/dev/tcp/" + host + "/" + std::to_string(allowed.port) + " && echo allowed-connected; "
                       "nft flush ruleset 2>/dev/null; "
                       "exec 4<>/dev/tcp/" + host + "/" + std::to_string(other.port) + " && echo other-connected; exit 0";
  std::string dir = MakeTempDir("net-allow");
  auto r = RunAirlock({"--net", "user", "--net-allow", a, "--net-allow", b, "--report", dir + "/r.json"}, {"/bin/bash", "-c", script}, 120);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("allowed-connected"), std::string::npos) << r.out << r.err;
  EXPECT_EQ(r.out.find("other-connected"), std::string::npos) << r.out;
  EXPECT_NE(r.err.find("Connection refused"), std::string::npos) << r.err;  // a reset, not a timeout
  auto report = nlohmann::json::parse(ReadFileOrEmpty(dir + "/r.json"));
  EXPECT_NE(report["layers"].dump().find("net-allow-list"), std::string::npos);
  const auto& net = report["network"];
  EXPECT_EQ(net["allow"][0]["address"], host) << net.dump();
  EXPECT_EQ(net["resolvers"][0], "10.0.2.3");
  // The filter's counters, read from the kept namespace after the run: the allowed flow passed,
  // the other connect was refused by the TCP-reset rule.
  EXPECT_GE(net["counters"]["allowed_packets"].get<int>(), 1) << net.dump();
  bool reset_counted = false;
  for (const auto& rule : net["counters"]["rules"])
    reset_counted |= rule["rule"] == "meta l4proto tcp" && rule["action"] == "reject" && rule["packets"].get<int>() >= 1;
  EXPECT_TRUE(reset_counted) << net.dump();
}

TEST(NetAllow, UnresolvableNameFailsClosed) {
  if (!HaveUserNet()) GTEST_SKIP() << "slirp4netns is not installed";
  auto r = RunAirlock({"--net", "user", "--net-allow", "no-such-host.invalid:443"}, {"/bin/echo", "ran"});
  EXPECT_EQ(r.exit_code, 125) << r.out << r.err;
  EXPECT_EQ(r.out.find("ran"), std::string::npos);
  EXPECT_NE(r.err.find("no-such-host.invalid"), std::string::npos) << r.err;
}

TEST(NetAllow, ExplainShowsTheEnforcement) {
  auto r = RunAirlock({"--explain", "--net", "user", "--net-allow", "192.0.2.1:443"}, {"/bin/true"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("192.0.2.1:443"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("nftables"), std::string::npos) << r.out;
}
