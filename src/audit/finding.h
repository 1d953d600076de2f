// Audit findings, scoring and grading shared by the profile and Kubernetes auditors.
// Contract: a Finding is one weakness against the hardening baseline (docs/AUDIT.md); `evidence`
// names the offending setting and where it came from (profile file:line, or a manifest path such as
// `spec.containers[0].securityContext.privileged`). Passes are recorded separately and never scored.
#pragma once

#include <string>
#include <vector>

namespace airlock::audit {

enum class Severity { kCritical = 0, kHigh = 1, kMedium = 2, kLow = 3, kInfo = 4 };

const char* SeverityName(Severity s);
// The report's numeric severity (0..10, as every finding of airlock): critical 10, high 8, medium 6,
// low 3, info 0.
int SeverityScore(Severity s);
// Points subtracted from 100 per finding: critical 40, high 20, medium 8, low 3, info 0.
int SeverityPenalty(Severity s);

struct Finding {
  std::string id;           // stable check id, e.g. "PRF-SECCOMP-DISABLED", "K8S-PRIVILEGED"
  Severity severity = Severity::kInfo;
  std::string title;        // one line
  std::string evidence;     // the offending setting and its location
  std::string remediation;  // one sentence
  std::string technique;    // ATT&CK technique id, e.g. "T1611"
};

struct Pass {
  std::string id;
  std::string title;
};

enum class TargetKind { kProfile, kKubernetes, kEndpoint };
// "profile", "kubernetes", "endpoint" (the report's `kind`).
const char* TargetKindName(TargetKind k);

struct TargetReport {
  std::string target;  // what the user named (plus "#N Kind/name" for manifest documents)
  TargetKind kind = TargetKind::kProfile;
  std::vector<Finding> findings;
  std::vector<Pass> passes;
  int score = 100;
  std::string grade = "A";
};

// Sorts findings by severity (critical first), then id, then evidence; computes score and grade.
void Finalize(TargetReport& report);

// 100 minus the penalties, floored at 0.
int Score(const std::vector<Finding>& findings);
// A >= 90, B >= 75, C >= 50, D >= 25, F otherwise.
std::string Grade(int score);

}  // namespace airlock::audit
