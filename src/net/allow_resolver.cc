#include "net/allow_resolver.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net/dns_message.h"
#include "net/http_request.h"
#include "net/nft_ruleset.h"

namespace airlock {
namespace {

constexpr uint16_t kTypeA = 1, kTypeAAAA = 28;

std::vector<DnsRecord> RecordsFor(const std::vector<std::string>& addrs, uint16_t qtype) {
  std::vector<DnsRecord> out;
  for (const auto& a : addrs) {
    unsigned char buf[16];
    if (qtype == kTypeA && inet_pton(AF_INET, a.c_str(), buf) == 1) {
      out.push_back({kTypeA, std::string(reinterpret_cast<const char*>(buf), 4)});
    } else if (qtype == kTypeAAAA && inet_pton(AF_INET6, a.c_str(), buf) == 1) {
      out.push_back({kTypeAAAA, std::string(reinterpret_cast<const char*>(buf), 16)});
    }
  }
  return out;
}

}  // namespace

ResolverAnswer AnswerFromAllowList(std::string_view packet, const AllowedNames& names) {
  ResolverAnswer a;
  auto q = ParseDnsQuery(packet);
  if (!q) return a;
  a.name = q->name;
  auto it = names.find(NormalizeHostName(q->name));
  if (it == names.end() || q->qclass != 1) {
    a.kind = ResolverAnswer::Kind::kRefused;
    a.reply = BuildDnsReply(packet, *q, 5, {});  // REFUSED
    return a;
  }
  std::vector<DnsRecord> records = RecordsFor(it->second, q->qtype);
  a.kind = records.empty() ? ResolverAnswer::Kind::kNoData : ResolverAnswer::Kind::kAnswered;
  a.reply = BuildDnsReply(packet, *q, 0, records);
  return a;
}

AllowResolver::AllowResolver(UniqueFd udp, AllowedNames names) : udp_(std::move(udp)), names_(std::move(names)) {}

AllowResolver::~AllowResolver() { Stop(); }

Status AllowResolver::Start() { return worker_.Start([this] { Loop(); }); }

void AllowResolver::Stop() { worker_.Stop(); }

void AllowResolver::Loop() {
  for (;;) {
    struct pollfd fds[2] = {{worker_.stop_fd(), POLLIN, 0}, {udp_.get(), POLLIN, 0}};
    int n = ::poll(fds, 2, -1);
    if (n < 0 && errno != EINTR) break;
    if (fds[0].revents) break;
    if (fds[1].revents) Serve();
  }
}

void AllowResolver::Serve() {
  for (int i = 0; i < 64; ++i) {
    char buf[1500];
    struct sockaddr_storage peer {};
    socklen_t plen = sizeof peer;
    ssize_t r = ::recvfrom(udp_.get(), buf, sizeof buf, MSG_DONTWAIT, reinterpret_cast<sockaddr*>(&peer), &plen);
    if (r < 0) return;
    ResolverAnswer a = AnswerFromAllowList(std::string_view(buf, static_cast<size_t>(r)), names_);
    if (a.kind == ResolverAnswer::Kind::kMalformed) {
      ++malformed_;
      continue;
    }
    ++queries_;
    if (a.kind == ResolverAnswer::Kind::kRefused) {
      ++refused_;
      if (refused_names_.size() < kMaxNames) refused_names_.insert(EscapeBytes(a.name, 256));
    } else {
      ++answered_;
    }
    ::sendto(udp_.get(), a.reply.data(), a.reply.size(), MSG_DONTWAIT, reinterpret_cast<sockaddr*>(&peer), plen);
  }
}

nlohmann::json AllowResolver::Summary() const {
  return {{"resolver", "127.0.0.1:53 (airlock)"}, {"queries", queries_},     {"answered", answered_},
          {"refused", refused_},                   {"malformed", malformed_}, {"refused_names", refused_names_}};
}

}  // namespace airlock
