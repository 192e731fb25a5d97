// Thin RAII layer over the SQLite C API: connections, cached prepared statements, error mapping.
// Internal to store/sqlite. All values reach SQL through bound parameters, never string splicing.
#pragma once

#include <sqlite3.h>

#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

#include "store/types.h"

// Early return of a failed Result from a function returning any store Result.
#define TERN_TRY(expr)                                                        \
  do {                                                                        \
    auto tern_try_r_ = (expr);                                                \
    if (!tern_try_r_) return ::tern::Unexpected<::tern::store::Error>{tern_try_r_.error()}; \
  } while (0)

namespace tern::store::sqlite {

Error sqliteError(sqlite3* db, int rc, std::string_view what);

// A prepared statement borrowed from a connection's cache (reset when it goes out of scope), or a
// private one when the cached copy is already in use further up the stack.
class Stmt {
 public:
  Stmt(sqlite3_stmt* s, bool* inUse) : s_(s), inUse_(inUse) {}
  Stmt(Stmt&& o) noexcept : s_(o.s_), inUse_(o.inUse_) { o.s_ = nullptr; }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;
  Stmt& operator=(Stmt&&) = delete;
  ~Stmt();

  Stmt& bind(int index, int64_t v);
  Stmt& bindText(int index, std::string_view v);
  Stmt& bindBlob(int index, std::string_view v);
  Stmt& bindNull(int index);

  Result<bool> step();  // true: a row is available; false: done
  Result<void> run();   // steps to completion, ignoring rows

  int64_t i64(int col) const { return sqlite3_column_int64(s_, col); }
  std::string text(int col) const;
  // The column's bytes without a copy; valid until the next step or reset.
  std::string_view view(int col) const;
  bool isNull(int col) const { return sqlite3_column_type(s_, col) == SQLITE_NULL; }

 private:
  sqlite3_stmt* s_;
  bool* inUse_;  // null for a private statement (finalized on destruction)
};

class Db {
 public:
  // readOnly connections set query_only; all use WAL, foreign keys and a busy timeout.
  static Result<std::unique_ptr<Db>> open(const std::string& path, bool readOnly, bool synchronousFull);
  ~Db();
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;

  Result<Stmt> prepare(const char* sql);
  // One or more statements without parameters. A single statement (BEGIN, COMMIT, SAVEPOINT...)
  // runs from the statement cache instead of being parsed again on every call.
  Result<void> exec(const char* sql);
  sqlite3* handle() const { return db_; }
  int64_t changes() const { return sqlite3_changes64(db_); }

 private:
  explicit Db(sqlite3* db) : db_(db) {}
  struct Cached {
    sqlite3_stmt* stmt = nullptr;
    bool inUse = false;
  };
  sqlite3* db_;
  // Looked up by the SQL text without building a std::string for every query.
  struct TextHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  // Prepares sql into the cache; *script is set (and nothing cached) when sql holds more than one
  // statement.
  Result<void> cacheStatement(std::string_view sql, bool* script);
  std::unordered_map<std::string, std::unique_ptr<Cached>, TextHash, std::equal_to<>> cache_;
};

}  // namespace tern::store::sqlite
