// Configures the sandbox's network namespace from outside, before the payload starts.
//
// The parent forks a short-lived helper that takes the sandbox's credentials (net/helper_creds.h:
// the sandbox's user namespace and user - root caller: the unprivileged outside uid -, no host
// capability, no_new_privs), joins the sandbox's network namespace, keeps only CAP_NET_ADMIN and
// CAP_NET_BIND_SERVICE there, brings up lo, installs routes and an nftables ruleset, creates the
// sinkhole's or the resolver's sockets inside the namespace and passes them back over a socketpair
// (SCM_RIGHTS), then exits. It reports the capabilities it held (HelperReport "netns-setup"). The sandbox child is
// still waiting for "go" on its sync pipe while this runs, and its payload never holds a capability,
// so sandboxed code can neither change the rules nor reach the parent's sockets.
#pragma once

#include <sys/types.h>

#include <string>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/unique_fd.h"
#include "net/allow_resolver.h"
#include "net/net.h"
#include "net/nft_ruleset.h"
#include "policy/policy.h"

namespace airlock {

struct NetnsJob {
  bool sinkhole = false;      // route every IPv4 address locally, create the sinkhole sockets, redirect
  bool resolver = false;      // bind the allow-list resolver's UDP socket to 127.0.0.1:53
  std::string ruleset;        // extra nftables ruleset (host block / --net-allow filter); "" = none
  std::string list;           // instead of configuring: run this nft command, return its output
};

struct NetnsSetup {
  // Sinkhole sockets, created inside the sandbox's namespace (non-blocking, close-on-exec).
  UniqueFd tcp;  // listening, 127.0.0.1
  UniqueFd udp;  // datagrams to any UDP port but 53
  UniqueFd dns;  // DNS queries (UDP 53 of any address)
  SinkholePorts ports;
  // The allow-list resolver's socket (UDP 127.0.0.1:53 inside) and the names it answers.
  UniqueFd resolver;
  AllowedNames resolver_names;
  // The sandbox's namespaces, kept open so their rule counters can be read after the sandbox exits.
  UniqueFd userns, netns;
  HelperIdentity who;
  HelperReport helper;  // what the setup helper held
};

// True when `net` needs the helper: mode sinkhole, or mode user (the host's addresses are refused;
// with an allow-list, the filter and the resolver).
bool NeedsNetnsSetup(const NetPolicy& net);

// Parent side, after the user-mode stack (if any) is attached: resolves the allow-list, builds the
// rulesets and runs ConfigureNetnsFromParent. `summary` receives what the report shows: {"mode":
// ..., "host_addresses_refused": [...], "allow": [{"entry","address","port"}...]} (fail closed: any
// error refuses the run).
Result<NetnsSetup> SetUpNetworkFromParent(pid_t child, const NetPolicy& net, const HelperIdentity& who,
                                          nlohmann::json* summary);

// Parent side: every address of every interface of the host (airlock's network namespace) but
// loopback ones, canonical text.
std::vector<std::string> HostInterfaceAddresses();

// Parent side, after the sandbox exited: the --net user filter's counters (host block or
// allow-list), by a helper that joins the kept namespaces. {"allowed_packets", "refused_packets", "rules": [{"rule","action","packets"}]}.
Result<nlohmann::json> ReadAllowCountersFromParent(const NetnsSetup& setup);
// Pure: the counters in an `nft list table` text (exposed for tests).
nlohmann::json ParseNftCounters(const std::string& listing);

// Parent side; `child` is the sandbox init (its namespaces exist, it has not been released yet).
Result<NetnsSetup> ConfigureNetnsFromParent(pid_t child, const NetnsJob& job, const HelperIdentity& who);

}  // namespace airlock
