#include "net/sinkhole.h"

#include <arpa/inet.h>
#include <linux/netfilter_ipv4.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <fmt/format.h>

#include <chrono>
#include <cstring>

#include "core/clock.h"
#include "net/dns_message.h"
#include "net/http_request.h"

namespace airlock {
namespace {

using Clock = std::chrono::steady_clock;

std::string Ip4(uint32_t be) {
  char b[INET_ADDRSTRLEN];
  struct in_addr a {};
  a.s_addr = be;
  inet_ntop(AF_INET, &a, b, sizeof b);
  return b;
}

void CappedInsert(std::set<std::string>& s, const std::string& v) {
  if (s.size() < 256) s.insert(v);
}

struct timeval Now() {
  struct timeval t {};
  ::gettimeofday(&t, nullptr);
  return t;
}

Endpoint Of(const struct sockaddr_in& a) { return {a.sin_addr.s_addr, ntohs(a.sin_port)}; }

// The local address a socket serves (where the sample's redirected datagrams went).
Endpoint LocalOf(int fd) {
  struct sockaddr_in self {};
  socklen_t len = sizeof self;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&self), &len);
  return Of(self);
}

}  // namespace

struct Sinkhole::Conn {
  UniqueFd fd;
  Endpoint client, server;  // for the PCAP file
  std::string dst_ip;
  uint16_t dst_port = 0;
  uint16_t src_port = 0;
  std::string data;
  Clock::time_point opened, last;
  bool recorded = false;  // event emitted; now draining until EOF or the deadline
};

Sinkhole::Sinkhole(NetnsSetup sockets, Emit emit, std::string pcap_path)
    : s_(std::move(sockets)), emit_(std::move(emit)), pcap_path_(std::move(pcap_path)) {}

Sinkhole::~Sinkhole() { Stop(); }

uint32_t Sinkhole::AddressForIndex(size_t n) {
  // 198.18.0.0/15 has 131072 addresses; skip .0 and wrap within the block.
  uint32_t host = (198u << 24) | (18u << 16);
  host += static_cast<uint32_t>(1 + n % 131070);
  return htonl(host);
}

Status Sinkhole::Start() {
  if (!pcap_path_.empty()) {
    auto w = PcapWriter::Create(pcap_path_);
    if (!w) return std::unexpected(w.error());
    pcap_.emplace(std::move(*w));
  }
  return worker_.Start([this] { Loop(); });
}

void Sinkhole::Stop() { worker_.Stop(); }

void Sinkhole::Count(nlohmann::json ev) {
  if (records_ >= kMaxRecords) {
    ++dropped_;
    return;
  }
  ++records_;
  ev["UtcTime"] = UtcTimeNow();
  ev["Sinkhole"] = "true";
  if (emit_) emit_(ev);
}

std::string Sinkhole::NameFor(const std::string& ip) const {
  auto it = ip_to_name_.find(ip);
  return it == ip_to_name_.end() ? "" : it->second;
}

void Sinkhole::Loop() {
  std::vector<struct pollfd> fds;
  for (;;) {
    fds.clear();
    fds.push_back({worker_.stop_fd(), POLLIN, 0});
    fds.push_back({s_.tcp.get(), static_cast<short>(conns_.size() < kMaxConnections ? POLLIN : 0), 0});
    fds.push_back({s_.dns.get(), POLLIN, 0});
    fds.push_back({s_.udp.get(), POLLIN, 0});
    auto now = Clock::now();
    int timeout = -1;
    for (const auto& c : conns_) {
      fds.push_back({c->fd.get(), POLLIN, 0});
      auto due = c->recorded ? c->opened + std::chrono::milliseconds(kConnectionMs)
                             : std::min(c->opened + std::chrono::milliseconds(kConnectionMs), c->last + std::chrono::milliseconds(kQuietMs));
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(due - now).count();
      int l = left < 0 ? 0 : static_cast<int>(left) + 1;
      timeout = timeout < 0 ? l : std::min(timeout, l);
    }
    int n = ::poll(fds.data(), fds.size(), timeout);
    if (n < 0 && errno != EINTR) break;
    if (fds[0].revents) break;
    if (fds[2].revents) ServeDns();
    if (fds[3].revents) ServeUdp();
    now = Clock::now();
    std::vector<std::unique_ptr<Conn>> keep;
    for (size_t i = 0; i < conns_.size(); ++i) {
      std::unique_ptr<Conn>& c = conns_[i];
      bool alive = true;
      if (n > 0 && fds[4 + i].revents) alive = ReadConn(*c);
      if (alive && !c->recorded && now - c->last >= std::chrono::milliseconds(kQuietMs)) {
        Record(*c);
      }
      if (alive && now - c->opened >= std::chrono::milliseconds(kConnectionMs)) {
        if (!c->recorded) Record(*c);
        alive = false;
      }
      if (alive) keep.push_back(std::move(c));
    }
    conns_ = std::move(keep);
    if (fds[1].revents) AcceptAll();
  }
  // Stopping (the sandbox is gone): record what the open connections sent.
  for (auto& c : conns_) {
    if (!c->recorded) Record(*c);
  }
  conns_.clear();
}

