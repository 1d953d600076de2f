#include "watch/trust_db.h"

#include <sqlite3.h>
#include <unistd.h>

#include <cstdio>
#include <ctime>
#include <string_view>

namespace airlock::watch {
namespace {

struct StmtDeleter {
  void operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }
};
using Stmt = std::unique_ptr<sqlite3_stmt, StmtDeleter>;

std::unexpected<Error> DbError(sqlite3* db, const std::string& what) {
  return MakeError("trust database: " + what + ": " + (db != nullptr ? sqlite3_errmsg(db) : "out of memory"));
}

constexpr const char* kSchema =
    "PRAGMA journal_mode=WAL;"
    "PRAGMA synchronous=NORMAL;"
    "CREATE TABLE IF NOT EXISTS verdicts (id INTEGER PRIMARY KEY AUTOINCREMENT, sha256 TEXT NOT NULL UNIQUE,"
    " verdict TEXT NOT NULL, score REAL NOT NULL, detail TEXT NOT NULL, path TEXT NOT NULL,"
    " judged_at INTEGER NOT NULL, released_at INTEGER NOT NULL DEFAULT 0);";

constexpr const char* kColumns = "id, sha256, verdict, score, detail, path, judged_at, released_at";

std::string Text(sqlite3_stmt* s, int col) {
  const unsigned char* t = sqlite3_column_text(s, col);
  return t != nullptr ? std::string(reinterpret_cast<const char*>(t), static_cast<size_t>(sqlite3_column_bytes(s, col))) : std::string();
}

TrustRecord Row(sqlite3_stmt* s) {
  TrustRecord r;
  r.id = sqlite3_column_int64(s, 0);
  r.sha256 = Text(s, 1);
  r.verdict = ParseVerdict(Text(s, 2));
  r.score = sqlite3_column_double(s, 3);
  r.detail = Text(s, 4);
  r.path = Text(s, 5);
  r.judged_at = sqlite3_column_int64(s, 6);
  r.released_at = sqlite3_column_int64(s, 7);
  return r;
}

}  // namespace

