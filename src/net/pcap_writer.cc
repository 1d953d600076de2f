#include "net/pcap_writer.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <unistd.h>

namespace airlock {

namespace {

constexpr uint32_t kLinkRaw = 101;
constexpr size_t kMaxSegment = 1400;
constexpr uint8_t kFin = 0x01, kSyn = 0x02, kPsh = 0x08, kAck = 0x10;

void PutBe16(std::string& s, uint16_t v) {
  s.push_back(static_cast<char>(v >> 8));
  s.push_back(static_cast<char>(v & 0xff));
}

void PutBe32(std::string& s, uint32_t v) {
  PutBe16(s, static_cast<uint16_t>(v >> 16));
  PutBe16(s, static_cast<uint16_t>(v & 0xffff));
}

// Native byte order, as pcap's own headers are written.
template <typename T>
void PutNative(std::string& s, T v) {
  s.append(reinterpret_cast<const char*>(&v), sizeof v);
}

void PutIp(std::string& s, uint32_t be) { s.append(reinterpret_cast<const char*>(&be), 4); }

// The IPv4 header of a packet carrying `payload_len` bytes of `proto`.
std::string Ipv4Header(const Endpoint& from, const Endpoint& to, uint8_t proto, size_t payload_len, uint16_t id) {
  std::string h;
  h.push_back(0x45);  // version 4, 20-byte header
  h.push_back(0);
  PutBe16(h, static_cast<uint16_t>(20 + payload_len));
  PutBe16(h, id);
  PutBe16(h, 0x4000);  // don't fragment
  h.push_back(64);
  h.push_back(static_cast<char>(proto));
  PutBe16(h, 0);  // checksum, below
  PutIp(h, from.ip);
  PutIp(h, to.ip);
  const uint16_t sum = InternetChecksum(h);
  h[10] = static_cast<char>(sum >> 8);
  h[11] = static_cast<char>(sum & 0xff);
  return h;
}

// The transport checksum: over the pseudo-header and the segment (whose checksum field is zero).
uint16_t TransportChecksum(const Endpoint& from, const Endpoint& to, uint8_t proto, const std::string& segment) {
  std::string pseudo;
  PutIp(pseudo, from.ip);
  PutIp(pseudo, to.ip);
  pseudo.push_back(0);
  pseudo.push_back(static_cast<char>(proto));
  PutBe16(pseudo, static_cast<uint16_t>(segment.size()));
  return InternetChecksum(pseudo + segment);
}

void SetChecksum(std::string& segment, size_t at, uint16_t sum) {
  segment[at] = static_cast<char>(sum >> 8);
  segment[at + 1] = static_cast<char>(sum & 0xff);
}

struct timeval Later(struct timeval t, int usec) {
  t.tv_usec += usec;
  while (t.tv_usec >= 1000000) {
    t.tv_usec -= 1000000;
    ++t.tv_sec;
  }
  return t;
}

}  // namespace

uint16_t InternetChecksum(std::string_view bytes) {
  uint32_t sum = 0;
  for (size_t i = 0; i + 1 < bytes.size(); i += 2) {
    sum += (static_cast<uint8_t>(bytes[i]) << 8) | static_cast<uint8_t>(bytes[i + 1]);
  }
  if (bytes.size() % 2 == 1) sum += static_cast<uint8_t>(bytes.back()) << 8;
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(~sum & 0xffff);
}

Result<PcapWriter> PcapWriter::Create(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644));
  if (!fd) return ErrnoError("create " + path + " (--net-pcap: a new file)");
  std::string header;
  PutNative<uint32_t>(header, 0xa1b2c3d4);
  PutNative<uint16_t>(header, 2);
  PutNative<uint16_t>(header, 4);
  PutNative<int32_t>(header, 0);
  PutNative<uint32_t>(header, 0);
  PutNative<uint32_t>(header, 65535);
  PutNative<uint32_t>(header, kLinkRaw);
  if (::write(fd.get(), header.data(), header.size()) != static_cast<ssize_t>(header.size())) return ErrnoError("write " + path);
  PcapWriter w(std::move(fd));
  w.written_ = header.size();
  return w;
}