void Sinkhole::AcceptAll() {
  while (conns_.size() < kMaxConnections) {
    struct sockaddr_in peer {};
    socklen_t plen = sizeof peer;
    int fd = ::accept4(s_.tcp.get(), reinterpret_cast<sockaddr*>(&peer), &plen, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd < 0) return;
    auto c = std::make_unique<Conn>();
    c->fd.reset(fd);
    c->src_port = ntohs(peer.sin_port);
    c->client = Of(peer);
    struct sockaddr_in orig {};
    socklen_t olen = sizeof orig;
    // The original destination of a redirected connection; else the listener's own address.
    c->server = ::getsockopt(fd, SOL_IP, SO_ORIGINAL_DST, &orig, &olen) == 0 ? Of(orig) : LocalOf(fd);
    c->dst_ip = Ip4(c->server.ip);
    c->dst_port = c->server.port;
    c->opened = c->last = Clock::now();
    ++connections_;
    conns_.push_back(std::move(c));
  }
}

bool Sinkhole::ReadConn(Conn& c) {
  char buf[4096];
  for (;;) {
    ssize_t r = ::read(c.fd.get(), buf, sizeof buf);
    if (r < 0) {
      if (errno == EAGAIN || errno == EINTR) return true;
      if (!c.recorded) Record(c);
      return false;
    }
    if (r == 0) {
      if (!c.recorded) Record(c);
      return false;
    }
    if (c.recorded) continue;  // draining
    c.last = Clock::now();
    c.data.append(buf, std::min<size_t>(static_cast<size_t>(r), kFirstBytes - c.data.size()));
    bool complete = c.data.size() >= kFirstBytes;
    if (auto http = ParseHttpRequest(c.data); http && http->head_size > 0) {
      size_t want = http->head_size + http->content_length.value_or(0);
      if (c.data.size() >= std::min(want, kFirstBytes)) complete = true;
    }
    if (complete) Record(c);
  }
}

void Sinkhole::Record(Conn& c) {
  static constexpr char kHttpResponse[] =
      "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
  c.recorded = true;
  std::string_view answer;  // what the sinkhole sent back
  nlohmann::json ev = {{"category", "network_connection"}, {"EventID", 3},        {"Protocol", "tcp"},
                       {"Initiated", "true"},                {"DestinationIp", c.dst_ip}, {"DestinationPort", c.dst_port},
                       {"SourcePort", c.src_port},           {"BytesReceived", c.data.size()}};
  std::string name = NameFor(c.dst_ip);
  if (!name.empty()) ev["DestinationHostname"] = name;
  if (!c.data.empty()) ev["FirstBytes"] = EscapeBytes(c.data, kFirstBytes);
  CappedInsert(destinations_, fmt::format("tcp {}:{}", c.dst_ip, c.dst_port));
  if (std::string sni = TlsServerName(c.data); !sni.empty()) {
    ev["TlsServerName"] = sni;
    CappedInsert(urls_, "https://" + sni + "/ (TLS)");
  }
  if (auto http = ParseHttpRequest(c.data)) {
    std::string host_fallback = name.empty() ? c.dst_ip : name;
    if (c.dst_port != 80 && http->host.empty()) host_fallback += fmt::format(":{}", c.dst_port);
    std::string url = http->Url(host_fallback);
    ev["Method"] = http->method;
    ev["Url"] = url;
    if (!http->host.empty()) ev["Host"] = http->host;
    if (!http->user_agent.empty()) ev["UserAgent"] = http->user_agent;
    CappedInsert(urls_, url);
    if (::send(c.fd.get(), kHttpResponse, sizeof kHttpResponse - 1, MSG_NOSIGNAL | MSG_DONTWAIT) < 0) {
      // The client went away; the record stands.
    }
    ::shutdown(c.fd.get(), SHUT_WR);
    answer = std::string_view(kHttpResponse, sizeof kHttpResponse - 1);
  }
  if (pcap_) pcap_->TcpExchange(c.client, c.server, c.data, answer, Now());
  Count(std::move(ev));
}

