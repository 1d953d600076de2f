// The sinkhole's DNS wire-format parser and response builder (src/net/dns_message.h).
#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "mutate.h"
#include "net/dns_message.h"

using namespace airlock;

namespace {

// A query whose question name is the given raw labels (bytes as-is).
std::string RawQuery(const std::vector<std::string>& labels, uint16_t qtype = 1) {
  std::string p = {'\x12', '\x34', '\x01', '\x00', '\x00', '\x01', 0, 0, 0, 0, 0, 0};
  for (const auto& l : labels) {
    p.push_back(static_cast<char>(l.size()));
    p += l;
  }
  p.push_back('\0');
  p.push_back(static_cast<char>(qtype >> 8));
  p.push_back(static_cast<char>(qtype & 0xff));
  p += std::string("\x00\x01", 2);
  return p;
}

// A standard query for `name` with type `qtype`, id 0x1234, RD set (the dotted name as labels; an
// empty name is one empty label).
std::string Query(const std::string& name, uint16_t qtype) {
  std::vector<std::string> labels;
  for (size_t start = 0; start <= name.size();) {
    size_t dot = std::min(name.find('.', start), name.size());
    labels.push_back(name.substr(start, dot - start));
    start = dot + 1;
  }
  return RawQuery(labels, qtype);
}

}  // namespace

TEST(NetDns, ParsesTheQuestion) {
  auto q = ParseDnsQuery(Query("c2.evil.example", 1));
  ASSERT_TRUE(q);
  EXPECT_EQ(q->id, 0x1234);
  EXPECT_EQ(q->name, "c2.evil.example");
  EXPECT_EQ(q->qtype, 1);
  EXPECT_EQ(q->qclass, 1);
  EXPECT_EQ(DnsTypeName(q->qtype), "A");
  EXPECT_EQ(DnsTypeName(28), "AAAA");
  EXPECT_EQ(DnsTypeName(999), "999");
}

TEST(NetDns, RejectsResponsesTruncatedAndCompressedQuestions) {
  std::string q = Query("evil.example", 1);
  std::string response = q;
  response[2] = static_cast<char>(response[2] | 0x80);
  EXPECT_FALSE(ParseDnsQuery(response));
  EXPECT_FALSE(ParseDnsQuery(q.substr(0, q.size() - 3)));  // qtype/qclass cut
  EXPECT_FALSE(ParseDnsQuery(q.substr(0, 14)));            // label runs past the end
  std::string pointer = q;
  pointer[12] = static_cast<char>(0xc0);  // a compression pointer in the question
  EXPECT_FALSE(ParseDnsQuery(pointer));
  std::string noq = q;
  noq[5] = 0;  // QDCOUNT 0
  EXPECT_FALSE(ParseDnsQuery(noq));
  EXPECT_FALSE(ParseDnsQuery(""));
  // A name longer than 255 bytes.
  std::string longname;
  for (int i = 0; i < 5; ++i) longname += std::string(60, 'a') + ".";
  longname += "x";
  EXPECT_FALSE(ParseDnsQuery(Query(longname, 1)));
}

TEST(NetDns, AnswersAWithTheGivenAddress) {
  std::string q = Query("evil.example", 1);
  auto parsed = ParseDnsQuery(q);
  ASSERT_TRUE(parsed);
  uint32_t addr;
  inet_pton(AF_INET, "198.18.0.7", &addr);
  std::string r = BuildDnsResponse(q, *parsed, addr);
  ASSERT_EQ(r.size(), q.size() + 16);
  EXPECT_EQ(r.substr(0, 2), q.substr(0, 2));                      // id echoed
  EXPECT_TRUE(static_cast<unsigned char>(r[2]) & 0x80);          // QR
  EXPECT_TRUE(static_cast<unsigned char>(r[2]) & 0x01);          // RD copied
  EXPECT_EQ(r[7], 1);                                            // ANCOUNT 1
  EXPECT_EQ(r.substr(12, q.size() - 12), q.substr(12));          // question echoed
  EXPECT_EQ(r.substr(r.size() - 4), std::string(reinterpret_cast<const char*>(&addr), 4));
  // The response is not itself a query.
  EXPECT_FALSE(ParseDnsQuery(r));
}

