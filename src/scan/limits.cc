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

}  // namespace airlock::scan
