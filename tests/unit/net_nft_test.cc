// nftables ruleset builders (src/net/nft_ruleset.h), and the generated text loaded by the real
// libnftables in a fresh user+network namespace (a forked child: unsharing is irreversible).
#include <gtest/gtest.h>
#include <sched.h>
#include <sys/wait.h>
#include <unistd.h>

#include "net/netns_setup.h"
#include "net/nft_apply.h"
#include "net/nft_ruleset.h"

using namespace airlock;

namespace {

// Applies `ruleset` in a new user+net namespace and returns `nft list ruleset` (or "ERROR: ...").
std::string ApplyInFreshNamespace(const std::string& ruleset) {
  int p[2];
  if (pipe(p) != 0) return "ERROR: pipe";
  pid_t pid = fork();
  if (pid == 0) {
    close(p[0]);
    std::string out;
    if (unshare(CLONE_NEWUSER | CLONE_NEWNET) != 0) {
      out = "SKIP: unshare failed";
    } else if (auto s = ApplyNftRuleset(ruleset); !s) {
      out = "ERROR: " + s.error().What();
    } else {
      auto l = RunNftCommand("list ruleset");
      out = l ? *l : "ERROR: " + l.error().What();
    }
    (void)!write(p[1], out.data(), out.size());
    _exit(0);
  }
  close(p[1]);
  std::string out;
  char buf[4096];
  for (ssize_t n; (n = read(p[0], buf, sizeof buf)) > 0;) out.append(buf, static_cast<size_t>(n));
  close(p[0]);
  int st;
  waitpid(pid, &st, 0);
  return out;
}

}  // namespace

TEST(NetNft, ParseAllowEntry) {
  auto a = ParseAllowEntry("example.org:443");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->host, "example.org");
  EXPECT_EQ(a->port, 443);
  auto b = ParseAllowEntry("[2001:db8::1]:80");
  ASSERT_TRUE(b);
  EXPECT_EQ(b->host, "2001:db8::1");
  auto c = ParseAllowEntry("10.0.0.0/8:*");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->port, 0);
  EXPECT_FALSE(ParseAllowEntry("example.org"));
  EXPECT_FALSE(ParseAllowEntry("example.org:0"));
  EXPECT_FALSE(ParseAllowEntry("example.org:65536"));
  EXPECT_FALSE(ParseAllowEntry(":80"));
  // NAME=ADDRESS:PORT pins a name to one address (lower-cased, no trailing dot).
  auto d = ParseAllowEntry("Mirror.Test.=192.0.2.2:8080");
  ASSERT_TRUE(d) << d.error().What();
  EXPECT_EQ(d->pinned_name, "mirror.test");
  EXPECT_EQ(d->host, "192.0.2.2");
  EXPECT_EQ(d->port, 8080);
  EXPECT_TRUE(ParseAllowEntry("v6.test=[2001:db8::1]:443"));
  EXPECT_FALSE(ParseAllowEntry("a.test=other.test:80"));     // pinned to a name
  EXPECT_FALSE(ParseAllowEntry("a.test=10.0.0.0/8:80"));     // pinned to a range
  EXPECT_FALSE(ParseAllowEntry("bad name=192.0.2.2:80"));    // not a host name
  EXPECT_FALSE(ParseAllowEntry("=192.0.2.2:80"));
}

TEST(NetNft, PinnedAndResolvedNamesCarryTheName) {
  auto r = ResolveAllowList({"Mirror.Test=192.0.2.2:8080", "localhost:80", "192.0.2.9:80"});
  ASSERT_TRUE(r) << r.error().What();
  EXPECT_EQ((*r)[0].name, "mirror.test");
  EXPECT_EQ((*r)[0].addr, "192.0.2.2");
  EXPECT_EQ((*r)[1].name, "localhost");
  EXPECT_EQ(r->back().name, "");  // an address entry has no name
}

