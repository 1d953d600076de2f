// Loads an nftables ruleset into the current network namespace through libnftables, which is
// dlopen()ed on first use so that `airlock run` without --net sinkhole / --net-allow never loads
// it (lean launch path, docs/ARCHITECTURE.md). Needs CAP_NET_ADMIN over the namespace: it runs in
// the short-lived net-configuration helper (netns_setup.h), never in the sandbox.
#pragma once

#include <string>

#include "core/error.h"

namespace airlock {

// Applies `ruleset` (nft syntax). Errors carry libnftables' own message. Fails with a clear message
// when libnftables (Debian package libnftables1) is not installed.
Status ApplyNftRuleset(const std::string& ruleset);

// Runs `commands` (e.g. "list ruleset") and returns nft's output text.
Result<std::string> RunNftCommand(const std::string& commands);

}  // namespace airlock
