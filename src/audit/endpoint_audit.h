// Grading a host's endpoint setup (docs/AUDIT.md "Endpoint checks"): the `airlock watch` daemon as its
// state directory's status.json describes it (src/watch/watch_main.cc rewrites it every second while
// the daemon runs and removes it when the daemon stops). Target `endpoint` reads the default state
// directory /var/lib/airlock/watch, `endpoint:DIR` another one. Files only: the daemon is never asked.
//
// Contract:
//  - No live daemon (no status, a status whose pid is not a running airlock-watch, or one not rewritten
//    for 30 s: hung) is three critical findings, one per thing missing: nothing judges downloads,
//    nothing gates exec, no daemon: the score is 0 (F), and no other check applies.
//  - A live daemon is graded on its mode (enforce), fail mode (closed), interpreter gating, marks,
//    watched Downloads directories, and what its counters say (watchdog answers, dropped log lines,
//    failed judgements). Every check met is a pass.
//  - Fields of the status are read with their types checked: a missing or mistyped one reads as the
//    weaker setting, never the stronger.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "audit/finding.h"
#include "core/error.h"

namespace airlock::audit {

// "endpoint" or "endpoint:DIR".
bool IsEndpointTarget(const std::string& target);
Result<TargetReport> AuditEndpoint(const std::string& target);

// The grading of a status already read (pure, for tests): `live` says whether its daemon runs (see
// above); `downloads` the Downloads directories that exist on this host.
TargetReport GradeEndpoint(const std::string& target, const nlohmann::json& status, bool live, const std::string& why_not_live,
                           const std::vector<std::string>& downloads);

}  // namespace airlock::audit