TEST(NetDns, AaaaAndOtherTypesGetAnEmptyAnswer) {
  std::string q = Query("evil.example", 28);
  auto parsed = ParseDnsQuery(q);
  ASSERT_TRUE(parsed);
  std::string r = BuildDnsResponse(q, *parsed, 0x01020304u);
  EXPECT_EQ(r.size(), q.size());
  EXPECT_EQ(r[7], 0);  // ANCOUNT 0
  EXPECT_EQ(r[3] & 0x0f, 0);  // NOERROR
}

// --- Malformed and hostile input (issue 11 item 4) ---

TEST(NetDns, OddBytesInLabelsAreKeptAsIs) {
  // A dot, a NUL, a space and a high byte inside labels: the name is recorded byte for byte (the report
  // escapes it); a '.' inside a label is indistinguishable from a label boundary in the dotted form.
  std::string odd = std::string("a.b", 3) + std::string(1, '\0') + " \xff";
  auto q = ParseDnsQuery(RawQuery({odd, "example"}));
  ASSERT_TRUE(q);
  EXPECT_EQ(q->name, odd + ".example");
  EXPECT_EQ(q->name.size(), odd.size() + 8);
}

TEST(NetDns, RootNameAndExactQuestionEnd) {
  auto root = ParseDnsQuery(RawQuery({}));
  ASSERT_TRUE(root);
  EXPECT_EQ(root->name, "");
  EXPECT_EQ(root->question_end, 17u);
  std::string q = RawQuery({"www", "example"}, 28);
  auto parsed = ParseDnsQuery(q);
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->question_end, q.size());
  EXPECT_EQ(parsed->qtype, 28);
}

TEST(NetDns, LabelLengthLimits) {
  EXPECT_TRUE(ParseDnsQuery(RawQuery({std::string(63, 'a'), "x"})));
  // 64..255 as a length byte: 0x40/0x80 are reserved label types, 0xc0 is a pointer; none is a label.
  for (int len : {64, 0x40 | 5, 0x80 | 5, 0xc0 | 5, 255}) {
    std::string p = RawQuery({"x"});
    p[12] = static_cast<char>(len);
    p += std::string(300, 'a');  // enough bytes that only the length byte itself can be the reason
    EXPECT_FALSE(ParseDnsQuery(p)) << len;
  }
}

TEST(NetDns, NameOfAtMost255OctetsOnTheWire) {
  // RFC 1035 2.3.4: a name is at most 255 octets, counting the length bytes and the final zero.
  // 3 x 63 + 61 with 4 length bytes and the zero: 255 octets (253 characters dotted).
  std::vector<std::string> max = {std::string(63, 'a'), std::string(63, 'b'), std::string(63, 'c'), std::string(61, 'd')};
  auto q = ParseDnsQuery(RawQuery(max));
  ASSERT_TRUE(q);
  EXPECT_EQ(q->name.size(), 253u);
  max[3] += 'd';  // 256 octets
  EXPECT_FALSE(ParseDnsQuery(RawQuery(max)));
}

TEST(NetDns, CompressionPointersAndLoopsAreRefusedWithoutFollowing) {
  // A pointer to itself (offset 12) would loop forever in a parser that follows pointers.
  std::string self = std::string("\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00", 12) + "\xc0\x0c" + std::string("\x00\x01\x00\x01", 4);
  EXPECT_FALSE(ParseDnsQuery(self));
  // A pointer after a first label, pointing back to the start of the name.
  std::string mid = std::string("\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00", 12) + "\x03www\xc0\x0c" +
                    std::string("\x00\x01\x00\x01", 4);
  EXPECT_FALSE(ParseDnsQuery(mid));
}

TEST(NetDns, HeaderChecks) {
  std::string q = RawQuery({"x", "example"});
  for (int opcode : {1, 2, 4, 5, 15}) {  // IQUERY, STATUS, NOTIFY, UPDATE, reserved
    std::string p = q;
    p[2] = static_cast<char>((p[2] & 0x87) | (opcode << 3));
    EXPECT_FALSE(ParseDnsQuery(p)) << opcode;
  }
  std::string two = q;
  two[5] = 2;  // QDCOUNT 2: the first question is taken
  auto t = ParseDnsQuery(two);
  ASSERT_TRUE(t);
  EXPECT_EQ(t->name, "x.example");
  EXPECT_FALSE(ParseDnsQuery(q.substr(0, 16)));  // shorter than header + root + type + class
  std::string huge = q + std::string(65536, '\0');
  EXPECT_FALSE(ParseDnsQuery(huge)) << "larger than any DNS message";
}

