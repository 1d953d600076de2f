// The result of scanning: a tree of objects with their findings and verdicts. Produced by Engine,
// rendered by report_text.h / report_json.h.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/report_envelope.h"
#include "scan/analyzer.h"
#include "scan/verdict.h"

namespace airlock::scan {

struct ObjectReport {
  std::string name;   // leaf name as found (untrusted, display only)
  std::string path;   // display path "mail.eml > invoice.zip > invoice.exe"
  std::string mime;
  std::string magic;
  uint64_t size = 0;
  std::string md5, sha1, sha256;
  std::vector<Finding> findings;       // this object's own findings
  std::vector<ObjectReport> children;
  std::string extracted_as;            // file name under --extract DIR, when written
  Assessment assessment;               // over this object and its whole subtree
};

struct LimitRecord {
  std::string path;    // object on which the limit was hit
  std::string limit;   // e.g. "scan.limit.ratio"
  std::string detail;
};

struct InputReport {
  std::string input;          // as given on the command line ("-" for stdin)
  bool ok = true;             // false when the input could not be read
  std::string error;
  ObjectReport root;
  std::vector<LimitRecord> limits_hit;
  uint64_t duration_ms = 0;
};

struct ScanReport {
  std::vector<InputReport> inputs;
  Assessment assessment;      // over all inputs
  uint64_t duration_ms = 0;
  bool any_error = false;
  ReportClock clock;          // when the scan started (the report's envelope)
  bool sandboxed = false;     // parsed inside airlock run's sandbox (scan/confined_scan.h)
};

// Exit status for a finished scan: 1 malicious, else 2 if an input could not be read, else 3 suspicious,
// else 0 (docs/REPORT.md).
int ExitCodeFor(const ScanReport& report);

}  // namespace airlock::scan
