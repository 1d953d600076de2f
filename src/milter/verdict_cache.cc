#include "milter/verdict_cache.h"

#include <sqlite3.h>

#include <ctime>
#include <memory>

namespace airlock::milter {
namespace {

struct StmtDeleter {
  void operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }
};
using Stmt = std::unique_ptr<sqlite3_stmt, StmtDeleter>;

std::unexpected<Error> DbError(sqlite3* db, const std::string& what) {
  return MakeError("verdict cache: " + what + ": " + (db != nullptr ? sqlite3_errmsg(db) : "out of memory"));
}

}  // namespace

Result<std::unique_ptr<VerdictCache>> VerdictCache::Open(const std::string& path, std::string version) {
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    auto e = DbError(db, "open " + path);
    sqlite3_close(db);
    return e;
  }
  sqlite3_busy_timeout(db, 5000);
  const char* schema =
      "PRAGMA journal_mode=WAL;"
      "PRAGMA synchronous=NORMAL;"
      "CREATE TABLE IF NOT EXISTS verdicts (kind TEXT NOT NULL, sha256 TEXT NOT NULL, version TEXT NOT NULL,"
      " verdict TEXT NOT NULL, score REAL NOT NULL, detail TEXT NOT NULL, time INTEGER NOT NULL,"
      " PRIMARY KEY (kind, sha256));";
  char* err = nullptr;
  if (sqlite3_exec(db, schema, nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err != nullptr ? err : "?";
    sqlite3_free(err);
    sqlite3_close(db);
    return MakeError("verdict cache: schema in " + path + ": " + msg);
  }
  return std::unique_ptr<VerdictCache>(new VerdictCache(db, std::move(version)));
}

VerdictCache::~VerdictCache() { sqlite3_close(db_); }

std::optional<CacheEntry> VerdictCache::Get(const std::string& kind, const std::string& sha256) {
  std::lock_guard lock(mu_);
  sqlite3_stmt* raw = nullptr;
  if (sqlite3_prepare_v2(db_, "SELECT verdict, score, detail, time FROM verdicts WHERE kind=?1 AND sha256=?2 AND version=?3", -1,
                         &raw, nullptr) != SQLITE_OK) {
    return std::nullopt;
  }
  Stmt st(raw);
  sqlite3_bind_text(raw, 1, kind.c_str(), -1, SQLITE_TRANSIENT);
  sqlite3_bind_text(raw, 2, sha256.c_str(), -1, SQLITE_TRANSIENT);
  sqlite3_bind_text(raw, 3, version_.c_str(), -1, SQLITE_TRANSIENT);
  if (sqlite3_step(raw) != SQLITE_ROW) return std::nullopt;
  CacheEntry e;
  e.verdict = reinterpret_cast<const char*>(sqlite3_column_text(raw, 0));
  e.score = sqlite3_column_double(raw, 1);
  e.detail = reinterpret_cast<const char*>(sqlite3_column_text(raw, 2));
  e.time = sqlite3_column_int64(raw, 3);
  return e;
}

Status VerdictCache::Put(const std::string& kind, const std::string& sha256, const CacheEntry& entry) {
  std::lock_guard lock(mu_);
  sqlite3_stmt* raw = nullptr;
  if (sqlite3_prepare_v2(db_, "INSERT OR REPLACE INTO verdicts (kind, sha256, version, verdict, score, detail, time) "
                              "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)", -1, &raw, nullptr) != SQLITE_OK) {
    return DbError(db_, "prepare insert");
  }
  Stmt st(raw);
  sqlite3_bind_text(raw, 1, kind.c_str(), -1, SQLITE_TRANSIENT);
  sqlite3_bind_text(raw, 2, sha256.c_str(), -1, SQLITE_TRANSIENT);
  sqlite3_bind_text(raw, 3, version_.c_str(), -1, SQLITE_TRANSIENT);
  sqlite3_bind_text(raw, 4, entry.verdict.c_str(), -1, SQLITE_TRANSIENT);
  sqlite3_bind_double(raw, 5, entry.score);
  sqlite3_bind_text(raw, 6, entry.detail.c_str(), static_cast<int>(entry.detail.size()), SQLITE_TRANSIENT);
  sqlite3_bind_int64(raw, 7, entry.time != 0 ? entry.time : static_cast<int64_t>(std::time(nullptr)));
  if (sqlite3_step(raw) != SQLITE_DONE) return DbError(db_, "insert");
  return Ok();
}

Status VerdictCache::Erase(const std::string& kind, const std::string& sha256) {
  std::lock_guard lock(mu_);
  sqlite3_stmt* raw = nullptr;
  if (sqlite3_prepare_v2(db_, "DELETE FROM verdicts WHERE kind=?1 AND sha256=?2", -1, &raw, nullptr) != SQLITE_OK) {
    return DbError(db_, "prepare delete");
  }
  Stmt st(raw);
  sqlite3_bind_text(raw, 1, kind.c_str(), -1, SQLITE_TRANSIENT);
  sqlite3_bind_text(raw, 2, sha256.c_str(), -1, SQLITE_TRANSIENT);
  if (sqlite3_step(raw) != SQLITE_DONE) return DbError(db_, "delete");
  return Ok();
}

int64_t VerdictCache::Count() {
  std::lock_guard lock(mu_);
  sqlite3_stmt* raw = nullptr;
  if (sqlite3_prepare_v2(db_, "SELECT COUNT(*) FROM verdicts", -1, &raw, nullptr) != SQLITE_OK) return -1;
  Stmt st(raw);
  if (sqlite3_step(raw) != SQLITE_ROW) return -1;
  return sqlite3_column_int64(raw, 0);
}

}  // namespace airlock::milter
