// Helpers shared by the audit tests: sample paths and finding lookups.
#pragma once

#include <algorithm>
#include <string>
#include <vector>

#include "audit/finding.h"

namespace airlock::audit::test {

inline std::string SamplePath(const std::string& name) {
  return std::string(AIRLOCK_SOURCE_DIR) + "/tests/samples/k8s/" + name;
}
inline std::string DataPath(const std::string& name) { return std::string(AIRLOCK_SOURCE_DIR) + "/tests/audit/data/" + name; }

// Findings with `id` (and, if given, whose evidence contains `evidence`).
inline std::vector<Finding> FindAll(const TargetReport& r, const std::string& id, const std::string& evidence = "") {
  std::vector<Finding> out;
  for (const Finding& f : r.findings) {
    if (f.id == id && f.evidence.find(evidence) != std::string::npos) out.push_back(f);
  }
  return out;
}

inline bool HasFinding(const TargetReport& r, const std::string& id, const std::string& evidence = "") {
  return !FindAll(r, id, evidence).empty();
}

inline Severity Worst(const TargetReport& r) {
  Severity worst = Severity::kInfo;
  for (const Finding& f : r.findings) worst = std::min(worst, f.severity);
  return worst;
}

}  // namespace airlock::audit::test
