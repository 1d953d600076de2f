// The sinkhole's PCAP writer (src/net/pcap_writer.h): the file's structure, checksums a receiver
// would accept, consistent TCP sequence numbers, never over an existing file; and tcpdump, where
// installed, reads it back without complaint.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "net/pcap_writer.h"
#include "test_env.h"

using namespace airlock;

namespace {

namespace fs = std::filesystem;

struct Record {
  std::string packet;  // the IPv4 packet
};

// The records of a pcap file written on this machine (native byte order).
std::vector<Record> ReadRecords(const std::string& path, uint32_t* link_type) {
  std::ifstream in(path, std::ios::binary);
  std::string all((std::istreambuf_iterator<char>(in)), {});
  std::vector<Record> out;
  if (all.size() < 24) return out;
  uint32_t magic = 0;
  std::memcpy(&magic, all.data(), 4);
  EXPECT_EQ(magic, 0xa1b2c3d4u);
  std::memcpy(link_type, all.data() + 20, 4);
  for (size_t at = 24; at + 16 <= all.size();) {
    uint32_t incl = 0;
    std::memcpy(&incl, all.data() + at + 8, 4);
    if (at + 16 + incl > all.size()) break;
    out.push_back({all.substr(at + 16, incl)});
    at += 16 + incl;
  }
  return out;
}

uint32_t Be32(const std::string& s, size_t at) {
  return (uint32_t(uint8_t(s[at])) << 24) | (uint32_t(uint8_t(s[at + 1])) << 16) | (uint32_t(uint8_t(s[at + 2])) << 8) | uint8_t(s[at + 3]);
}

// A transport checksum recomputed over the pseudo-header and the segment as written is 0 when right.
uint16_t VerifyTransport(const std::string& packet) {
  std::string pseudo = packet.substr(12, 8);
  pseudo.push_back(0);
  pseudo.push_back(packet[9]);
  const uint16_t len = static_cast<uint16_t>(packet.size() - 20);
  pseudo.push_back(static_cast<char>(len >> 8));
  pseudo.push_back(static_cast<char>(len & 0xff));
  return InternetChecksum(pseudo + packet.substr(20));
}

Endpoint Ep(const char* ip, uint16_t port) {
  Endpoint e;
  inet_pton(AF_INET, ip, &e.ip);
  e.port = port;
  return e;
}

}  // namespace

TEST(NetPcap, ChecksumOfAKnownHeader) {
  // RFC 1071's example: the sum of these words is ddf2, its complement 220d.
  const std::string words("\x00\x01\xf2\x03\xf4\xf5\xf6\xf7", 8);
  EXPECT_EQ(InternetChecksum(words), 0x220d);
  EXPECT_EQ(InternetChecksum(std::string("\x45", 1)), static_cast<uint16_t>(~0x4500 & 0xffff)) << "an odd byte is padded";
}

TEST(NetPcap, AnExchangeIsWrittenAsPacketsAReceiverAccepts) {
  const std::string dir = test::MakeTempDir("pcap");
  const std::string path = dir + "/t.pcap";
  auto w = PcapWriter::Create(path);
  ASSERT_TRUE(w) << w.error().What();
  struct timeval t {1700000000, 0};
  const Endpoint client = Ep("10.0.0.2", 40000), server = Ep("198.18.0.1", 80), dns = Ep("127.0.0.1", 53);
  w->Udp(client, dns, std::string("\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x02" "c2\x07" "example\x00\x00\x01\x00\x01", 28), t);
  const std::string request = "GET /beacon HTTP/1.1\r\nHost: c2.example\r\n\r\n" + std::string(3000, 'x');  // three segments
  w->TcpExchange(client, server, request, "HTTP/1.1 200 OK\r\n\r\n", t);
  const uint64_t written = w->written();
  uint32_t link = 0;
  auto recs = ReadRecords(path, &link);
  EXPECT_EQ(link, 101u) << "raw IPv4";
  // DNS, then SYN, SYN-ACK, ACK, 3 data segments, ACK, the answer, FIN, FIN, ACK.
  ASSERT_EQ(recs.size(), 1u + 3 + 3 + 1 + 1 + 3);
  EXPECT_EQ(static_cast<uint64_t>(fs::file_size(path)), written);
  std::string sent;
  uint32_t next_seq = 0;
  for (size_t i = 0; i < recs.size(); ++i) {
    const std::string& p = recs[i].packet;
    ASSERT_GE(p.size(), 28u);
    EXPECT_EQ(uint8_t(p[0]), 0x45);
    EXPECT_EQ(InternetChecksum(p.substr(0, 20)), 0) << "IPv4 header checksum of packet " << i;
    EXPECT_EQ(VerifyTransport(p), 0) << "transport checksum of packet " << i;
    if (p[9] != 6) continue;
    const uint8_t flags = uint8_t(p[33]);
    const bool from_client = std::memcmp(p.data() + 12, &client.ip, 4) == 0;
    if (from_client && (flags & 0x08)) {  // PSH: the client's bytes, in order
      const uint32_t seq = Be32(p, 24);
      if (!sent.empty()) {
        EXPECT_EQ(seq, next_seq) << "segment " << i << " follows the previous one";
      }
      sent += p.substr(40);
      next_seq = seq + static_cast<uint32_t>(p.size() - 40);
    }
  }
  EXPECT_EQ(sent, request);
  // Never over an existing file, never through a link.
  EXPECT_FALSE(PcapWriter::Create(path));
  ASSERT_EQ(::symlink((dir + "/elsewhere").c_str(), (dir + "/link.pcap").c_str()), 0);
  EXPECT_FALSE(PcapWriter::Create(dir + "/link.pcap"));
  EXPECT_FALSE(fs::exists(dir + "/elsewhere"));
  // tcpdump reads it: every checksum good, the DNS question and the HTTP request dissected.
  if (::access("/usr/bin/tcpdump", X_OK) != 0) {
    std::cerr << "[          ] no /usr/bin/tcpdump (apt-get install tcpdump): the read-back by a real reader is not tried\n";
  } else {
    auto r = test::Run({"/usr/bin/tcpdump", "-nn", "-vv", "-r", path});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out.find("bad"), std::string::npos) << r.out;
    EXPECT_EQ(r.out.find("incorrect"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("A? c2.example."), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("GET /beacon HTTP/1.1"), std::string::npos) << r.out;
  }
  fs::remove_all(dir);
}
