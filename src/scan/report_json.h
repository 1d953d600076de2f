// JSON rendering of a ScanReport (schema: docs/REPORT.md). Names and evidence are bytes from the
// scanned files: ReportToJsonText writes bytes that are not UTF-8 as \xNN (core/json_text.h), never an
// error.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "core/error.h"
#include "scan/report.h"

namespace airlock::scan {

nlohmann::json ReportToJson(const ScanReport& report);
std::string ReportToJsonText(const ScanReport& report);  // pretty, with trailing newline

// The ATT&CK Navigator layer (core/navigator_layer.h) of a scan report as text.
std::string NavigatorLayerText(const nlohmann::json& report);
// `text` written to `path` through a new file beside it, renamed over it: a reader never sees half of
// it, and a link at `path` is replaced, never followed.
Status WriteFileReplacing(const std::string& path, const std::string& text);

}  // namespace airlock::scan
