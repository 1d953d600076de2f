#include "analyze/verdict.h"

#include <fmt/format.h>

#include <algorithm>

namespace airlock::analyze {

int LevelScore(const std::string& level) {
  if (level == "critical") return 10;
  if (level == "high") return 8;
  if (level == "medium") return 6;
  if (level == "low") return 3;
  return 1;
}

int HitScore(const BehaviorHit& hit) {
  const int s = LevelScore(hit.level);
  return hit.community && !hit.decisive ? std::min(s, 6) : s;
}

namespace {

std::string Join(const std::set<std::string>& s) {
  std::string out;
  for (const auto& x : s) out += (out.empty() ? "" : ", ") + x;
  return out;
}

}  // namespace

Verdict Combine(double static_score, const std::set<std::string>& static_techniques, const std::vector<BehaviorHit>& hits) {
  Verdict v;
  v.techniques = static_techniques;
  std::set<std::string> strong_rules, discovery;
  int best = 0;
  bool other_signal = static_score >= 4;
  std::string best_title;
  for (const auto& h : hits) {
    const int s = HitScore(h);
    if (s > best) best_title = h.title + (h.community && !h.decisive && LevelScore(h.level) > s ? " (community rule, capped)" : "");
    best = std::max(best, s);
    if (s >= 6) strong_rules.insert(h.rule_id);
    if (h.discovery) discovery.insert(h.techniques.begin(), h.techniques.end());
    if (!h.discovery && s >= 6) other_signal = true;
    for (const auto& t : h.techniques) v.techniques.insert(t);
  }
  double behavior = best;
  if (best >= 6 && strong_rules.size() > 1) behavior += 0.5 * static_cast<double>(strong_rules.size() - 1);
  if (best > 0) v.reasons.push_back(fmt::format("strongest behaviour: {} ({}); {} distinct rule(s) of level medium or above", best_title, best, strong_rules.size()));
  if (discovery.size() >= kDiscoveryBurst) {
    const double burst = other_signal ? 7.5 : 6;
    behavior = std::max(behavior, burst);
    v.reasons.push_back(fmt::format("discovery burst: {} techniques ({}){}", discovery.size(), Join(discovery),
                                    other_signal ? " together with other signals" : ", no other signal"));
  }
  behavior = std::min(10.0, behavior);
  if (static_score > 0) v.reasons.push_back(fmt::format("static triage score {:.1f}", static_score));
  v.score = std::max(static_score, behavior);
  v.verdict = v.score >= 7 ? "malicious" : v.score >= 4 ? "suspicious" : "clean";
  return v;
}

int VerdictExitCode(const std::string& verdict) {
  if (verdict == "malicious") return 1;
  if (verdict == "suspicious") return 3;
  if (verdict == "clean") return 0;
  return 2;  // "error": the sample could not be judged
}

}  // namespace airlock::analyze
