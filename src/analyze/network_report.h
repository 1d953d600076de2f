// The "network" section of the analyze report (docs/REPORT.md): the domains, destinations and URLs
// the sample tried, from the monitor's connect/sendto events and the sinkhole's records
// (src/net/sinkhole.h), plus the sinkhole's counters from the run report. `image` (the program
// that dialled) comes from the monitor's event for the same destination, where there is one.
#pragma once

#include <vector>

#include <nlohmann/json.hpp>

namespace airlock::analyze {

// {"mode", "domains": [..], "destinations": [{"protocol","ip","port","hostname","image"}..],
//  "urls": [{"method","url","host","user_agent"}..] (method "TLS" for a ClientHello's server name), "dns_queries", "connections", "records_dropped",
//  "pcap": {"file": "traffic.pcap", "bytes", "truncated"} when the run wrote one}
// Lists are de-duplicated, in order of first appearance, capped at 500 entries.
nlohmann::json BuildNetworkSection(const std::vector<nlohmann::json>& events, const nlohmann::json& run);

}  // namespace airlock::analyze