Result<std::unique_ptr<TrustDb>> TrustDb::OpenRaw(const std::string& path, bool create) {
  sqlite3* db = nullptr;
  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_FULLMUTEX | (create ? SQLITE_OPEN_CREATE : 0);
  if (sqlite3_open_v2(path.c_str(), &db, flags, nullptr) != SQLITE_OK) {
    auto e = DbError(db, "open " + path + (create ? "" : " (is airlock watch set up? see docs/ENDPOINT.md)"));
    sqlite3_close(db);
    return e;
  }
  sqlite3_busy_timeout(db, 5000);
  char* err = nullptr;
  if (sqlite3_exec(db, kSchema, nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err != nullptr ? err : "?";
    sqlite3_free(err);
    sqlite3_close(db);
    return MakeError("trust database: schema in " + path + ": " + msg);
  }
  std::unique_ptr<TrustDb> out(new TrustDb(db));
  Stmt st;
  sqlite3_stmt* raw = nullptr;
  if (sqlite3_prepare_v2(db, "PRAGMA quick_check", -1, &raw, nullptr) != SQLITE_OK) return DbError(db, "quick_check");
  st.reset(raw);
  if (sqlite3_step(raw) != SQLITE_ROW || Text(raw, 0) != "ok") return MakeError("trust database: " + path + ": integrity check failed");
  return out;
}

Result<TrustDb::Opened> TrustDb::Open(const std::string& path) {
  auto db = OpenRaw(path, true);
  if (db) return Opened{std::move(*db), false, ""};
  if (::access(path.c_str(), F_OK) != 0) return std::unexpected(db.error());  // could not even create it
  Opened out;
  out.recovered = true;
  out.moved_to = path + ".corrupt-" + std::to_string(std::time(nullptr));
  if (std::rename(path.c_str(), out.moved_to.c_str()) != 0) {
    return ErrnoError("trust database: " + db.error().What() + "; moving it aside to " + out.moved_to);
  }
  for (const char* side : {"-wal", "-shm"}) (void)std::remove((path + side).c_str());  // stale journal of the old file
  auto fresh = OpenRaw(path, true);
  if (!fresh) return std::unexpected(fresh.error());
  out.db = std::move(*fresh);
  return out;
}

Result<std::unique_ptr<TrustDb>> TrustDb::OpenExisting(const std::string& path) {
  if (::access(path.c_str(), F_OK) != 0) {
    return ErrnoError("trust database " + path + " (airlock watch creates it on its first start; --state-dir?)");
  }
  return OpenRaw(path, false);
}

TrustDb::~TrustDb() { sqlite3_close(db_); }

Status TrustDb::Put(const TrustRecord& r) {
  std::lock_guard lock(mu_);
  sqlite3_stmt* raw = nullptr;
  if (sqlite3_prepare_v2(db_,
                         "INSERT INTO verdicts (sha256, verdict, score, detail, path, judged_at, released_at) VALUES (?1,?2,?3,?4,?5,?6,?7)"
                         " ON CONFLICT(sha256) DO UPDATE SET verdict=?2, score=?3, detail=?4, path=?5, judged_at=?6, released_at=?7",
                         -1, &raw, nullptr) != SQLITE_OK) {
    return DbError(db_, "prepare insert");
  }
  Stmt st(raw);
  sqlite3_bind_text(raw, 1, r.sha256.c_str(), -1, SQLITE_TRANSIENT);
  sqlite3_bind_text(raw, 2, VerdictName(r.verdict), -1, SQLITE_STATIC);
  sqlite3_bind_double(raw, 3, r.score);
  sqlite3_bind_text(raw, 4, r.detail.data(), static_cast<int>(r.detail.size()), SQLITE_TRANSIENT);
  sqlite3_bind_text(raw, 5, r.path.data(), static_cast<int>(r.path.size()), SQLITE_TRANSIENT);
  sqlite3_bind_int64(raw, 6, r.judged_at != 0 ? r.judged_at : static_cast<int64_t>(std::time(nullptr)));
  sqlite3_bind_int64(raw, 7, r.released_at);
  if (sqlite3_step(raw) != SQLITE_DONE) return DbError(db_, "insert");
  return Ok();
}

std::optional<TrustRecord> TrustDb::Get(const std::string& sha256) {
  std::lock_guard lock(mu_);
  sqlite3_stmt* raw = nullptr;
  if (sqlite3_prepare_v2(db_, (std::string("SELECT ") + kColumns + " FROM verdicts WHERE sha256=?1").c_str(), -1, &raw, nullptr) != SQLITE_OK) {
    return std::nullopt;
  }
  Stmt st(raw);
  sqlite3_bind_text(raw, 1, sha256.c_str(), -1, SQLITE_TRANSIENT);
  if (sqlite3_step(raw) != SQLITE_ROW) return std::nullopt;
  return Row(raw);
}

Result<std::vector<TrustRecord>> TrustDb::All() {
  std::lock_guard lock(mu_);
  sqlite3_stmt* raw = nullptr;
  if (sqlite3_prepare_v2(db_, (std::string("SELECT ") + kColumns + " FROM verdicts ORDER BY id").c_str(), -1, &raw, nullptr) != SQLITE_OK) {
    return DbError(db_, "prepare select");
  }
  Stmt st(raw);
  std::vector<TrustRecord> out;
  int rc;
  while ((rc = sqlite3_step(raw)) == SQLITE_ROW) out.push_back(Row(raw));
  if (rc != SQLITE_DONE) return DbError(db_, "select");
  return out;
}

Result<TrustRecord> TrustDb::Release(const std::string& id_or_sha) {
  std::optional<TrustRecord> found;
  auto all = All();
  if (!all) return std::unexpected(all.error());
  for (const auto& r : *all) {
    if (std::to_string(r.id) == id_or_sha || r.sha256 == id_or_sha) found = r;
  }
  if (!found) return MakeError("no verdict with id or sha256 '" + id_or_sha + "' (see `airlock verdicts list`)");
  if (found->verdict == Verdict::kMalicious) return MakeError("verdict " + std::to_string(found->id) + " is malicious: it cannot be released (use `airlock open FILE` to run it in a sandbox)");
  if (found->verdict != Verdict::kSuspicious) {
    return MakeError("verdict " + std::to_string(found->id) + " is " + VerdictName(found->verdict) + ": only a suspicious verdict can be released");
  }
  found->verdict = Verdict::kReleased;
  found->released_at = static_cast<int64_t>(std::time(nullptr));
  if (auto put = Put(*found); !put) return std::unexpected(put.error());
  return *found;
}

int64_t TrustDb::DataVersion() {
  std::lock_guard lock(mu_);
  sqlite3_stmt* raw = nullptr;
  if (sqlite3_prepare_v2(db_, "PRAGMA data_version", -1, &raw, nullptr) != SQLITE_OK) return -1;
  Stmt st(raw);
  if (sqlite3_step(raw) != SQLITE_ROW) return -1;
  return sqlite3_column_int64(raw, 0);
}

}  // namespace airlock::watch
