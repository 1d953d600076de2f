// The trust database: airlock watch's verdicts by SHA-256, in SQLite (<state_dir>/trust.sqlite).
//
// Contract:
//  - One row per content (sha256 UNIQUE) with a small integer id (for `airlock verdicts release ID`),
//    the verdict, score, a JSON detail (scan/analyze summary), the last path it was seen at, and times.
//  - Writers: the daemon's judge workers (never the gate's answering threads: the gate reads its
//    in-memory copy, loaded by All() at start and kept current by the daemon). `airlock verdicts
//    release` writes from another process; WAL journal, busy timeout 5 s.
//  - Missing database: created empty. Corrupted database (not a database, or PRAGMA quick_check
//    fails): renamed to trust.sqlite.corrupt-<unix time> and a fresh one created; `recovered` says
//    so. Either way every file is unjudged again: in enforce mode nothing it held runs until judged
//    anew (fail closed), dpkg and allow-listed files keep running.
//  - Release: only a suspicious verdict can be released (malicious never: the caller gets an error
//    saying so). Thread-safe (one connection behind a mutex).
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/error.h"
#include "watch/trust_policy.h"

struct sqlite3;

namespace airlock::watch {

struct TrustRecord {
  int64_t id = 0;
  std::string sha256;
  Verdict verdict = Verdict::kUnknown;
  double score = 0;
  std::string detail;  // JSON text
  std::string path;    // where it was last seen
  int64_t judged_at = 0;
  int64_t released_at = 0;
};

class TrustDb {
 public:
  struct Opened;
  // Opens (creating or recovering, see above) `path`.
  static Result<Opened> Open(const std::string& path);
  // Opens an existing database read-write without creating or recovering it (the CLI's commands).
  static Result<std::unique_ptr<TrustDb>> OpenExisting(const std::string& path);
  ~TrustDb();
  TrustDb(const TrustDb&) = delete;
  TrustDb& operator=(const TrustDb&) = delete;

  // Inserts or replaces the verdict for record.sha256 (keeps the id of an existing row).
  Status Put(const TrustRecord& record);
  std::optional<TrustRecord> Get(const std::string& sha256);
  Result<std::vector<TrustRecord>> All();
  // Suspicious -> released. `id_or_sha`: the numeric id or a full SHA-256.
  Result<TrustRecord> Release(const std::string& id_or_sha);
  // SQLite's data_version: changes when another connection committed (the daemon polls it).
  int64_t DataVersion();

 private:
  explicit TrustDb(sqlite3* db) : db_(db) {}
  static Result<std::unique_ptr<TrustDb>> OpenRaw(const std::string& path, bool create);
  sqlite3* db_;
  std::mutex mu_;
};

struct TrustDb::Opened {
  std::unique_ptr<TrustDb> db;
  bool recovered = false;         // a corrupted database was moved aside
  std::string moved_to;           // where
};

}  // namespace airlock::watch
