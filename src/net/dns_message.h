// The DNS wire format, as much as the sinkhole needs (RFC 1035): parse the question of a query and
// build an answer. Pure functions over bytes, no I/O; every length is checked against the packet.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

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

// "A", "AAAA", "MX", ... or the number.
std::string DnsTypeName(uint16_t qtype);

}  // namespace airlock
