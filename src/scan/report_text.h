// Terminal rendering of a ScanReport: an indented tree of objects (type, size, verdict) with their
// findings (severity, ATT&CK IDs, evidence). Control characters in untrusted names and evidence are
// escaped so a hostile file name cannot drive the terminal. `color` adds ANSI colours to verdicts.
#pragma once

#include <string>

#include "scan/report.h"

namespace airlock::scan {

std::string ReportToText(const ScanReport& report, bool color);
// Escapes bytes < 0x20 and 0x7f as \xNN (exposed for tests).
std::string EscapeForTerminal(std::string_view s);

}  // namespace airlock::scan
