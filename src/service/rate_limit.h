// Per-key request budget of the analysis service: a token bucket per API key name (docs/SERVICE.md
// "Limits"). A bucket holds at most `burst` tokens and refills at `per_second`; a request that finds
// no token is refused (HTTP 429) and told how long to wait. The clock is passed in, so the rule is
// tested without sleeping. Thread-safe.
#pragma once

#include <chrono>
#include <map>
#include <mutex>
#include <string>

namespace airlock::service {

class RateLimiter {
 public:
  using Clock = std::chrono::steady_clock;
  RateLimiter(double per_second, double burst) : rate_(per_second), burst_(burst) {}
  // 0 when allowed (a token is taken), else the seconds until one is available (at least 1).
  int Take(const std::string& who, Clock::time_point now);

 private:
  struct Bucket {
    double tokens;
    Clock::time_point at;
  };
  std::mutex mu_;
  double rate_, burst_;
  std::map<std::string, Bucket> buckets_;
};

}  // namespace airlock::service
