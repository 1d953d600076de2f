// The indicators of an `airlock analyze` report as a MISP event (MISP's JSON import format: one
// {"Event": {...}} object), written as OUT/misp.json and to `--misp FILE` (docs/REPORT.md).
//
// Contract:
//  - Attributes: the sample's hashes (sha256, sha1, md5: category "Payload delivery", to_ids), each
//    dropped file's hashes (category "Artifacts dropped", to_ids when the file's verdict is suspicious
//    or malicious), every domain the sample queried ("domain", "Network activity") and every URL it
//    requested ("url"). Destination IPs are the sinkhole's own addresses, never indicators: left out.
//  - Tags: the verdict (`airlock:verdict="malicious"`) and each technique
//    (`misp-galaxy:mitre-attack-pattern="T1548.001"`). threat_level_id 1 (high) for malicious, 2 for
//    suspicious, 4 (undefined) otherwise; analysis 2 (completed); distribution 0 (this organisation).
//  - Pure and total: fields of the wrong type are skipped, values deduplicated; strings pass through
//    core/json_text.h when dumped.
#pragma once

#include <nlohmann/json.hpp>

namespace airlock::analyze {

nlohmann::json MispEvent(const nlohmann::json& report);

}  // namespace airlock::analyze
