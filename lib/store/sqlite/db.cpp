// Db and Stmt (see db.h). Runs on whichever store thread owns the Db.
#include "store/sqlite/db.h"

#include <fmt/format.h>

namespace realtime::sqlite {

Status sqlite_error(int rc, std::string_view what) {
  return Status::internal(fmt::format("{}: {} (sqlite code {})", what, sqlite3_errstr(rc), rc));
}

bool is_storage_error(int extended_code) {
  switch (extended_code & 0xff) {
    case SQLITE_IOERR:
    case SQLITE_FULL:
    case SQLITE_READONLY:
    case SQLITE_CANTOPEN:
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return true;
    default:
      return false;
  }
}

Stmt::~Stmt() {
  if (s_ != nullptr) {
    sqlite3_reset(s_);
    sqlite3_clear_bindings(s_);
  }
}

Stmt& Stmt::bind(int i, std::int64_t v) {
  if (s_ != nullptr) sqlite3_bind_int64(s_, i, v);
  return *this;
}

Stmt& Stmt::bind(int i, std::string_view v) {
  // SQLITE_TRANSIENT: the caller's buffer may die before step().
  if (s_ != nullptr) sqlite3_bind_text64(s_, i, v.data(), v.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
  return *this;
}

Stmt& Stmt::bind_opt(int i, const std::optional<std::string>& v) {
  return v ? bind(i, std::string_view(*v)) : bind_null(i);
}

Stmt& Stmt::bind_opt(int i, const std::optional<std::int64_t>& v) {
  return v ? bind(i, *v) : bind_null(i);
}

Stmt& Stmt::bind_null(int i) {
  if (s_ != nullptr) sqlite3_bind_null(s_, i);
  return *this;
}

bool Stmt::step() {
  if (s_ == nullptr || !status_.ok()) return false;
  const int rc = sqlite3_step(s_);
  if (rc == SQLITE_ROW) return true;
  if (rc != SQLITE_DONE) {
    status_ = Status::internal(
        fmt::format("sqlite: {} (code {}) in: {}", sqlite3_errmsg(db_), rc, sqlite3_sql(s_)));
  }
  return false;
}

Status Stmt::run() {
  while (step()) {
  }
  return status_;
}

std::string Stmt::text(int col) const {
  const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(s_, col));
  if (p == nullptr) return {};
  return std::string(p, static_cast<std::size_t>(sqlite3_column_bytes(s_, col)));
}

std::optional<std::string> Stmt::opt_text(int col) const {
  if (is_null(col)) return std::nullopt;
  return text(col);
}

std::optional<std::int64_t> Stmt::opt_int64(int col) const {
  if (is_null(col)) return std::nullopt;
  return int64(col);
}

Db::Db(Db&& o) noexcept : db_(o.db_), cache_(std::move(o.cache_)) {
  o.db_ = nullptr;
  o.cache_.clear();
}

Db& Db::operator=(Db&& o) noexcept {
  if (this != &o) {
    close();
    db_ = o.db_;
    cache_ = std::move(o.cache_);
    o.db_ = nullptr;
    o.cache_.clear();
  }
  return *this;
}

Db::~Db() { close(); }

void Db::close() {
  for (auto& [sql, s] : cache_) sqlite3_finalize(s);
  cache_.clear();
  if (db_ != nullptr) sqlite3_close_v2(db_);
  db_ = nullptr;
}

bool Db::file_moved() const {
  int moved = 0;
  if (db_ == nullptr) return false;
  if (sqlite3_file_control(db_, "main", SQLITE_FCNTL_HAS_MOVED, &moved) != SQLITE_OK) return false;
  return moved != 0;
}

Result<Db> Db::open(const std::string& path, int flags) {
  Db db;
  const int rc = sqlite3_open_v2(path.c_str(), &db.db_, flags, nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = db.db_ != nullptr ? sqlite3_errmsg(db.db_) : sqlite3_errstr(rc);
    const char* hint = (rc & 0xff) == SQLITE_CANTOPEN ? " (does the directory exist, and is it writable?)" : "";
    return Status::internal(fmt::format("cannot open {}: {} (sqlite code {}){}", path, msg, rc, hint));
  }
  sqlite3_extended_result_codes(db.db_, 1);
  return db;
}

Status Db::exec(std::string_view sql) {
  const std::string s(sql);
  char* err = nullptr;
  const int rc = sqlite3_exec(db_, s.c_str(), nullptr, nullptr, &err);
  if (rc == SQLITE_OK) return {};
  Status st = Status::internal(
      fmt::format("sqlite: {} (code {}) in: {}", err != nullptr ? err : sqlite3_errstr(rc), rc, s));
  sqlite3_free(err);
  return st;
}

Stmt Db::prepare(const char* sql) {
  if (auto it = cache_.find(sql); it != cache_.end()) return Stmt(db_, it->second);
  sqlite3_stmt* s = nullptr;
  const int rc = sqlite3_prepare_v3(db_, sql, -1, SQLITE_PREPARE_PERSISTENT, &s, nullptr);
  if (rc != SQLITE_OK) {
    return Stmt(db_, nullptr,
                Status::internal(fmt::format("sqlite: cannot prepare: {} (code {}) in: {}",
                                             sqlite3_errmsg(db_), rc, sql)));
  }
  cache_.emplace(sql, s);
  return Stmt(db_, s);
}

Result<std::int64_t> Db::query_int(const char* sql) {
  Stmt s = prepare(sql);
  if (!s.step()) {
    if (!s.status().ok()) return s.status();
    return Status::internal(fmt::format("sqlite: no row from: {}", sql));
  }
  return s.int64(0);
}

Status Db::error(std::string_view what) const {
  return Status::internal(fmt::format("{}: {} (sqlite code {})", what, sqlite3_errmsg(db_),
                                      sqlite3_extended_errcode(db_)));
}

}  // namespace realtime::sqlite
