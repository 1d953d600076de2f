// --net user with --net-allow: the allow-list is enforced by nftables in the sandbox's network
// namespace, outside the sandbox's control; names are answered by airlock's own resolver (allowed
// names only); the host's own addresses are refused under --net user too; the user-mode stack runs
// unprivileged in its own sandbox. As root and as an unprivileged user.
#include <arpa/inet.h>
#include <dirent.h>
#include <gtest/gtest.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <map>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "test_env.h"

using namespace airlock::test;

namespace {

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

std::string ReadLink(const std::string& path) {
  char buf[256];
  ssize_t n = readlink(path.c_str(), buf, sizeof buf - 1);
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : "";
}

#define SKIP_WITHOUT_USER_NET()                                         \
  do {                                                                 \
    std::string why = airlock::test::UserNetSkipReason();              \
    if (!why.empty()) GTEST_SKIP() << why;                             \
  } while (0)

}  // namespace

TEST(NetAllow, AllowedDestinationReachableOthersRefused) {
  SKIP_WITHOUT_USER_NET();
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
  EXPECT_EQ(net["dns"]["resolver"], "127.0.0.1:53 (airlock)") << net.dump();
  // The filter's counters, read from the kept namespace after the run: the allowed flow passed,
  // the other connect was refused by the TCP-reset rule.
  EXPECT_GE(net["counters"]["allowed_packets"].get<int>(), 1) << net.dump();
  bool reset_counted = false;
  for (const auto& rule : net["counters"]["rules"])
    reset_counted |= rule["rule"] == "meta l4proto tcp" && rule["action"] == "reject" && rule["packets"].get<int>() >= 1;
  EXPECT_TRUE(reset_counted) << net.dump();
}