TEST(NetNft, ResolvesNumericEntriesAndRejectsJunk) {
  auto r = ResolveAllowList({"192.0.2.7:8080", "10.1.0.0/16:*", "[2001:DB8::1]:443", "localhost:80"});
  ASSERT_TRUE(r) << r.error().What();
  ASSERT_GE(r->size(), 4u);
  EXPECT_EQ((*r)[0].addr, "192.0.2.7");
  EXPECT_EQ((*r)[0].port, 8080);
  EXPECT_EQ((*r)[1].addr, "10.1.0.0/16");
  EXPECT_EQ((*r)[1].port, 0);
  EXPECT_EQ((*r)[2].addr, "2001:db8::1");  // canonical form
  EXPECT_TRUE((*r)[2].ipv6);
  EXPECT_EQ((*r)[3].entry, "localhost:80");
  EXPECT_FALSE(ResolveAllowList({"no-such-host.invalid:80"}));
  // Anything that is neither an address nor a resolvable name never reaches the ruleset text.
  EXPECT_FALSE(ResolveAllowList({"1.2.3.4; flush ruleset:80"}));
  EXPECT_FALSE(ResolveAllowList({"10.0.0.0/33:80"}));
}

TEST(NetNft, SinkholeRulesetText) {
  std::string r = SinkholeRuleset({1111, 2222, 3333});
  EXPECT_NE(r.find("udp dport 53 redirect to :3333"), std::string::npos) << r;
  EXPECT_NE(r.find("tcp dport 53 redirect to :1111"), std::string::npos);
  EXPECT_NE(r.find("meta l4proto tcp redirect to :1111"), std::string::npos);
  EXPECT_NE(r.find("meta l4proto udp redirect to :2222"), std::string::npos);
  // Loopback is not redirected (after DNS, before the catch-alls).
  EXPECT_LT(r.find("udp dport 53"), r.find("ip daddr 127.0.0.0/8 accept"));
  EXPECT_LT(r.find("ip daddr 127.0.0.0/8 accept"), r.find("meta l4proto tcp redirect"));
}

TEST(NetNft, AllowRulesetText) {
  std::vector<AllowDest> allow = {{"192.0.2.2", false, 8080, "h:8080"}, {"10.0.0.0/8", false, 0, "10.0.0.0/8:*"},
                                  {"2001:db8::1", true, 443, "[2001:db8::1]:443"}};
  // Host addresses: 192.0.2.2 is named exactly (allowed), 10.9.9.9 only covered by a CIDR (refused).
  std::string r = AllowRuleset(allow, {"192.0.2.2", "10.9.9.9", "fd00::2", "not-an-address"});
  EXPECT_NE(r.find("policy drop;"), std::string::npos) << r;
  EXPECT_EQ(r.find("dport 53"), std::string::npos) << r;  // no resolver outside: DNS is airlock's, on lo
  EXPECT_EQ(r.find("not-an-address"), std::string::npos);
  EXPECT_NE(r.find("ip daddr { 10.9.9.9 } meta l4proto tcp counter reject with tcp reset"), std::string::npos) << r;
  EXPECT_NE(r.find("ip6 daddr { fd00::2 } counter reject"), std::string::npos) << r;
  EXPECT_EQ(r.find("daddr { 192.0.2.2 }"), std::string::npos) << r;
  // The host block comes before the allow rules (a covering CIDR does not open the host).
  EXPECT_LT(r.find("10.9.9.9"), r.find("ip daddr 10.0.0.0/8 counter accept"));
  EXPECT_NE(r.find("ip daddr 192.0.2.2 meta l4proto { tcp, udp } th dport 8080 counter accept"), std::string::npos);
  EXPECT_NE(r.find("ip daddr 10.0.0.0/8 counter accept"), std::string::npos);
  EXPECT_NE(r.find("ip6 daddr 2001:db8::1 meta l4proto { tcp, udp } th dport 443 counter accept"), std::string::npos);
  EXPECT_NE(r.find("reject with tcp reset"), std::string::npos);
}