TEST(NetDns, EveryTruncationOfAValidQueryIsRefused) {
  std::string q = RawQuery({"www", "evil", "example"});
  ASSERT_TRUE(ParseDnsQuery(q));
  for (size_t cut = 0; cut < q.size(); ++cut) EXPECT_FALSE(ParseDnsQuery(q.substr(0, cut))) << cut;
}

TEST(NetDns, RandomMutationsNeverReadPastThePacket) {
  // Deterministic mutations of a valid query: anything accepted must lie within the bytes given.
  std::string base = RawQuery({"c2", "evil", "example"}) + std::string("\x00\x00\x29\x10\x00", 5);
  airlock::test::ForEachMutation(12345, base, 20000, [](int round, const std::string& p) {
    auto q = ParseDnsQuery(p);
    if (!q) return;
    ASSERT_LE(q->question_end, p.size()) << round;
    ASSERT_LE(q->name.size(), 253u) << round;
    std::string r = BuildDnsResponse(p, *q, 0x04030201u);
    ASSERT_GE(r.size(), q->question_end) << round;
  });
}

TEST(NetDns, ResponseEchoesOnlyTheQuestionAndSetsTheFlags) {
  // A query with an EDNS OPT record after the question: the response carries the question only.
  std::string q = RawQuery({"evil", "example"});
  q[11] = 1;  // ARCOUNT 1
  q += std::string("\x00\x00\x29\x10\x00\x00\x00\x00\x00\x00\x00", 11);
  q[2] = 0;  // RD clear
  auto parsed = ParseDnsQuery(q);
  ASSERT_TRUE(parsed);
  std::string r = BuildDnsResponse(q, *parsed, 0x04030201u);
  EXPECT_EQ(r.size(), parsed->question_end + 16);
  EXPECT_EQ(static_cast<unsigned char>(r[2]), 0x84) << "QR, AA; opcode 0; RD not copied when clear";
  EXPECT_EQ(static_cast<unsigned char>(r[3]), 0x80) << "RA, NOERROR";
  EXPECT_EQ(r[11], 0) << "ARCOUNT 0";
  size_t ans = parsed->question_end;
  EXPECT_EQ(r.substr(ans, 2), std::string("\xc0\x0c", 2)) << "name by pointer to the question";
  EXPECT_EQ(r.substr(ans + 6, 4), std::string("\x00\x00\x00\x3c", 4)) << "TTL 60";
  EXPECT_EQ(r.substr(ans + 10, 2), std::string("\x00\x04", 2)) << "RDLENGTH 4";
}

TEST(NetDns, NoAddressOrNotInternetClassGivesNoData) {
  std::string q = RawQuery({"evil", "example"});
  auto parsed = ParseDnsQuery(q);
  ASSERT_TRUE(parsed);
  std::string none = BuildDnsResponse(q, *parsed, std::nullopt);
  EXPECT_EQ(none.size(), q.size());
  EXPECT_EQ(none[7], 0);
  std::string chaos = q;
  chaos[chaos.size() - 1] = 3;  // class CH
  auto pc = ParseDnsQuery(chaos);
  ASSERT_TRUE(pc);
  EXPECT_EQ(pc->qclass, 3);
  EXPECT_EQ(BuildDnsResponse(chaos, *pc, 0x01020304u)[7], 0);
}

TEST(NetDns, TypeNames) {
  std::vector<std::pair<uint16_t, std::string>> names = {{1, "A"},   {2, "NS"},    {5, "CNAME"}, {12, "PTR"}, {15, "MX"},
                                                         {16, "TXT"}, {28, "AAAA"}, {33, "SRV"},  {65, "HTTPS"}, {0, "0"},
                                                         {65535, "65535"}};
  for (const auto& [t, n] : names) EXPECT_EQ(DnsTypeName(t), n);
}