void Sinkhole::ServeDns() {
  for (int i = 0; i < 64; ++i) {
    char buf[1500];
    struct sockaddr_in peer {};
    socklen_t plen = sizeof peer;
    ssize_t r = ::recvfrom(s_.dns.get(), buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&peer), &plen);
    if (r <= 0) return;
    std::string_view pkt(buf, static_cast<size_t>(r));
    auto q = ParseDnsQuery(pkt);
    if (!q) {
      if (pcap_) pcap_->Udp(Of(peer), {LocalOf(s_.dns.get()).ip, 53}, pkt, Now());
      Count({{"category", "dns_query"}, {"EventID", 22}, {"QueryName", ""}, {"QueryStatus", "malformed"},
             {"FirstBytes", EscapeBytes(pkt, 512)}});
      continue;
    }
    ++dns_queries_;
    std::optional<uint32_t> addr;
    std::string results;
    if (q->qtype == 1 && q->qclass == 1) {
      std::string key = q->name;
      for (char& ch : key) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      auto it = name_to_ip_.find(key);
      std::string ip;
      if (it != name_to_ip_.end()) {
        ip = it->second;
      } else if (name_to_ip_.size() < kMaxNames) {
        ip = Ip4(AddressForIndex(name_to_ip_.size()));
        name_to_ip_.emplace(key, ip);
        ip_to_name_[ip] = q->name;
      } else {
        ip = Ip4(AddressForIndex(kMaxNames));  // past the bound, new names share one address
      }
      uint32_t be;
      inet_pton(AF_INET, ip.c_str(), &be);
      addr = be;
      results = ip;
    }
    std::string resp = BuildDnsResponse(pkt, *q, addr);
    ::sendto(s_.dns.get(), resp.data(), resp.size(), MSG_DONTWAIT, reinterpret_cast<sockaddr*>(&peer), plen);
    if (pcap_) {
      Endpoint server = LocalOf(s_.dns.get());
      server.port = 53;  // what the sample asked (nftables redirected it to the sinkhole's port)
      pcap_->Udp(Of(peer), server, pkt, Now());
      pcap_->Udp(server, Of(peer), resp, Now());
    }
    CappedInsert(domains_, q->name);
    Count({{"category", "dns_query"}, {"EventID", 22}, {"QueryName", q->name}, {"QueryType", DnsTypeName(q->qtype)},
           {"QueryStatus", "0"}, {"QueryResults", results}});
  }
}

void Sinkhole::ServeUdp() {
  for (int i = 0; i < 64; ++i) {
    char buf[4096];
    struct sockaddr_in peer {};
    socklen_t plen = sizeof peer;
    ssize_t r = ::recvfrom(s_.udp.get(), buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&peer), &plen);
    if (r < 0) return;
    ++udp_datagrams_;
    if (pcap_) pcap_->Udp(Of(peer), LocalOf(s_.udp.get()), std::string_view(buf, static_cast<size_t>(r)), Now());
    // Redirected datagrams keep no original destination for an unconnected socket; the monitor's
    // network_connection event of the sendto/connect carries it (docs/EVENTS.md).
    Count({{"category", "network_connection"}, {"EventID", 3}, {"Protocol", "udp"}, {"Initiated", "true"},
           {"SourcePort", ntohs(peer.sin_port)}, {"BytesReceived", r},
           {"FirstBytes", EscapeBytes(std::string_view(buf, static_cast<size_t>(r)), kFirstBytes)}});
  }
}

nlohmann::json Sinkhole::Summary() const {
  nlohmann::json out = {{"mode", "sinkhole"},
          {"dns_queries", dns_queries_},
          {"connections", connections_},
          {"udp_datagrams", udp_datagrams_},
          {"records_dropped", dropped_},
          {"domains", domains_},
          {"destinations", destinations_},
          {"urls", urls_}};
  if (pcap_) out["pcap"] = {{"path", pcap_path_}, {"bytes", pcap_->written()}, {"truncated", pcap_->truncated()}};
  return out;
}

}  // namespace airlock
