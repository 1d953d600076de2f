// The sinkhole's DNS wire-format parser and response builder (src/net/dns_message.h).
#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <string>

#include "net/dns_message.h"

using namespace airlock;

namespace {

// A standard query for `name` with type `qtype`, id 0x1234, RD set.
std::string Query(const std::string& name, uint16_t qtype) {
  std::string p = {'\x12', '\x34', '\x01', '\x00', '\x00', '\x01', 0, 0, 0, 0, 0, 0};
  size_t start = 0;
  while (start <= name.size()) {
    size_t dot = name.find('.', start);
    if (dot == std::string::npos) dot = name.size();
    p.push_back(static_cast<char>(dot - start));
    p += name.substr(start, dot - start);
    start = dot + 1;
  }
  p.push_back('\0');
  p.push_back(static_cast<char>(qtype >> 8));
  p.push_back(static_cast<char>(qtype & 0xff));
  p += std::string("\x00\x01", 2);
  return p;
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
