// Scoring shared by `airlock analyze`: Sigma rule levels and static triage into one verdict.
#pragma once

#include <set>
#include <string>
#include <vector>

namespace airlock::analyze {

struct BehaviorHit {
  std::string rule_id, title, level;
  std::vector<std::string> techniques;
  std::string event;  // the matching event, as JSON text
};

// critical 10, high 8, medium 6, low 3, informational 1.
int LevelScore(const std::string& level);

struct Verdict {
  double score = 0;                  // 0..10
  std::string verdict = "clean";     // clean / suspicious / malicious
  std::set<std::string> techniques;
};

// Score = max(static score, behaviour score), where the behaviour score is the highest rule level
// plus 0.5 for each further distinct rule (capped at 10). >= 7 malicious, >= 4 suspicious.
Verdict Combine(double static_score, const std::set<std::string>& static_techniques, const std::vector<BehaviorHit>& hits);

// Exit status as for `airlock scan`: 0 clean, 1 malicious, 3 suspicious.
int VerdictExitCode(const std::string& verdict);

}  // namespace airlock::analyze
