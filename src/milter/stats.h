// Counters of the daemon: messages, per verdict, per action, tempfails, fail-open accepts, cache hits,
// and the latency the milter added per message (p50/p99 over the last 10,000 messages).
// Thread-safe. Logged every 60 s and at exit, and written to <state_dir>/stats.json.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace airlock::milter {

class Stats {
 public:
  void Record(const std::string& verdict, const std::string& action, bool tempfail, bool fail_open, bool cached,
              double latency_ms);
  nlohmann::json ToJson();

 private:
  std::mutex mu_;
  uint64_t messages_ = 0, tempfails_ = 0, fail_open_ = 0, cache_hits_ = 0;
  std::map<std::string, uint64_t> verdicts_, actions_;
  std::vector<double> latencies_;   // ring
  size_t next_ = 0;
};

}  // namespace airlock::milter
