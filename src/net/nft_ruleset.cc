#include "net/nft_ruleset.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <sys/socket.h>

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <optional>

namespace airlock {
namespace {

// Canonical text of an address or CIDR ("10.1.2.3/8" -> "10.0.0.0/8" is left to nft, which masks
// host bits itself; we only validate and normalise the address part). nullopt if not numeric.
std::optional<std::pair<std::string, bool>> CanonicalAddress(const std::string& text) {
  std::string addr = text;
  std::string prefix;
  if (size_t slash = text.find('/'); slash != std::string::npos) {
    addr = text.substr(0, slash);
    prefix = text.substr(slash + 1);
  }
  unsigned char buf[16];
  char out[INET6_ADDRSTRLEN];
  bool v6;
  if (inet_pton(AF_INET, addr.c_str(), buf) == 1) {
    v6 = false;
    inet_ntop(AF_INET, buf, out, sizeof out);
  } else if (inet_pton(AF_INET6, addr.c_str(), buf) == 1) {
    v6 = true;
    inet_ntop(AF_INET6, buf, out, sizeof out);
  } else {
    return std::nullopt;
  }
  std::string canon = out;
  if (!prefix.empty()) {
    if (prefix.size() > 3 || !std::all_of(prefix.begin(), prefix.end(), [](char c) { return c >= '0' && c <= '9'; }))
      return std::nullopt;
    int p = std::stoi(prefix);
    if (p > (v6 ? 128 : 32)) return std::nullopt;
    canon += "/" + std::to_string(p);
  }
  return std::make_pair(canon, v6);
}

// Letters, digits, '-', '_' and dots; 1..253 characters (what a DNS question can carry as text).
bool ValidHostName(const std::string& name) {
  if (name.empty() || name.size() > 253) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
  });
}

// "ip daddr { a, b }" rules for one family, or "" when there is no address of it.
std::string HostRejectRules(const std::vector<std::string>& host, bool v6) {
  std::string set;
  for (const auto& h : host) {
    auto canon = CanonicalAddress(h);
    if (!canon || canon->second != v6) continue;
    set += (set.empty() ? "" : ", ") + canon->first;
  }
  if (set.empty()) return "";
  const char* fam = v6 ? "ip6" : "ip";
  return fmt::format("    {0} daddr {{ {1} }} meta l4proto tcp counter reject with tcp reset\n"
                     "    {0} daddr {{ {1} }} counter reject with icmpx type admin-prohibited\n",
                     fam, set);
}

}  // namespace

std::string HostBlockRuleset(const std::vector<std::string>& host) {
  std::string rules = HostRejectRules(host, false) + HostRejectRules(host, true);
  return "table inet airlock_filter {\n"
         "  chain output {\n"
         "    type filter hook output priority 0; policy accept;\n"
         "    oifname \"lo\" accept\n" +
         rules +
         "  }\n"
         "}\n";
}

std::string SinkholeRuleset(const SinkholePorts& p) {
  return fmt::format(
      "table ip airlock_sinkhole {{\n"
      "  chain output {{\n"
      "    type nat hook output priority -100; policy accept;\n"
      "    udp dport 53 redirect to :{dns}\n"
      "    tcp dport 53 redirect to :{tcp}\n"
      "    ip daddr 127.0.0.0/8 accept\n"
      "    meta l4proto tcp redirect to :{tcp}\n"
      "    meta l4proto udp redirect to :{udp}\n"
      "  }}\n"
      "}}\n",
      fmt::arg("dns", p.dns), fmt::arg("tcp", p.tcp), fmt::arg("udp", p.udp));
}

