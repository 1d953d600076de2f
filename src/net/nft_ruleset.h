// nftables rulesets for the sandbox's network namespace, as text for libnftables. Pure builders:
// every address in the text comes from inet_pton/inet_ntop, so profile input cannot inject syntax.
//
//  - Sinkhole (--net sinkhole): DNS (udp/tcp 53) goes to the sinkhole's resolver, all other TCP to
//    one listener and all other UDP to one datagram socket, except traffic to 127.0.0.0/8.
//  - Host block (--net user): every address of the host's interfaces is refused (the user-mode
//    stack would otherwise connect to the host's own services on them); the rest passes.
//  - Allow-list (--net user --net-allow): output policy drop; loopback (airlock's resolver listens
//    there), established flows and the allowed destinations pass; the host's addresses are refused
//    first unless an entry names one exactly (a CIDR that covers one does not count); TCP is refused
//    with a reset and everything else with ICMP admin-prohibited, so connect() fails at once.
// Both live in table inet airlock_filter, whose counters ReadAllowCountersFromParent reads.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
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
  std::string name;   // the host name it was resolved from, lower case ("" for an address entry)
};

// Splits "HOST:PORT", "[V6]:PORT", "CIDR:PORT" ("*" = any port) and "NAME=ADDRESS:PORT" (the name
// pinned to an address: not resolved, answered by the sandbox's resolver with that address).
// Hostnames are returned unresolved.
struct AllowEntry {
  std::string host;
  uint16_t port = 0;
  std::string pinned_name;  // NAME of NAME=ADDRESS:PORT, else ""
};
Result<AllowEntry> ParseAllowEntry(const std::string& entry);

// Parent side: every entry resolved to addresses (getaddrinfo for names; IPv4 and IPv6). A name
// that does not resolve is an error (fail closed: the user asked for it).
Result<std::vector<AllowDest>> ResolveAllowList(const std::vector<std::string>& entries);

// host: the host's interface addresses (canonical text, as from inet_ntop).
std::string HostBlockRuleset(const std::vector<std::string>& host);
std::string AllowRuleset(const std::vector<AllowDest>& allow, const std::vector<std::string>& host);

// A host name as the resolver compares it: lower case, without a trailing dot.
std::string NormalizeHostName(std::string_view name);

}  // namespace airlock
