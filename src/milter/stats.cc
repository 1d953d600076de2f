#include "milter/stats.h"

#include <algorithm>
#include <cmath>

namespace airlock::milter {

namespace {
constexpr size_t kWindow = 10000;

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t idx = static_cast<size_t>(std::ceil(p * static_cast<double>(v.size()))) - 1;
  return v[std::min(idx, v.size() - 1)];
}
}  // namespace

void Stats::Record(const std::string& verdict, const std::string& action, bool tempfail, bool fail_open, bool cached,
                   double latency_ms) {
  std::lock_guard lock(mu_);
  ++messages_;
  ++verdicts_[verdict];
  ++actions_[action];
  if (tempfail) ++tempfails_;
  if (fail_open) ++fail_open_;
  if (cached) ++cache_hits_;
  if (latencies_.size() < kWindow) {
    latencies_.push_back(latency_ms);
  } else {
    latencies_[next_] = latency_ms;
    next_ = (next_ + 1) % kWindow;
  }
}

nlohmann::json Stats::ToJson() {
  std::lock_guard lock(mu_);
  auto round1 = [](double x) { return std::round(x * 10) / 10; };
  return {{"messages", messages_},
          {"verdicts", verdicts_},
          {"actions", actions_},
          {"tempfails", tempfails_},
          {"fail_open", fail_open_},
          {"cache_hits", cache_hits_},
          {"latency_ms", {{"p50", round1(Percentile(latencies_, 0.50))}, {"p99", round1(Percentile(latencies_, 0.99))},
                          {"window", latencies_.size()}}}};
}

}  // namespace airlock::milter
