#include "audit/finding.h"

#include <algorithm>
#include <tuple>

namespace airlock::audit {

const char* TargetKindName(TargetKind k) {
  switch (k) {
    case TargetKind::kProfile: return "profile";
    case TargetKind::kKubernetes: return "kubernetes";
    case TargetKind::kEndpoint: return "endpoint";
  }
  return "profile";
}

int SeverityScore(Severity s) {
  switch (s) {
    case Severity::kCritical: return 10;
    case Severity::kHigh: return 8;
    case Severity::kMedium: return 6;
    case Severity::kLow: return 3;
    case Severity::kInfo: return 0;
  }
  return 0;
}

const char* SeverityName(Severity s) {
  switch (s) {
    case Severity::kCritical: return "critical";
    case Severity::kHigh: return "high";
    case Severity::kMedium: return "medium";
    case Severity::kLow: return "low";
    case Severity::kInfo: return "info";
  }
  return "info";
}

int SeverityPenalty(Severity s) {
  switch (s) {
    case Severity::kCritical: return 40;
    case Severity::kHigh: return 20;
    case Severity::kMedium: return 8;
    case Severity::kLow: return 3;
    case Severity::kInfo: return 0;
  }
  return 0;
}

int Score(const std::vector<Finding>& findings) {
  int score = 100;
  for (const Finding& f : findings) {
    score -= SeverityPenalty(f.severity);
    if (score <= 0) return 0;
  }
  return score;
}

std::string Grade(int score) {
  if (score >= 90) return "A";
  if (score >= 75) return "B";
  if (score >= 50) return "C";
  if (score >= 25) return "D";
  return "F";
}

void Finalize(TargetReport& report) {
  std::stable_sort(report.findings.begin(), report.findings.end(), [](const Finding& a, const Finding& b) {
    return std::tie(a.severity, a.id, a.evidence) < std::tie(b.severity, b.id, b.evidence);
  });
  report.score = Score(report.findings);
  report.grade = Grade(report.score);
}

}  // namespace airlock::audit
