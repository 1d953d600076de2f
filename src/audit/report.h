// Rendering of audit reports: a human table per target (findings sorted by severity) and JSON
// (the report envelope of core/report_envelope.h, command "audit", and {"targets": [{target, kind,
// score, grade, findings: [...], passes: [...]}]}; docs/REPORT.md, docs/schema/audit.schema.json).
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "audit/finding.h"
#include "core/report_envelope.h"

namespace airlock::audit {

// `clock`: when the audit started (the envelope's started and duration).
nlohmann::ordered_json ReportToJson(const std::vector<TargetReport>& reports, const ReportClock& clock = {});
// Serialises with invalid UTF-8 (from hostile manifests) replaced, never throwing.
std::string ReportToJsonText(const std::vector<TargetReport>& reports, const ReportClock& clock = {});
// Control characters in targets, titles and evidence are shown as \xNN.
std::string ReportToText(const std::vector<TargetReport>& reports);

}  // namespace airlock::audit
