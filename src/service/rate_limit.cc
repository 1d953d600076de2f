#include "service/rate_limit.h"

#include <algorithm>
#include <cmath>

namespace airlock::service {

int RateLimiter::Take(const std::string& who, Clock::time_point now) {
  std::lock_guard lock(mu_);
  auto [it, fresh] = buckets_.try_emplace(who, Bucket{burst_, now});
  Bucket& b = it->second;
  if (!fresh && now > b.at) {
    double elapsed = std::chrono::duration<double>(now - b.at).count();
    b.tokens = std::min(burst_, b.tokens + elapsed * rate_);
    b.at = now;
  }
  if (b.tokens >= 1) {
    b.tokens -= 1;
    return 0;
  }
  if (rate_ <= 0) return 3600;
  return std::max(1, int(std::ceil((1 - b.tokens) / rate_)));
}

}  // namespace airlock::service
