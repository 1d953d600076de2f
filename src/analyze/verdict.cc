#include "analyze/verdict.h"

#include <algorithm>

namespace airlock::analyze {

int LevelScore(const std::string& level) {
  if (level == "critical") return 10;
  if (level == "high") return 8;
  if (level == "medium") return 6;
  if (level == "low") return 3;
  return 1;
}

Verdict Combine(double static_score, const std::set<std::string>& static_techniques, const std::vector<BehaviorHit>& hits) {
  Verdict v;
  v.techniques = static_techniques;
  std::set<std::string> rules;
  int best = 0;
  for (const auto& h : hits) {
    rules.insert(h.rule_id);
    best = std::max(best, LevelScore(h.level));
    for (const auto& t : h.techniques) v.techniques.insert(t);
  }
  double behavior = hits.empty() ? 0 : std::min(10.0, best + 0.5 * static_cast<double>(rules.size() - 1));
  v.score = std::max(static_score, behavior);
  v.verdict = v.score >= 7 ? "malicious" : v.score >= 4 ? "suspicious" : "clean";
  return v;
}

int VerdictExitCode(const std::string& verdict) {
  if (verdict == "malicious") return 1;
  if (verdict == "suspicious") return 3;
  return 0;
}

}  // namespace airlock::analyze
