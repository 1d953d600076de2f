// The --net-allow resolver's answers (src/net/allow_resolver.h), the DNS reply builder it uses, and
// what airlock reads back about its helpers (/proc/PID/status, capability names).
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <linux/capability.h>

#include <string>
#include <vector>

#include "mutate.h"
#include "net/allow_resolver.h"
#include "net/dns_message.h"
#include "net/helper_creds.h"
#include "net/net.h"

using namespace airlock;

namespace {

std::string Query(const std::string& name, uint16_t qtype, uint16_t qclass = 1) {
  std::string p = {'\x12', '\x34', '\x01', '\x00', '\x00', '\x01', 0, 0, 0, 0, 0, 0};
  for (size_t start = 0; start < name.size();) {
    size_t dot = std::min(name.find('.', start), name.size());
    p.push_back(static_cast<char>(dot - start));
    p += name.substr(start, dot - start);
    start = dot + 1;
  }
  p.push_back('\0');
  p.push_back(static_cast<char>(qtype >> 8));
  p.push_back(static_cast<char>(qtype & 0xff));
  p.push_back(static_cast<char>(qclass >> 8));
  p.push_back(static_cast<char>(qclass & 0xff));
  return p;
}

int Rcode(const std::string& reply) { return reply.size() >= 4 ? reply[3] & 0x0f : -1; }
int AnswerCount(const std::string& reply) {
  return reply.size() >= 8 ? (static_cast<unsigned char>(reply[6]) << 8) | static_cast<unsigned char>(reply[7]) : -1;
}

const AllowedNames kNames = {{"mirror.test", {"192.0.2.2", "2001:db8::2"}}, {"v4only.test", {"192.0.2.3"}}};

}  // namespace

TEST(NetResolver, AnswersAllowedNamesWithTheirAddresses) {
  auto a = AnswerFromAllowList(Query("mirror.test", 1), kNames);
  ASSERT_EQ(a.kind, ResolverAnswer::Kind::kAnswered);
  EXPECT_EQ(Rcode(a.reply), 0);
  ASSERT_EQ(AnswerCount(a.reply), 1);
  std::string ip(a.reply.end() - 4, a.reply.end());
  char buf[INET_ADDRSTRLEN];
  inet_ntop(AF_INET, ip.data(), buf, sizeof buf);
  EXPECT_STREQ(buf, "192.0.2.2");
  auto six = AnswerFromAllowList(Query("MIRROR.test.", 28), kNames);  // case and trailing dot
  ASSERT_EQ(six.kind, ResolverAnswer::Kind::kAnswered);
  ASSERT_EQ(AnswerCount(six.reply), 1);
  char buf6[INET6_ADDRSTRLEN];
  inet_ntop(AF_INET6, six.reply.data() + six.reply.size() - 16, buf6, sizeof buf6);
  EXPECT_STREQ(buf6, "2001:db8::2");
}

TEST(NetResolver, OtherTypesOfAnAllowedNameGetNoData) {
  for (uint16_t t : {uint16_t{15}, uint16_t{16}, uint16_t{65}}) {
    auto a = AnswerFromAllowList(Query("mirror.test", t), kNames);
    EXPECT_EQ(a.kind, ResolverAnswer::Kind::kNoData) << t;
    EXPECT_EQ(Rcode(a.reply), 0);
    EXPECT_EQ(AnswerCount(a.reply), 0);
  }
  auto aaaa = AnswerFromAllowList(Query("v4only.test", 28), kNames);
  EXPECT_EQ(aaaa.kind, ResolverAnswer::Kind::kNoData);
}

TEST(NetResolver, EveryOtherNameIsRefused) {
  for (const char* n : {"example.com", "test", "mirror.test.evil.example", "xmirror.test", "secret-data.attacker.example"}) {
    auto a = AnswerFromAllowList(Query(n, 1), kNames);
    EXPECT_EQ(a.kind, ResolverAnswer::Kind::kRefused) << n;
    EXPECT_EQ(Rcode(a.reply), 5) << n;
    EXPECT_EQ(AnswerCount(a.reply), 0);
    EXPECT_EQ(a.name, n);
  }
  // Not class IN: refused too (CHAOS version.bind and the like).
  EXPECT_EQ(AnswerFromAllowList(Query("mirror.test", 16, 3), kNames).kind, ResolverAnswer::Kind::kRefused);
  EXPECT_EQ(AnswerFromAllowList(Query("anything", 1), {}).kind, ResolverAnswer::Kind::kRefused);
}

TEST(NetResolver, MalformedPacketsGetNothing) {
  auto a = AnswerFromAllowList(std::string("\x12\x34", 2), kNames);
  EXPECT_EQ(a.kind, ResolverAnswer::Kind::kMalformed);
  EXPECT_TRUE(a.reply.empty());
  std::string base = Query("mirror.test", 1);
  airlock::test::ForEachMutation(777, base, 5000, [](int, const std::string& p) {
    auto r = AnswerFromAllowList(p, kNames);
    if (r.kind != ResolverAnswer::Kind::kMalformed) {
      EXPECT_LE(r.reply.size(), 512u);
    }
  });
}

TEST(NetResolver, RepliesStayWithin512Bytes) {
  AllowedNames many;
  std::string name = std::string(60, 'a') + "." + std::string(60, 'b') + "." + std::string(60, 'c') + ".test";
  for (int i = 0; i < 40; ++i) many[name].push_back("2001:db8::" + std::to_string(i + 1));
  auto a = AnswerFromAllowList(Query(name, 28), many);
  ASSERT_EQ(a.kind, ResolverAnswer::Kind::kAnswered);
  EXPECT_LE(a.reply.size(), 512u);
  EXPECT_GE(AnswerCount(a.reply), 1);
  EXPECT_LT(AnswerCount(a.reply), 40);
  // The header's count matches the records present: 12 + question + 28 bytes per AAAA record.
  size_t question = Query(name, 28).size() - 12;
  EXPECT_EQ(a.reply.size(), 12 + question + 28 * static_cast<size_t>(AnswerCount(a.reply)));
}

TEST(NetHelpers, ParsesProcStatus) {
  const char* status =
      "Name:\tslirp4netns\nUid:\t65534\t65534\t65534\t65534\nGid:\t65534\t65534\t65534\t65534\n"
      "CapInh:\t0000000000000400\nCapPrm:\t0000000000000400\nCapEff:\t0000000000000400\n"
      "CapBnd:\t0000000000000400\nCapAmb:\t0000000000000000\nNoNewPrivs:\t1\nSeccomp:\t2\n";
  ProcStatusCreds c = ParseProcStatusCreds(status);
  EXPECT_EQ(c.uid, 65534);
  EXPECT_EQ(c.cap_eff, CapBit(CAP_NET_BIND_SERVICE));
  EXPECT_EQ(c.cap_bnd, CapBit(CAP_NET_BIND_SERVICE));
  EXPECT_TRUE(c.no_new_privs);
  EXPECT_EQ(c.seccomp, 2);
  EXPECT_EQ(ParseProcStatusCreds("").uid, -1);
  EXPECT_EQ(CapNames(CapBit(CAP_NET_ADMIN) | CapBit(CAP_SYS_ADMIN)), (std::vector<std::string>{"cap_net_admin", "cap_sys_admin"}));
  EXPECT_EQ(CapNames(CapBit(63)), std::vector<std::string>{"cap_63"});
}
