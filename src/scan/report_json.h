// JSON rendering of a ScanReport (schema: docs/REPORT.md). Names and evidence are bytes from the
// scanned files: ReportToJsonText writes bytes that are not UTF-8 as \xNN (core/json_text.h), never an
// error.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "scan/report.h"

namespace airlock::scan {

nlohmann::json ReportToJson(const ScanReport& report);
std::string ReportToJsonText(const ScanReport& report);  // pretty, with trailing newline

}  // namespace airlock::scan
