// The per-message decision of airlock-milter, independent of libmilter: static triage in the worker
// pool (or the message cache), optional detonation, the configured action, the MTA modifications
// (through MtaActions), the log line and the counters. Fail closed: any internal error, timeout,
// overload or oversize gives Outcome::kTempfail unless fail_open (then kAccept, logged as such).
// Thread-safe: one Filter serves every libmilter connection thread.
#pragma once

#include <chrono>
#include <cstdio>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "milter/assess.h"
#include "milter/config.h"
#include "milter/detonation_slots.h"
#include "milter/quarantine_store.h"
#include "milter/stats.h"
#include "milter/verdict_cache.h"
#include "milter/worker_pool.h"

namespace airlock::milter {

// What the filter may ask of the MTA for the current message (libmilter's smfi_* in the daemon).
class MtaActions {
 public:
  virtual ~MtaActions() = default;
  virtual bool AddHeader(const std::string& name, const std::string& value) = 0;
  virtual bool ChangeHeader(const std::string& name, int index, const std::string* value) = 0;  // null: delete
  virtual bool ReplaceBody(const std::string& body) = 0;
  virtual bool Quarantine(const std::string& reason) = 0;
  virtual bool SetReply(const std::string& code, const std::string& xcode, const std::string& text) = 0;
  virtual void Progress() = 0;
};

struct Envelope {
  std::string queue_id, from;
  std::vector<std::string> rcpts;
  int existing_airlock_headers[3] = {0, 0, 0};   // X-Airlock-Verdict, -Score, -Techniques already present
};

enum class Outcome { kAccept, kReject, kDiscard, kTempfail };

class Filter {
 public:
  Filter(MilterConfig config, std::unique_ptr<WorkerPool> pool, std::unique_ptr<VerdictCache> cache);
  ~Filter();

  // `message` is the header block, blank line and body as received; `body_offset` where the body starts.
  // `oversize_size` > 0: the message exceeded max_message_size (its bytes were not kept).
  Outcome Process(const Envelope& env, const std::string& message, size_t body_offset, uint64_t oversize_size,
                  MtaActions& mta);

  // Fails the message closed (tempfail with 451 4.7.1), or accepts it when fail_open; logs it.
  Outcome Fail(const Envelope& env, uint64_t size, const std::string& error, std::chrono::steady_clock::time_point start,
               MtaActions& mta);

  Stats& stats() { return stats_; }
  WorkerPool& pool() { return *pool_; }
  const MilterConfig& config() const { return config_; }
  // Logs the counters and writes <state_dir>/stats.json.
  void FlushStats(const char* why);
  // Waits (bounded) for background analyses to finish.
  void Drain(std::chrono::milliseconds max_wait);

 private:
  void Log(const nlohmann::json& line);
  void LogMessage(std::chrono::steady_clock::time_point start, nlohmann::json line);
  struct DetonationResult {
    bool pending = false;   // the message must wait for a background analysis (tempfail mode)
    std::string error;      // inline: an attachment could not be judged within the budget (fail closed)
  };
  // Detonates (inline) or schedules (tempfail mode) the extracted attachments, at most
  // [detonation].concurrency at once across all messages; inline analyses are killed at `deadline`.
  DetonationResult Detonate(const nlohmann::json& extracted, const std::string& payload, MessageAssessment& a,
                            bool& cached, std::chrono::steady_clock::time_point deadline, MtaActions& mta);

  MilterConfig config_;
  std::unique_ptr<WorkerPool> pool_;
  std::unique_ptr<VerdictCache> cache_;
  QuarantineStore store_;
  Stats stats_;
  std::mutex log_mu_;
  FILE* log_ = nullptr;
  bool own_log_ = false;
  DetonationSlots slots_;
  std::mutex bg_mu_;
  int bg_running_ = 0;
};

// Runs `airlock analyze --json --out OUT_DIR --timeout T` on `path`; calls `progress` every 5 s while it
// runs. The analysis is killed (SIGKILL; its sandbox dies with it) when it is still running at `kill_at`.
// Returns the analyze report, or {"error": ...} (with "overran": true when it was killed).
nlohmann::json RunAnalyze(const std::string& path, const std::string& out_dir, std::chrono::milliseconds timeout,
                          std::chrono::steady_clock::time_point kill_at, const std::function<void()>& progress);

}  // namespace airlock::milter
