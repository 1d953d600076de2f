#include "net/dns_message.h"

namespace airlock {
namespace {

uint16_t Be16(std::string_view p, size_t at) {
  return static_cast<uint16_t>((static_cast<unsigned char>(p[at]) << 8) | static_cast<unsigned char>(p[at + 1]));
}

void Put16(std::string& out, uint16_t v) {
  out.push_back(static_cast<char>(v >> 8));
  out.push_back(static_cast<char>(v & 0xff));
}

}  // namespace

std::optional<DnsQuestion> ParseDnsQuery(std::string_view p) {
  if (p.size() < 12 + 1 + 4 || p.size() > 65535) return std::nullopt;
  DnsQuestion q;
  q.id = Be16(p, 0);
  q.flags = Be16(p, 2);
  if (q.flags & 0x8000) return std::nullopt;           // a response
  if (((q.flags >> 11) & 0xf) != 0) return std::nullopt;  // not a standard query
  if (Be16(p, 4) == 0) return std::nullopt;              // no question
  size_t i = 12;
  size_t total = 0;
  for (;;) {
    if (i >= p.size()) return std::nullopt;
    auto len = static_cast<unsigned char>(p[i]);
    if (len == 0) {
      ++i;
      break;
    }
    if (len > 63 || i + 1 + len > p.size()) return std::nullopt;  // compression pointers are not valid here
    total += len + 1;
    if (total + 1 > 255) return std::nullopt;  // RFC 1035 2.3.4: 255 octets with the final zero byte
    if (!q.name.empty()) q.name += '.';
    q.name.append(p.substr(i + 1, len));
    i += 1 + len;
  }
  if (i + 4 > p.size()) return std::nullopt;
  q.qtype = Be16(p, i);
  q.qclass = Be16(p, i + 2);
  q.question_end = i + 4;
  return q;
}

std::string BuildDnsReply(std::string_view packet, const DnsQuestion& q, uint8_t rcode, const std::vector<DnsRecord>& answers,
                          size_t max_size) {
  std::string body;
  uint16_t count = 0;
  size_t size = q.question_end;
  for (const auto& rr : answers) {
    size_t len = 12 + rr.rdata.size();  // name pointer, type, class, TTL, length, data
    if (size + len > max_size || rr.rdata.size() > 0xffff) break;
    size += len;
    ++count;
    Put16(body, 0xc00c);  // pointer to the name in the question
    Put16(body, rr.type);
    Put16(body, 1);   // IN
    Put16(body, 0);   // TTL (32 bit) = 60
    Put16(body, 60);
    Put16(body, static_cast<uint16_t>(rr.rdata.size()));
    body += rr.rdata;
  }
  std::string out;
  out.reserve(size);
  Put16(out, q.id);
  // QR=1, opcode 0, AA=1, RD copied, RA=1, RCODE.
  Put16(out, static_cast<uint16_t>(0x8000 | 0x0400 | (q.flags & 0x0100) | 0x0080 | (rcode & 0x0f)));
  Put16(out, 1);      // QDCOUNT
  Put16(out, count);  // ANCOUNT
  Put16(out, 0);      // NSCOUNT
  Put16(out, 0);      // ARCOUNT
  out.append(packet.substr(12, q.question_end - 12));
  return out + body;
}

std::string BuildDnsResponse(std::string_view packet, const DnsQuestion& q, std::optional<uint32_t> ipv4_be) {
  std::vector<DnsRecord> answers;
  if (ipv4_be.has_value() && q.qtype == 1 && q.qclass == 1) {
    uint32_t v = *ipv4_be;
    answers.push_back({1, std::string(reinterpret_cast<const char*>(&v), 4)});
  }
  return BuildDnsReply(packet, q, 0, answers, 65535);
}

std::string DnsTypeName(uint16_t t) {
  switch (t) {
    case 1: return "A";
    case 2: return "NS";
    case 5: return "CNAME";
    case 12: return "PTR";
    case 15: return "MX";
    case 16: return "TXT";
    case 28: return "AAAA";
    case 33: return "SRV";
    case 65: return "HTTPS";
    default: return std::to_string(t);
  }
}

}  // namespace airlock