TEST(NetNft, HostBlockRulesetText) {
  std::string r = HostBlockRuleset({"192.0.2.2", "fd00::2", "fe80::1"});
  EXPECT_NE(r.find("policy accept;"), std::string::npos) << r;
  EXPECT_NE(r.find("ip daddr { 192.0.2.2 } meta l4proto tcp counter reject with tcp reset"), std::string::npos) << r;
  EXPECT_NE(r.find("ip6 daddr { fd00::2, fe80::1 } counter reject with icmpx type admin-prohibited"), std::string::npos) << r;
  // No host address at all (a host with only loopback): no empty set, which nft would reject.
  EXPECT_EQ(HostBlockRuleset({}).find("{ }"), std::string::npos);
}

TEST(NetNft, KernelAcceptsBothRulesets) {
  std::string s = ApplyInFreshNamespace(SinkholeRuleset({1111, 2222, 3333}));
  if (s.rfind("SKIP", 0) == 0) GTEST_SKIP() << s;
  ASSERT_EQ(s.find("ERROR"), std::string::npos) << s;
  EXPECT_NE(s.find("table ip airlock_sinkhole"), std::string::npos) << s;
  EXPECT_NE(s.find("redirect to :2222"), std::string::npos) << s;
  std::vector<AllowDest> allow = {{"192.0.2.2", false, 8080, ""}, {"2001:db8::/32", true, 0, ""}};
  std::string a = ApplyInFreshNamespace(AllowRuleset(allow, {"192.0.2.9", "fd00::2"}));
  ASSERT_EQ(a.find("ERROR"), std::string::npos) << a;
  EXPECT_NE(a.find("table inet airlock_filter"), std::string::npos) << a;
  std::string h = ApplyInFreshNamespace(HostBlockRuleset({"192.0.2.9", "fd00::2"}));
  ASSERT_EQ(h.find("ERROR"), std::string::npos) << h;
  EXPECT_NE(h.find("192.0.2.9"), std::string::npos) << h;
  std::string none = ApplyInFreshNamespace(HostBlockRuleset({}));
  ASSERT_EQ(none.find("ERROR"), std::string::npos) << none;
  EXPECT_NE(a.find("192.0.2.2"), std::string::npos) << a;
  EXPECT_NE(a.find("policy drop"), std::string::npos) << a;
  // And a broken ruleset is reported with nft's own message, not accepted.
  std::string bad = ApplyInFreshNamespace("table ip x { chain y { nonsense } }");
  EXPECT_NE(bad.find("ERROR: nftables:"), std::string::npos) << bad;
}

TEST(NetNft, ParsesRuleCounters) {
  const char* listing =
      "table inet airlock_filter {\n"
      "\tchain output {\n"
      "\t\ttype filter hook output priority filter; policy drop;\n"
      "\t\toifname \"lo\" accept\n"
      "\t\tip daddr 192.0.2.2 meta l4proto { tcp, udp } th dport 8080 counter packets 5 bytes 300 accept\n"
      "\t\tmeta l4proto tcp counter packets 2 bytes 120 reject with tcp reset\n"
      "\t\tcounter packets 1 bytes 76 reject with icmpx admin-prohibited\n"
      "\t}\n}\n";
  auto c = ParseNftCounters(listing);
  EXPECT_EQ(c["allowed_packets"], 5);
  EXPECT_EQ(c["refused_packets"], 3);
  ASSERT_EQ(c["rules"].size(), 3u);
  EXPECT_EQ(c["rules"][0]["rule"], "ip daddr 192.0.2.2 meta l4proto { tcp, udp } th dport 8080");
  EXPECT_EQ(c["rules"][1]["action"], "reject");
  EXPECT_EQ(c["rules"][2]["rule"], "reject");
  EXPECT_EQ(ParseNftCounters("")["rules"].size(), 0u);
}
