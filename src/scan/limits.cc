#include "scan/limits.h"

namespace airlock::scan {

const ScanLimits& LimitsOf(const AnalyzerOutput& out) {
  static const ScanLimits kDefaults;
  if (const auto* limited = dynamic_cast<const LimitedOutput*>(&out)) return limited->Limits();
  return kDefaults;
}

void ReportLimit(AnalyzerOutput& out, std::string_view limit_id, std::string detail) {
  if (auto* limited = dynamic_cast<LimitedOutput*>(&out)) {
    limited->LimitHit(limit_id, std::move(detail));
  } else {
    out.AddFinding(LimitFinding(limit_id, std::move(detail)));
  }
}

Finding LimitFinding(std::string_view limit_id, std::string detail) {
  Finding f;
  f.id = std::string(limit_id);
  f.severity = 5;
  if (limit_id == kLimitTime) {
    f.title = "scan time limit reached; analysis incomplete";
  } else if (limit_id == kLimitDepth) {
    f.title = "nesting depth limit reached (archive bomb suspected)";
  } else {
    f.title = "extraction limit reached (archive bomb suspected)";
  }
  f.explanation =
      "The object expands beyond the scan's limits. Decompression bombs exhaust scanners and hide "
      "payloads past the point where analysis stops; the rest of this object was not analyzed.";
  f.evidence = std::move(detail);
  f.techniques = {"T1027"};
  return f;
}

Finding OversizeInputFinding(std::string_view mime, uint64_t limit_bytes) {
  const bool data = mime == "application/octet-stream" || mime.starts_with("image/") || mime.starts_with("audio/") ||
                    mime.starts_with("video/");
  Finding f;
  f.id = std::string(kLimitObject);
  f.evidence = "input truncated at " + std::to_string(limit_bytes) + " bytes (" + std::string(mime) + ")";
  if (data) {
    f.severity = 3;
    f.title = "input larger than the scan limit; only the first part was scanned";
    f.explanation = "The rest of this file was not analyzed (--max-object-mib raises the limit).";
    return f;
  }
  f.severity = 5;
  f.title = "input larger than the scan limit; only the first part was scanned (padding evades scanners)";
  f.explanation = "Programs, scripts, documents and archives padded past a scanner's size limit hide what "
                  "follows (binary padding); the rest of this file was not analyzed (--max-object-mib raises the limit).";
  f.techniques = {"T1027.001"};
  return f;
}

}  // namespace airlock::scan
