// The verdict cache: SQLite (<state_dir>/cache.sqlite), keyed by SHA-256. Two kinds of entries:
//   "message"    - a whole message body: the assessment JSON (assess.h), answered without a scan
//   "detonation" - one attachment: the verdict of `airlock analyze`
// plus "pending" markers for analyses running in the background (detonation mode "tempfail").
// Entries carry the engine version that produced them; a different version is a miss.
// Thread-safe (one connection behind a mutex; WAL journal so `airlock quarantine` can read alongside).
#pragma once

#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "core/error.h"

struct sqlite3;

namespace airlock::milter {

struct CacheEntry {
  std::string verdict;
  double score = 0;
  std::string detail;   // JSON text (assessment, or the analyze summary)
  int64_t time = 0;     // unix seconds when stored
};

class VerdictCache {
 public:
  static Result<std::unique_ptr<VerdictCache>> Open(const std::string& path, std::string version);
  ~VerdictCache();
  VerdictCache(const VerdictCache&) = delete;
  VerdictCache& operator=(const VerdictCache&) = delete;

  std::optional<CacheEntry> Get(const std::string& kind, const std::string& sha256);
  Status Put(const std::string& kind, const std::string& sha256, const CacheEntry& entry);
  Status Erase(const std::string& kind, const std::string& sha256);
  int64_t Count();

 private:
  VerdictCache(sqlite3* db, std::string version) : db_(db), version_(std::move(version)) {}
  sqlite3* db_;
  std::string version_;
  std::mutex mu_;
};

}  // namespace airlock::milter
