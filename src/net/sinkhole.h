// The network sinkhole of `--net sinkhole` (airlock analyze): serves the sockets that
// ConfigureNetnsFromParent created inside the sandbox's namespace, on one thread of the supervisor
// (outside the sandbox). Nothing leaves the machine:
//  - DNS: every A question is answered with an address of its own from 198.18.0.0/15 (RFC 2544
//    benchmarking space, routed locally inside the sandbox), so a later connection to that address
//    is reported with the name it was resolved from; other types get an empty answer.
//  - TCP: every connection (any address, any port but loopback) is accepted; the original
//    destination comes from SO_ORIGINAL_DST, the first bytes (up to 4 KiB) are recorded and HTTP
//    requests parsed (Method, Url, Host, UserAgent) and answered "200 OK" with an empty body.
//  - UDP (not DNS): the first bytes of each datagram are recorded.
// Each record is one JSON event (docs/EVENTS.md) handed to `emit`; bounded: at most
// kMaxConnections open connections, kMaxRecords events (the rest counted), kConnectionMs per
// connection. With a `pcap_path`, the same traffic is written as packets (net/pcap_writer.h): every
// DNS question and answer, every UDP datagram, every TCP connection with what the sample sent and
// what the sinkhole answered.
//
// Threading: Start() spawns the thread; emit runs on it. Stop() (idempotent, also the destructor)
// joins it; Summary() is valid after Stop().
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/unique_fd.h"
#include "net/service_thread.h"
#include "net/netns_setup.h"
#include "net/pcap_writer.h"

namespace airlock {

class Sinkhole {
 public:
  static constexpr size_t kMaxConnections = 64;
  static constexpr uint64_t kMaxRecords = 4096;
  static constexpr size_t kFirstBytes = 4096;
  static constexpr int kConnectionMs = 5000;  // a connection is closed after this
  static constexpr int kQuietMs = 1000;       // first bytes are complete after this much silence
  static constexpr size_t kMaxNames = 65536;  // distinct names given addresses of their own

  using Emit = std::function<void(const nlohmann::json& event)>;
  Sinkhole(NetnsSetup sockets, Emit emit, std::string pcap_path = "");
  ~Sinkhole();
  Sinkhole(const Sinkhole&) = delete;
  Sinkhole& operator=(const Sinkhole&) = delete;

  Status Start();  // an error when the PCAP file cannot be created
  void Stop();
  // {"mode":"sinkhole","dns_queries":..,"connections":..,"udp_datagrams":..,"records_dropped":..,
  //  "domains":[..],"destinations":["ip:port",..],"urls":[..]} (lists capped at 256 entries), and with
  //  a PCAP file "pcap":{"path":..,"bytes":..,"truncated":..}.
  nlohmann::json Summary() const;

  // The answer for the n-th distinct name (0-based): 198.18.0.1, 198.18.0.2, ... (network order).
  static uint32_t AddressForIndex(size_t n);

 private:
  struct Conn;
  void Loop();
  void AcceptAll();
  void ServeDns();
  void ServeUdp();
  // Returns false when the connection is finished and must be closed.
  bool ReadConn(Conn& c);
  void Record(Conn& c);
  void Count(nlohmann::json ev);
  std::string NameFor(const std::string& ip) const;

  NetnsSetup s_;
  Emit emit_;
  std::string pcap_path_;
  std::optional<PcapWriter> pcap_;
  ServiceThread worker_;  // runs Loop(); the destructor stops it before any member goes
  std::vector<std::unique_ptr<Conn>> conns_;
  std::map<std::string, std::string> name_to_ip_;
  std::map<std::string, std::string> ip_to_name_;
  uint64_t dns_queries_ = 0, connections_ = 0, udp_datagrams_ = 0, records_ = 0, dropped_ = 0;
  std::set<std::string> domains_, destinations_, urls_;
};

}  // namespace airlock
