// The judge: files met by the gate or written into watched directories, triaged and judged off the
// gate's path (docs/ENDPOINT.md "Watching").
//
// Contract:
//  - Submit never blocks: a bounded queue (queue_limit) with two priorities; an urgent job (someone
//    tried to run or interpret the file) goes before every normal one (a file landing in a watched
//    directory). A path already queued is not queued twice (an urgent submit promotes it). A full
//    queue drops the job, counts and logs it: the file stays unjudged (refused in enforce mode) and
//    is queued again at its next exec attempt.
//  - `concurrency` workers. Each opens the path (O_NOFOLLOW, regular files only; a file deleted or
//    unreadable before its turn is logged and skipped), copies it into its private staging directory
//    while hashing (SHA-256 of the staged copy is the content judged: a file changing meanwhile is
//    judged as copied, and its new content is unknown until judged in turn), and, unless the content
//    already has a verdict, runs `airlock scan --json` in a sandbox (runapi/scan_request.h) and, for
//    runnable content (ELF, #!) not already malicious and with detonation on, `airlock analyze`.
//    Larger than max_file_size: not judged (logged; stays unknown).
//  - A verdict goes to the trust database, the in-memory trust state, and the file's xattrs
//    (xattr_names.h), then one log line "verdict <v> sha256:<hex> path=<path>". A failed analysis
//    stores nothing (the content stays unknown) and is not retried for the same content for 30 s.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "watch/trust_db.h"
#include "watch/trust_state.h"

namespace airlock::watch {

struct JudgeOptions {
  int concurrency = 2;
  size_t queue_limit = 4096;
  uint64_t max_file_size = 256ull << 20;
  std::string work_dir;  // private; one subdirectory per worker
  bool detonate = true;
  std::chrono::seconds detonate_timeout{30};
  std::chrono::seconds scan_timeout{120};
  // Called after each verdict's log line (the notifier); must not block.
  std::function<void(const std::string& path, const std::string& sha256, Verdict verdict)> on_verdict;
};

struct JudgeStats {
  std::atomic<uint64_t> submitted{0}, judged{0}, known{0}, dropped{0}, failed{0}, skipped{0};
};

class Judge {
 public:
  Judge(JudgeOptions options, TrustState& trust, TrustDb& db, std::function<void(std::string)> log);
  ~Judge();  // Stop()
  Judge(const Judge&) = delete;
  Judge& operator=(const Judge&) = delete;

  void Submit(const std::string& path, const std::string& sha256, bool urgent);
  void Stop();  // running analyses are killed with the daemon's children (kill_with_caller)
  size_t QueueLength();
  const JudgeStats& stats() const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

// Exposed for tests: the worst of two verdict words ("malicious" > "suspicious" > "clean").
Verdict WorstVerdict(Verdict a, Verdict b);
// The verdict of airlock-scan's or airlock-analyze's JSON text (top-level "verdict"); kUnknown if absent.
Verdict VerdictOfReport(const std::string& json_text, double* score);

}  // namespace airlock::watch
