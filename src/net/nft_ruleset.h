// nftables rulesets for the sandbox's network namespace, as text for libnftables. Pure builders:
// every address in the text comes from inet_pton/inet_ntop, so profile input cannot inject syntax.
//
//  - Sinkhole (--net sinkhole): DNS (udp/tcp 53) goes to the sinkhole's resolver, all other TCP to
//    one listener and all other UDP to one datagram socket, except traffic to 127.0.0.0/8.
//  - Allow-list (--net user --net-allow): output policy drop; loopback, established flows, the
//    user-mode stack's resolver and the allowed destinations pass; TCP is refused with a reset and
//    everything else with ICMP admin-prohibited, so connect() fails at once instead of hanging.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/error.h"

namespace airlock {

struct SinkholePorts {
  uint16_t tcp = 0;  // the TCP listener (127.0.0.1)
  uint16_t udp = 0;  // the UDP socket for everything but DNS
  uint16_t dns = 0;  // the DNS responder (UDP)
};
std::string SinkholeRuleset(const SinkholePorts& ports);

// One allowed destination after resolution.
struct AllowDest {
  std::string addr;   // "192.0.2.2" or "10.0.0.0/8" or "2001:db8::1" (canonical, from inet_ntop)
  bool ipv6 = false;
  uint16_t port = 0;  // 0 = any port
  std::string entry;  // the allow-list entry it came from ("example.org:443")
};

// Splits "HOST:PORT", "[V6]:PORT", "CIDR:PORT" ("*" = any port). Hostnames are returned unresolved.
struct AllowEntry {
  std::string host;
  uint16_t port = 0;
};
Result<AllowEntry> ParseAllowEntry(const std::string& entry);

// Parent side: every entry resolved to addresses (getaddrinfo for names; IPv4 and IPv6). A name
// that does not resolve is an error (fail closed: the user asked for it).
Result<std::vector<AllowDest>> ResolveAllowList(const std::vector<std::string>& entries);

// resolvers: addresses DNS (udp/tcp 53) may go to (the user-mode stack's resolver).
std::string AllowRuleset(const std::vector<AllowDest>& allow, const std::vector<std::string>& resolvers);

}  // namespace airlock