TEST(NetAllow, UnresolvableNameFailsClosed) {
  SKIP_WITHOUT_USER_NET();
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

// The README's case, hermetic: a name on the allow-list resolves inside (through airlock's resolver,
// which the generated resolv.conf names) and connects; any other name is refused and counted; the
// user-mode stack's own DNS forwarder (10.0.2.3) does not answer. NAME=ADDRESS pins the name to a
// host address, so no query leaves the machine; "localhost" is resolved by airlock on the host.
TEST(NetAllow, ResolverAnswersAllowedNamesOnly) {
  SKIP_WITHOUT_USER_NET();
  std::string host = HostAddress();
  if (host.empty()) GTEST_SKIP() << "no non-loopback IPv4 address on this host";
  Listener server(host);
  ASSERT_GT(server.port, 0);
  std::string port = std::to_string(server.port);
  std::string script =
      "cat /etc/resolv.conf; getent ahostsv4 mirror.test | head -n 1; "
      "exec 3<>/dev/tcp/mirror.test/" + port + " && echo connected-by-name; "
      "getent hosts leak-probe.example || echo leak-probe-refused; "
      "/helpers/dns_probe 127.0.0.1 localhost; "
      "/helpers/dns_probe 10.0.2.3 deb.debian.org; exit 0";
  std::string dir = MakeTempDir("net-dns");
  auto r = RunAirlock({"--net", "user", "--net-allow", "mirror.test=" + host + ":" + port, "--net-allow", "localhost:9",
                       "--ro-bind", HelperDir(), "/helpers", "--report", dir + "/r.json"},
                      {"/bin/bash", "-c", script}, 120);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("nameserver 127.0.0.1"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(host + " "), std::string::npos) << r.out;  // getent's answer for mirror.test
  EXPECT_NE(r.out.find("connected-by-name"), std::string::npos) << r.out << r.err;
  EXPECT_NE(r.out.find("leak-probe-refused"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("answer rcode=0 count=1"), std::string::npos) << r.out;  // localhost, resolved on the host
  // The user-mode stack's forwarder would pass any name to the host's resolvers: unreachable.
  EXPECT_NE(r.out.find("no-answer"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("answer rcode=3"), std::string::npos) << r.out;
  auto report = nlohmann::json::parse(ReadFileOrEmpty(dir + "/r.json"));
  const auto& dns = report["network"]["dns"];
  EXPECT_GE(dns["answered"].get<int>(), 2) << dns.dump();
  EXPECT_GE(dns["refused"].get<int>(), 1) << dns.dump();
  EXPECT_NE(dns["refused_names"].dump().find("leak-probe.example"), std::string::npos) << dns.dump();
  EXPECT_EQ(dns["refused_names"].dump().find("mirror.test"), std::string::npos) << dns.dump();
}

// The host's own (non-loopback) addresses are refused under --net user, and under --net-allow
// unless an entry names the address itself: a CIDR that covers it does not open the host.
TEST(NetUser, HostAddressesAreRefused) {
  SKIP_WITHOUT_USER_NET();
  std::string host = HostAddress();
  if (host.empty()) GTEST_SKIP() << "no non-loopback IPv4 address on this host";
  Listener service(host);
  ASSERT_GT(service.port, 0);
  std::string port = std::to_string(service.port);
  std::string script = "exec 3<>/dev/tcp/" + host + "/" + port + " && echo reached-host; exit 0";
  std::string dir = MakeTempDir("net-host");
  auto r = RunAirlock({"--net", "user", "--report", dir + "/r.json"}, {"/bin/bash", "-c", script}, 120);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out.find("reached-host"), std::string::npos) << r.out;
  EXPECT_NE(r.err.find("Connection refused"), std::string::npos) << r.err;
  auto report = nlohmann::json::parse(ReadFileOrEmpty(dir + "/r.json"));
  EXPECT_NE(report["network"]["host_addresses_refused"].dump().find(host), std::string::npos) << report["network"].dump();
  EXPECT_NE(report["layers"].dump().find("net-host-filter"), std::string::npos);

  auto covered = RunAirlock({"--net", "user", "--net-allow", "0.0.0.0/0:" + port}, {"/bin/bash", "-c", script}, 120);
  ASSERT_EQ(covered.exit_code, 0) << covered.err;
  EXPECT_EQ(covered.out.find("reached-host"), std::string::npos) << covered.out;
  auto named = RunAirlock({"--net", "user", "--net-allow", host + ":" + port}, {"/bin/bash", "-c", script}, 120);
  ASSERT_EQ(named.exit_code, 0) << named.err;
  EXPECT_NE(named.out.find("reached-host"), std::string::npos) << named.out << named.err;
}

namespace {

// /proc/PID/status fields of the first slirp4netns/pasta process whose parent's command line
// contains `token`, or {} when none is found.
std::map<std::string, std::string> HelperStatusFor(const std::string& token, pid_t* helper_pid) {
  DIR* d = opendir("/proc");
  if (d == nullptr) return {};
  std::map<std::string, std::string> out;
  while (struct dirent* e = readdir(d)) {
    if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
    std::string dir = std::string("/proc/") + e->d_name;
    std::string status = ReadFileOrEmpty(dir + "/status");
    // Debian's pasta re-executes itself as passt.avx2 where the CPU has AVX2. Only a helper that is
    // ready (its seccomp filter installed, the last step of its own isolation) counts.
    bool named = status.rfind("Name:\tslirp4netns\n", 0) == 0 || status.rfind("Name:\tpasta", 0) == 0 ||
                 status.rfind("Name:\tpasst", 0) == 0;
    if (!named || status.find("Seccomp:\t2") == std::string::npos) continue;
    size_t pp = status.find("PPid:\t");
    if (pp == std::string::npos) continue;
    std::string ppid = status.substr(pp + 6, status.find('\n', pp) - pp - 6);
    std::string cmdline = ReadFileOrEmpty("/proc/" + ppid + "/cmdline");
    if (cmdline.find(token) == std::string::npos) continue;
    std::istringstream in(status);
    for (std::string line; std::getline(in, line);) {
      size_t colon = line.find(':');
      if (colon == std::string::npos) continue;
      size_t v = line.find_first_not_of(" \t", colon + 1);
      out[line.substr(0, colon)] = v == std::string::npos ? "" : line.substr(v);
    }
    *helper_pid = static_cast<pid_t>(std::stol(e->d_name));
    break;
  }
  closedir(d);
  return out;
}

}  // namespace

// The user-mode stack, seen from outside while it serves a sandbox (not from airlock's report): an
// unprivileged uid, no capability but CAP_NET_BIND_SERVICE and (pasta, to enter the sandbox's
// network namespace for each new flow) CAP_SYS_ADMIN, both in the sandbox's user namespace only;
// a bounding set of what it needed to attach, no_new_privs, a seccomp filter, another user and
// mount namespace than ours. The report lists the same.
TEST(NetUser, HelperRunsUnprivilegedInItsOwnSandbox) {
  SKIP_WITHOUT_USER_NET();
  std::string dir = MakeTempDir("net-helper");
  chmod(dir.c_str(), 0777);
  std::string script = "for i in $(seq 400); do [ -e /w/go ] && exit 0; sleep 0.05; done; exit 3";
  std::thread run([&] {
    auto r = RunAirlock({"--net", "user", "--bind", dir, "/w", "--report", dir + "/r.json"}, {"/bin/bash", "-c", script}, 120);
    WriteFile(dir + "/exit", std::to_string(r.exit_code) + "\n" + r.err);
  });
  pid_t pid = 0;
  std::map<std::string, std::string> st;
  for (int i = 0; i < 400 && st.empty(); ++i) {
    st = HelperStatusFor(dir, &pid);
    if (st.empty()) usleep(25000);
  }
  std::string mnt_ours = ReadLink("/proc/self/ns/mnt"), user_ours = ReadLink("/proc/self/ns/user");
  std::string mnt_helper = pid ? ReadLink("/proc/" + std::to_string(pid) + "/ns/mnt") : "";
  std::string user_helper = pid ? ReadLink("/proc/" + std::to_string(pid) + "/ns/user") : "";
  WriteFile(dir + "/go", "");
  run.join();
  ASSERT_FALSE(st.empty()) << "no helper process found; airlock said: " << ReadFileOrEmpty(dir + "/exit");
  EXPECT_EQ(st["Uid"].substr(0, st["Uid"].find('\t')), "65534") << st["Uid"];
  EXPECT_EQ(st["NoNewPrivs"], "1");
  EXPECT_EQ(st["Seccomp"], "2");
  uint64_t eff = std::stoull(st["CapEff"], nullptr, 16), bnd = std::stoull(st["CapBnd"], nullptr, 16);
  auto bit = [](int cap) { return uint64_t{1} << cap; };
  EXPECT_EQ(eff & ~(bit(10) | bit(21)), 0u) << "CapEff " << st["CapEff"];  // NET_BIND_SERVICE, SYS_ADMIN at most
  // What airlock gave it to attach: SETGID, SETUID, SETPCAP, NET_BIND_SERVICE, NET_ADMIN, SYS_ADMIN.
  EXPECT_EQ(bnd & ~(bit(6) | bit(7) | bit(8) | bit(10) | bit(12) | bit(21)), 0u) << "CapBnd " << st["CapBnd"];
  // Namespaces: readable when we may ptrace it (root); an unprivileged test may not, and skips this.
  if (!mnt_helper.empty()) {
    EXPECT_NE(mnt_helper, mnt_ours);
  }
  if (!user_helper.empty()) {
    EXPECT_NE(user_helper, user_ours);
  }
  EXPECT_EQ(ReadFileOrEmpty(dir + "/exit").substr(0, 2), "0\n") << ReadFileOrEmpty(dir + "/exit");
  auto report = nlohmann::json::parse(ReadFileOrEmpty(dir + "/r.json"));
  ASSERT_TRUE(report["helpers"].is_array()) << report.dump();
  bool stack = false, setup = false;
  for (const auto& h : report["helpers"]) {
    if (h["name"] == "slirp4netns" || h["name"] == "pasta") {
      stack = true;
      EXPECT_EQ(h["uid"], 65534);
      EXPECT_TRUE(h["sandboxed"].get<bool>()) << h.dump();
      EXPECT_TRUE(h["seccomp"].get<bool>()) << h.dump();
    }
    if (h["name"] == "netns-setup") {
      setup = true;
      EXPECT_EQ(h["uid"], 65534);
      EXPECT_EQ(h["capabilities"], nlohmann::json({"cap_net_bind_service", "cap_net_admin"})) << h.dump();
    }
  }
  EXPECT_TRUE(stack && setup) << report["helpers"].dump();
}

// The helper's own words reach the user, with the fix: a private mount namespace where
// /dev/net/tun is a mode-0600 node (the host's stays as it is). Root only (it mounts).
TEST(NetUser, HelperErrorNamesTheFix) {
  if (!IsRoot()) GTEST_SKIP() << "needs root to bind a private /dev/net/tun in its own mount namespace";
  SKIP_WITHOUT_USER_NET();
  std::string dir = MakeTempDir("net-tun");
  std::string script = "mknod " + dir + "/tun c 10 200 && chmod 0600 " + dir + "/tun && mount --bind " + dir +
                       "/tun /dev/net/tun && exec \"$0\" run --net user -- /bin/true";
  auto r = airlock::test::Run({"unshare", "-m", "--propagation", "private", "/bin/sh", "-c", script, AirlockBin()}, "", 60);
  EXPECT_EQ(r.exit_code, 125) << r.out << r.err;
  // The helper's own words: slirp4netns 'open("/dev/net/tun"): Permission denied', pasta 'Failed to
  // open tun socket in namespace'.
  EXPECT_TRUE(r.err.find("open(\"/dev/net/tun\"): Permission denied") != std::string::npos ||
              r.err.find("Failed to open tun socket") != std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("chmod 0666 /dev/net/tun"), std::string::npos) << r.err;                    // the fix
  EXPECT_EQ(r.err.find("within 5 s"), std::string::npos) << r.err;                                 // at once, not a timeout
}

// Without an allow-list the sandbox's resolv.conf names the helper's forwarder (the network
// profile's bind of the host's file is replaced); with one, airlock's resolver, even when the
// profile binds the host's file.
TEST(NetUser, ResolvConfNamesAResolverTheSandboxCanReach) {
  SKIP_WITHOUT_USER_NET();
  auto plain = RunAirlock({"--profile", "network"}, {"/bin/cat", "/etc/resolv.conf"});
  ASSERT_EQ(plain.exit_code, 0) << plain.err;
  EXPECT_NE(plain.out.find("nameserver 10.0.2.3\n"), std::string::npos) << plain.out;
  EXPECT_EQ(plain.out.find("nameserver 127.0.0.1"), std::string::npos) << plain.out;
  auto allow = RunAirlock({"--profile", "network", "--net-allow", "192.0.2.1:443"}, {"/bin/cat", "/etc/resolv.conf"});
  ASSERT_EQ(allow.exit_code, 0) << allow.err;
  EXPECT_NE(allow.out.find("nameserver 127.0.0.1\n"), std::string::npos) << allow.out;
  EXPECT_EQ(allow.out.find("10.0.2.3"), std::string::npos) << allow.out;
}

// --listen PORT: the sandbox may listen on that TCP port in its own network namespace and on no
// other (Landlock's bind rule); without it every bind is refused (the control). `airlock browser
// --browser firefox` uses it for Marionette.
TEST(NetListen, OnlyTheListedPortCanBeBound) {
  const std::string script =
      "import socket\n"
      "for p in (2828, 2829):\n"
      "    s = socket.socket()\n"
      "    try:\n"
      "        s.bind(('127.0.0.1', p)); s.listen(); print(p, 'bound')\n"
      "    except OSError as e:\n"
      "        print(p, 'refused', e.errno)\n";
  auto listed = RunAirlock({"--listen", "2828"}, {"/usr/bin/python3", "-c", script});
  ASSERT_EQ(listed.exit_code, 0) << listed.err;
  if (listed.err.find("TCP bind/connect is not restricted by Landlock") != std::string::npos) {
    GTEST_SKIP() << "SKIPPED: this kernel's Landlock has no network rules (ABI < 4)";
  }
  EXPECT_NE(listed.out.find("2828 bound"), std::string::npos) << listed.out << listed.err;
  EXPECT_NE(listed.out.find("2829 refused 13"), std::string::npos) << listed.out;
  auto none = RunAirlock({}, {"/usr/bin/python3", "-c", script});
  EXPECT_NE(none.out.find("2828 refused 13"), std::string::npos) << none.out << none.err;
  auto bad = RunAirlock({"--listen", "70000"}, {"/bin/true"});
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_NE(bad.err.find("--listen 70000: not a TCP port"), std::string::npos) << bad.err;
}