Result<AllowEntry> ParseAllowEntry(const std::string& entry) {
  size_t colon = entry.rfind(':');
  if (colon == std::string::npos || colon == 0) return MakeError("bad destination '" + entry + "' (expected HOST:PORT)");
  AllowEntry e;
  e.host = entry.substr(0, colon);
  if (size_t eq = e.host.find('='); eq != std::string::npos) {
    e.pinned_name = NormalizeHostName(e.host.substr(0, eq));
    e.host = e.host.substr(eq + 1);
    if (!ValidHostName(e.pinned_name)) return MakeError("bad host name in '" + entry + "' (expected NAME=ADDRESS:PORT)");
  }
  std::string port = entry.substr(colon + 1);
  if (e.host.size() > 2 && e.host.front() == '[' && e.host.back() == ']') e.host = e.host.substr(1, e.host.size() - 2);
  if (port != "*") {
    if (port.empty() || port.size() > 5 || !std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; }))
      return MakeError("bad port in '" + entry + "'");
    int v = std::stoi(port);
    if (v < 1 || v > 65535) return MakeError("port out of range in '" + entry + "'");
    e.port = static_cast<uint16_t>(v);
  }
  if (e.host.empty()) return MakeError("empty host in '" + entry + "'");
  if (!e.pinned_name.empty() && (!CanonicalAddress(e.host) || e.host.find('/') != std::string::npos)) {
    return MakeError("'" + entry + "': a pinned name needs one address (NAME=ADDRESS:PORT), not a name or a range");
  }
  return e;
}

std::string NormalizeHostName(std::string_view name) {
  std::string out(name);
  while (!out.empty() && out.back() == '.') out.pop_back();
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

Result<std::vector<AllowDest>> ResolveAllowList(const std::vector<std::string>& entries) {
  std::vector<AllowDest> out;
  for (const auto& entry : entries) {
    auto e = ParseAllowEntry(entry);
    if (!e) return std::unexpected(e.error());
    if (auto canon = CanonicalAddress(e->host)) {
      out.push_back({canon->first, canon->second, e->port, entry, e->pinned_name});
      continue;
    }
    struct addrinfo hints {};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    struct addrinfo* res = nullptr;
    int rc = getaddrinfo(e->host.c_str(), nullptr, &hints, &res);
    if (rc != 0) return MakeError(fmt::format("cannot resolve '{}' ({}): {}", e->host, entry, gai_strerror(rc)));
    size_t before = out.size();
    for (auto* ai = res; ai != nullptr; ai = ai->ai_next) {
      char buf[INET6_ADDRSTRLEN];
      const void* a = ai->ai_family == AF_INET ? static_cast<const void*>(&reinterpret_cast<sockaddr_in*>(ai->ai_addr)->sin_addr)
                                               : static_cast<const void*>(&reinterpret_cast<sockaddr_in6*>(ai->ai_addr)->sin6_addr);
      if (ai->ai_family != AF_INET && ai->ai_family != AF_INET6) continue;
      inet_ntop(ai->ai_family, a, buf, sizeof buf);
      AllowDest d{buf, ai->ai_family == AF_INET6, e->port, entry, NormalizeHostName(e->host)};
      bool dup = std::any_of(out.begin() + static_cast<std::ptrdiff_t>(before), out.end(),
                             [&](const AllowDest& x) { return x.addr == d.addr; });
      if (!dup) out.push_back(d);
    }
    freeaddrinfo(res);
    if (out.size() == before) return MakeError(fmt::format("'{}' ({}) has no IPv4 or IPv6 address", e->host, entry));
  }
  return out;
}

std::string AllowRuleset(const std::vector<AllowDest>& allow, const std::vector<std::string>& host) {
  // The host's own addresses are refused unless an entry names one exactly.
  std::vector<std::string> blocked;
  for (const auto& h : host) {
    bool named = std::any_of(allow.begin(), allow.end(), [&](const AllowDest& d) { return d.addr == h; });
    if (!named) blocked.push_back(h);
  }
  std::string r =
      "table inet airlock_filter {\n"
      "  chain output {\n"
      "    type filter hook output priority 0; policy drop;\n"
      "    oifname \"lo\" accept\n"
      "    ct state established,related accept\n";
  r += HostRejectRules(blocked, false) + HostRejectRules(blocked, true);
  for (const auto& d : allow) {
    auto canon = CanonicalAddress(d.addr);
    if (!canon) continue;  // cannot happen for ResolveAllowList output
    if (d.port == 0) {
      r += fmt::format("    {} daddr {} counter accept\n", canon->second ? "ip6" : "ip", canon->first);
    } else {
      r += fmt::format("    {} daddr {} meta l4proto {{ tcp, udp }} th dport {} counter accept\n", canon->second ? "ip6" : "ip",
                       canon->first, d.port);
    }
  }
  r +=
      "    meta l4proto tcp counter reject with tcp reset\n"
      "    counter reject with icmpx type admin-prohibited\n"
      "  }\n"
      "}\n";
  return r;
}

}  // namespace airlock
