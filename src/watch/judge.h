// The judge: files met by the gate or written into watched directories, triaged and judged off the
// gate's path (docs/ENDPOINT.md "Watching").
//
// Contract:
//  - Submit never blocks: two queues of at most queue_limit jobs each; an urgent job (someone tried
//    to run or interpret the file) goes before every normal one (a file landing in a watched
//    directory), and a flood of normal ones never keeps it out. A path already queued is not queued
//    twice while it waits (an urgent submit promotes it); once a worker has taken it, a new submit
//    queues it again (a file rewritten while judged is judged again). A full queue refuses a normal
//    job (Submit returns false: the directory watcher retries it in its sweep) and drops an urgent
//    one, counted and logged: the file stays unjudged (refused in enforce mode) and is queued again
//    at its next exec attempt.
//  - `concurrency` workers. Each opens the path (O_NOFOLLOW, regular files only; a file deleted or
//    unreadable before its turn is logged and skipped), hashes it in place (content with a verdict
//    already: recorded, nothing staged), else copies it into its private staging directory
//    while hashing (SHA-256 of the staged copy is the content judged: a file changing meanwhile is
//    judged as copied, and its new content is unknown until judged in turn), and, unless the content
//    already has a verdict, runs `airlock scan --json` in a sandbox (runapi/scan_request.h) and, for
//    content `airlock analyze` can run (analyze/runner.h: an ELF, a script, a page or an SVG, an
//    archive) not already malicious and with detonation on, `airlock analyze` of the staged copy
//    under the file's own (sanitized) name. The staged copy is removed when the job ends, judged or
//    not (a partial copy on a full disk never holds the space another file needs).
//    Larger than max_file_size: not judged (logged; stays unknown).
//  - A verdict goes to the trust database, the in-memory trust state, and the file's xattrs
//    (xattr_names.h), then one log line "verdict <v> sha256:<hex> score=<s> path=<path>" (content
//    judged before: "... known path=<path>", labels only, the database keeps the first). A failed analysis
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

  // False when the queue is full and the job was not taken (see above); true when queued or already queued.
  bool Submit(const std::string& path, const std::string& sha256, bool urgent);
  // Content the gate trusted as built (build_trust.h): recorded clean ("basis": "build") if the file
  // still has that content, else logged. Goes before every other job; never blocks.
  void RecordBuilt(const std::string& path, const std::string& sha256, const std::string& builder);
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
