#include "scan/verdict.h"

#include <algorithm>
#include <set>

namespace airlock::scan {

std::string_view VerdictName(Verdict v) {
  switch (v) {
    case Verdict::kMalicious: return "malicious";
    case Verdict::kSuspicious: return "suspicious";
    case Verdict::kClean: return "clean";
    case Verdict::kError: return "error";
  }
  return "error";
}

Verdict VerdictForScore(int score) {
  if (score >= 7) return Verdict::kMalicious;
  if (score >= 4) return Verdict::kSuspicious;
  return Verdict::kClean;
}

Assessment Assess(const std::vector<const Finding*>& findings) {
  Assessment a;
  int max_sev = 0;
  const Finding* top = nullptr;
  std::set<std::string> techniques;
  for (const Finding* f : findings) {
    int sev = std::clamp(f->severity, 0, 10);
    if (top == nullptr || sev > max_sev) {
      max_sev = sev;
      top = f;
    }
    for (const auto& t : f->techniques) {
      if (!t.empty()) techniques.insert(t);
    }
  }
  // Further independent evidence: distinct ids (other than the top one's) with severity >= 3.
  std::set<std::string> others;
  for (const Finding* f : findings) {
    if (f->severity >= 3 && top != nullptr && f->id != top->id) others.insert(f->id);
  }
  int bonus = std::min<int>(2, static_cast<int>(others.size()) / 2);
  a.score = top == nullptr ? 0 : std::min(10, max_sev + bonus);
  a.verdict = VerdictForScore(a.score);
  a.techniques.assign(techniques.begin(), techniques.end());
  return a;
}

}  // namespace airlock::scan