void PcapWriter::Packet(const std::string& ip_packet, const struct timeval& when) {
  std::string rec;
  PutNative<uint32_t>(rec, static_cast<uint32_t>(when.tv_sec));
  PutNative<uint32_t>(rec, static_cast<uint32_t>(when.tv_usec));
  PutNative<uint32_t>(rec, static_cast<uint32_t>(ip_packet.size()));
  PutNative<uint32_t>(rec, static_cast<uint32_t>(ip_packet.size()));
  rec += ip_packet;
  if (!fd_ || written_ + rec.size() > kMaxBytes) {
    ++truncated_;
    return;
  }
  if (::write(fd_.get(), rec.data(), rec.size()) != static_cast<ssize_t>(rec.size())) {
    ++truncated_;  // a full disk: the rest is counted, never retried
    fd_.reset();
    return;
  }
  written_ += rec.size();
}

void PcapWriter::Udp(const Endpoint& from, const Endpoint& to, std::string_view payload, const struct timeval& when) {
  const std::string_view body = payload.substr(0, 65507);
  std::string seg;
  PutBe16(seg, from.port);
  PutBe16(seg, to.port);
  PutBe16(seg, static_cast<uint16_t>(8 + body.size()));
  PutBe16(seg, 0);
  seg.append(body);
  uint16_t sum = TransportChecksum(from, to, IPPROTO_UDP, seg);
  SetChecksum(seg, 6, sum == 0 ? 0xffff : sum);
  Packet(Ipv4Header(from, to, IPPROTO_UDP, seg.size(), ip_id_++) + seg, when);
}

void PcapWriter::Tcp(const Endpoint& from, const Endpoint& to, uint32_t seq, uint32_t ack, uint8_t flags, std::string_view payload,
                     const struct timeval& when) {
  std::string seg;
  PutBe16(seg, from.port);
  PutBe16(seg, to.port);
  PutBe32(seg, seq);
  PutBe32(seg, ack);
  seg.push_back(0x50);  // 20-byte header
  seg.push_back(static_cast<char>(flags));
  PutBe16(seg, 65535);  // window
  PutBe16(seg, 0);      // checksum, below
  PutBe16(seg, 0);      // urgent pointer
  seg.append(payload);
  SetChecksum(seg, 16, TransportChecksum(from, to, IPPROTO_TCP, seg));
  Packet(Ipv4Header(from, to, IPPROTO_TCP, seg.size(), ip_id_++) + seg, when);
}

void PcapWriter::TcpExchange(const Endpoint& client, const Endpoint& server, std::string_view from_client, std::string_view from_server,
                             const struct timeval& when) {
  uint32_t cseq = 0x1000, sseq = 0x8000;  // initial sequence numbers; every later one follows from them
  int us = 0;
  auto t = [&] { return Later(when, us++ * 100); };
  Tcp(client, server, cseq++, 0, kSyn, {}, t());
  Tcp(server, client, sseq++, cseq, kSyn | kAck, {}, t());
  Tcp(client, server, cseq, sseq, kAck, {}, t());
  for (size_t at = 0; at < from_client.size(); at += kMaxSegment) {
    std::string_view part = from_client.substr(at, kMaxSegment);
    Tcp(client, server, cseq, sseq, kPsh | kAck, part, t());
    cseq += static_cast<uint32_t>(part.size());
  }
  if (!from_client.empty()) Tcp(server, client, sseq, cseq, kAck, {}, t());
  for (size_t at = 0; at < from_server.size(); at += kMaxSegment) {
    std::string_view part = from_server.substr(at, kMaxSegment);
    Tcp(server, client, sseq, cseq, kPsh | kAck, part, t());
    sseq += static_cast<uint32_t>(part.size());
  }
  Tcp(server, client, sseq++, cseq, kFin | kAck, {}, t());
  Tcp(client, server, cseq++, sseq, kFin | kAck, {}, t());
  Tcp(server, client, sseq, cseq, kAck, {}, t());
}

}  // namespace airlock
