// The sinkhole's traffic as a PCAP file (`airlock run --net sinkhole --net-pcap FILE`; `airlock analyze`
// writes OUT/traffic.pcap): what the sample sent and what the sinkhole answered, readable by tcpdump,
// Wireshark, Zeek or Suricata.
//
// Contract:
//  - The sinkhole serves sockets, not packets, so the file is a faithful reconstruction, not a
//    capture: classic pcap (magic a1b2c3d4, microseconds), link type RAW (101: each record an IPv4
//    packet), IPv4 and TCP/UDP checksums computed. A TCP connection is written as a handshake, the
//    client's bytes as the sinkhole read them (segments of at most 1,400 bytes), the sinkhole's
//    answer, and a FIN from each side, with consistent sequence numbers; a DNS question and its
//    answer, and any other UDP datagram, as the datagrams that were received and sent. Addresses and
//    ports are those the sample used (the original destination of a redirected connection).
//  - Bounded: at most kMaxBytes are written; past that nothing more, counted (`truncated`).
//  - Created with O_EXCL | O_NOFOLLOW (never over an existing file or through a link), mode 0644.
//  - Not thread-safe: the sinkhole's one thread writes it.
#pragma once

#include <sys/time.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "core/error.h"
#include "core/unique_fd.h"

namespace airlock {

struct Endpoint {
  uint32_t ip = 0;  // network byte order
  uint16_t port = 0;  // host byte order
};

class PcapWriter {
 public:
  static constexpr uint64_t kMaxBytes = 64ull << 20;

  static Result<PcapWriter> Create(const std::string& path);

  void Udp(const Endpoint& from, const Endpoint& to, std::string_view payload, const struct timeval& when);
  void TcpExchange(const Endpoint& client, const Endpoint& server, std::string_view from_client, std::string_view from_server,
                   const struct timeval& when);
  uint64_t written() const { return written_; }
  uint64_t truncated() const { return truncated_; }

 private:
  explicit PcapWriter(UniqueFd fd) : fd_(std::move(fd)) {}
  void Packet(const std::string& ip_packet, const struct timeval& when);
  void Tcp(const Endpoint& from, const Endpoint& to, uint32_t seq, uint32_t ack, uint8_t flags, std::string_view payload,
           const struct timeval& when);

  UniqueFd fd_;
  uint64_t written_ = 0, truncated_ = 0;
  uint16_t ip_id_ = 1;
};

// The IPv4 header checksum / the TCP or UDP checksum over the pseudo-header (exposed for tests).
uint16_t InternetChecksum(std::string_view bytes);

}  // namespace airlock
