// Scoring: findings -> score 0..10 -> verdict. The exact rule (docs/REPORT.md "Verdict"):
//   score = max severity + 1 for every 2 further distinct finding ids of severity >= 3 (at most +2),
//   capped at 10; malicious >= 7, suspicious >= 4, else clean. Limit findings count like any other.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "scan/analyzer.h"

namespace airlock::scan {

// kError: an input could not be read, so the scan could not judge it (never reported as clean).
enum class Verdict { kClean, kSuspicious, kMalicious, kError };

struct Assessment {
  int score = 0;
  Verdict verdict = Verdict::kClean;
  std::vector<std::string> techniques;  // sorted, unique
};

std::string_view VerdictName(Verdict v);
Verdict VerdictForScore(int score);
// Assessment over a set of findings (gathered from an object's subtree, or a whole scan).
Assessment Assess(const std::vector<const Finding*>& findings);

}  // namespace airlock::scan
