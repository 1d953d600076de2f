// Rendering of audit reports: a human table per target (findings sorted by severity) and JSON
// ({"targets": [{target, kind, score, grade, findings: [...], passes: [...]}]}).
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "audit/finding.h"

namespace airlock::audit {

nlohmann::ordered_json ReportToJson(const std::vector<TargetReport>& reports);
// Serialises with invalid UTF-8 (from hostile manifests) replaced, never throwing.
std::string ReportToJsonText(const std::vector<TargetReport>& reports);
// Control characters in targets, titles and evidence are shown as \xNN.
std::string ReportToText(const std::vector<TargetReport>& reports);

}  // namespace airlock::audit
