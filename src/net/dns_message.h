// The DNS wire format, as much as the sinkhole needs (RFC 1035): parse the question of a query and
// build an answer. Pure functions over bytes, no I/O; every length is checked against the packet.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace airlock {

struct DnsQuestion {
  uint16_t id = 0;
  uint16_t flags = 0;
  std::string name;        // dotted, as sent (no trailing dot); label bytes are kept as-is
  uint16_t qtype = 0;      // 1 A, 28 AAAA, ...
  uint16_t qclass = 0;
  size_t question_end = 0; // offset just past the question section
};

// The first question of a standard query (QR=0, opcode 0, QDCOUNT>=1, no compression in the
// question). nullopt for anything else (responses, truncated or malformed packets).
std::optional<DnsQuestion> ParseDnsQuery(std::string_view packet);

// A response to `q` echoing its question: one A record (TTL 60) when q is an A/IN question and
// ipv4 (network byte order) is given, otherwise NOERROR with no answers (NODATA), which makes
// resolvers fall back from AAAA to A.
std::string BuildDnsResponse(std::string_view packet, const DnsQuestion& q, std::optional<uint32_t> ipv4_be);

// One answer record for BuildDnsReply: its type (1 A, 28 AAAA) and its RDATA (4 or 16 address bytes).
struct DnsRecord {
  uint16_t type = 0;
  std::string rdata;
};

// A response to `q` echoing its question, with RCODE `rcode` (0 NOERROR, 3 NXDOMAIN, 5 REFUSED) and
// the records (class IN, TTL 60, owner: the question's name) that fit in max_size bytes; the rest
// are left out (not truncated mid-record; plain UDP DNS has 512 bytes).
std::string BuildDnsReply(std::string_view packet, const DnsQuestion& q, uint8_t rcode, const std::vector<DnsRecord>& answers,
                          size_t max_size = 512);

// "A", "AAAA", "MX", ... or the number.
std::string DnsTypeName(uint16_t qtype);

}  // namespace airlock
