// JSON rendering of a ScanReport (schema: docs/REPORT.md). Invalid UTF-8 in names/evidence is replaced,
// never an error.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "scan/report.h"

namespace airlock::scan {

nlohmann::json ReportToJson(const ScanReport& report);
std::string ReportToJsonText(const ScanReport& report);  // pretty, with trailing newline

}  // namespace airlock::scan
