// SQLite connection and statement wrappers (see db.h). Busy and I/O errors map to Unavailable so
// callers can retry; everything else is Internal with SQLite's message as log detail.
#include "store/sqlite/db.h"

#include <mutex>

namespace tern::store::sqlite {

Error sqliteError(sqlite3* db, int rc, std::string_view what) {
  Errc code = Errc::Internal;
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_IOERR:
    case SQLITE_FULL:
    case SQLITE_CANTOPEN:
    case SQLITE_NOMEM:
      code = Errc::Unavailable;
      break;
    default:
      break;
  }
  std::string detail(what);
  detail += ": ";
  detail += db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  return Error{code, std::move(detail)};
}

Stmt::~Stmt() {
  if (!s_) return;
  if (inUse_) {
    sqlite3_reset(s_);
    sqlite3_clear_bindings(s_);
    *inUse_ = false;
  } else {
    sqlite3_finalize(s_);
  }
}

Stmt& Stmt::bind(int index, int64_t v) {
  sqlite3_bind_int64(s_, index, v);
  return *this;
}

Stmt& Stmt::bindText(int index, std::string_view v) {
  sqlite3_bind_text64(s_, index, v.data() ? v.data() : "", v.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
  return *this;
}

Stmt& Stmt::bindBlob(int index, std::string_view v) {
  sqlite3_bind_blob64(s_, index, v.data() ? v.data() : "", v.size(), SQLITE_TRANSIENT);
  return *this;
}

Stmt& Stmt::bindNull(int index) {
  sqlite3_bind_null(s_, index);
  return *this;
}

Result<bool> Stmt::step() {
  int rc = sqlite3_step(s_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return Unexpected<Error>{sqliteError(sqlite3_db_handle(s_), rc, sqlite3_sql(s_))};
}

Result<void> Stmt::run() {
  for (;;) {
    auto r = step();
    if (!r) return Unexpected<Error>{r.error()};
    if (!*r) return {};
  }
}

std::string Stmt::text(int col) const {
  const void* p = sqlite3_column_blob(s_, col);  // works for TEXT and BLOB, no conversion
  int n = sqlite3_column_bytes(s_, col);
  return p ? std::string(static_cast<const char*>(p), static_cast<size_t>(n)) : std::string();
}

std::string_view Stmt::view(int col) const {
  const void* p = sqlite3_column_blob(s_, col);
  int n = sqlite3_column_bytes(s_, col);
  return p ? std::string_view(static_cast<const char*>(p), static_cast<size_t>(n)) : std::string_view();
}

Result<std::unique_ptr<Db>> Db::open(const std::string& path, bool readOnly, bool synchronousFull) {
  // SQLite's memory statistics take one process-wide mutex on every allocation, and Debian builds it
  // without lookaside memory, so every query allocates: the store's threads queued on that mutex
  // (half of the server's futex calls). Nothing reads the statistics. Must precede initialisation.
  static std::once_flag configured;
  std::call_once(configured, [] { (void)sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0); });
  sqlite3* raw = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &raw,
                           SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    Error e = sqliteError(raw, rc, "open " + path);
    sqlite3_close_v2(raw);
    return Unexpected<Error>{e};
  }
  std::unique_ptr<Db> db(new Db(raw));
  sqlite3_busy_timeout(raw, 10000);
  sqlite3_extended_result_codes(raw, 1);
  TERN_TRY(db->exec("PRAGMA foreign_keys=ON"));
  // Debian builds SQLite with SECURE_DELETE on: every page freed by a delete (an EXPUNGE frees a
  // message's overflow pages) is zeroed and written to the WAL, a quarter of an EXPUNGE's log frames.
  // FAST still zeroes deleted content on the pages a write touches anyway, without the extra I/O.
  TERN_TRY(db->exec("PRAGMA secure_delete=FAST"));
  // The writer's per-request SAVEPOINTs keep a sub-journal of the pages they touch again; with temp
  // files on disk SQLite spilled it past 64 KiB to a new temporary file (a create and an unlink for
  // a third of the group commits under load). In memory it stays a few hundred KiB at most.
  TERN_TRY(db->exec("PRAGMA temp_store=MEMORY"));
  if (readOnly) {
    TERN_TRY(db->exec("PRAGMA query_only=ON"));
  } else {
    auto st = db->prepare("PRAGMA journal_mode=WAL");
    if (!st) return Unexpected<Error>{st.error()};
    auto row = st->step();
    if (!row) return Unexpected<Error>{row.error()};
    if (!*row || st->text(0) != "wal") return fail(Errc::Internal, "cannot enable WAL mode on " + path);
  }
  TERN_TRY(db->exec(synchronousFull ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL"));
  return db;
}

Db::~Db() {
  for (auto& [sql, c] : cache_) sqlite3_finalize(c->stmt);
  sqlite3_close_v2(db_);
}

Result<void> Db::cacheStatement(std::string_view sql, bool* script) {
  sqlite3_stmt* s = nullptr;
  const char* tail = nullptr;
  int rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT, &s, &tail);
  if (rc != SQLITE_OK) return Unexpected<Error>{sqliteError(db_, rc, sql)};
  if (!s) {  // only blanks or comments: nothing to run or cache
    if (!script) return fail(Errc::Internal, "empty SQL statement");
    *script = true;
    return {};
  }
  const std::string_view rest = tail ? sql.substr(static_cast<size_t>(tail - sql.data())) : std::string_view();
  if (script && rest.find_first_not_of(" \t\r\n;") != std::string_view::npos) {
    sqlite3_finalize(s);
    *script = true;
    return {};
  }
  auto c = std::make_unique<Cached>();
  c->stmt = s;
  cache_.emplace(std::string(sql), std::move(c));
  return {};
}

Result<Stmt> Db::prepare(const char* sql) {
  auto it = cache_.find(std::string_view(sql));
  if (it == cache_.end()) {
    TERN_TRY(cacheStatement(sql, nullptr));
    it = cache_.find(std::string_view(sql));
  }
  Cached& c = *it->second;
  if (!c.inUse) {
    c.inUse = true;
    return Stmt(c.stmt, &c.inUse);
  }
  sqlite3_stmt* s = nullptr;
  int rc = sqlite3_prepare_v2(db_, sql, -1, &s, nullptr);
  if (rc != SQLITE_OK) return Unexpected<Error>{sqliteError(db_, rc, sql)};
  return Stmt(s, nullptr);
}

Result<void> Db::exec(const char* sql) {
  bool script = false;
  if (cache_.find(std::string_view(sql)) == cache_.end()) TERN_TRY(cacheStatement(sql, &script));
  if (!script) {
    auto st = prepare(sql);
    if (!st) return Unexpected<Error>{st.error()};
    return st->run();
  }
  char* msg = nullptr;
  int rc = sqlite3_exec(db_, sql, nullptr, nullptr, &msg);
  if (rc != SQLITE_OK) {
    Error e = sqliteError(db_, rc, sql);
    sqlite3_free(msg);
    return Unexpected<Error>{e};
  }
  return {};
}

}  // namespace tern::store::sqlite
