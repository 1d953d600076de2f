// Scoring shared by `airlock analyze`: Sigma rule levels and static triage into one verdict
// (docs/REPORT.md "Verdict of airlock analyze" describes the policy for analysts).
#pragma once

#include <set>
#include <string>
#include <vector>

namespace airlock::analyze {

struct BehaviorHit {
  std::string rule_id, title, level;
  std::vector<std::string> techniques;
  std::string event;       // the matching event, as JSON text
  bool community = false;  // from a --rules directory, not airlock's own rules/behavior
  bool decisive = false;   // a community rule listed in rules/community/decisive.txt
  bool discovery = false;  // tagged attack.discovery (counted for discovery bursts)
};

// critical 10, high 8, medium 6, low 3, informational 1.
int LevelScore(const std::string& level);
// The score a hit may contribute: its level, but at most 6 (suspicious) for a community rule that
// is not decisive: one community rule alone never makes a sample malicious.
int HitScore(const BehaviorHit& hit);

// A discovery burst: at least this many distinct discovery techniques in one run.
inline constexpr size_t kDiscoveryBurst = 3;

struct Verdict {
  double score = 0;                  // 0..10
  std::string verdict = "clean";     // clean / suspicious / malicious
  std::set<std::string> techniques;  // every technique observed, whatever its level
  std::vector<std::string> reasons;  // how the score came about, one line each
};

// Score = max(static score, behaviour score). Behaviour score: the highest HitScore, plus 0.5 for
// each further distinct rule scoring at least 6 (low and informational hits name techniques but
// never add up), capped at 10. A discovery burst (kDiscoveryBurst distinct discovery techniques) is
// worth 6 alone and 7.5 with another signal (a non-discovery hit scoring >= 6 or a static score
// >= 4). >= 7 malicious, >= 4 suspicious.
Verdict Combine(double static_score, const std::set<std::string>& static_techniques, const std::vector<BehaviorHit>& hits);

// Exit status as for `airlock scan`: 0 clean, 1 malicious, 3 suspicious, 2 error (or anything else).
int VerdictExitCode(const std::string& verdict);

}  // namespace airlock::analyze
