// Db and Stmt: a thin RAII layer over one sqlite3 connection and its
// prepared statements. Used only by the SQLite store's own threads (the
// writer, the reader, and open() before they start); a Db is never shared
// between threads at the same time. Every failure becomes a Status.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>

#include "realtime/status.h"

namespace realtime::sqlite {

// A prepared statement borrowed from the Db's cache. Resets and clears its
// bindings when it goes out of scope, so the next user starts clean.
class Stmt {
 public:
  Stmt(sqlite3* db, sqlite3_stmt* s, Status prepare_status = {})
      : db_(db), s_(s), status_(std::move(prepare_status)) {}
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;
  ~Stmt();

  Stmt& bind(int i, std::int64_t v);
  Stmt& bind(int i, std::string_view v);
  // NULL when empty.
  Stmt& bind_opt(int i, const std::optional<std::string>& v);
  Stmt& bind_opt(int i, const std::optional<std::int64_t>& v);
  Stmt& bind_null(int i);

  // SQLITE_ROW -> true, SQLITE_DONE -> false; anything else sets status().
  bool step();
  // Steps to the end; the Status of the statement.
  Status run();
  // The first failure seen by step(), or ok.
  const Status& status() const { return status_; }

  std::int64_t int64(int col) const { return sqlite3_column_int64(s_, col); }
  bool is_null(int col) const { return sqlite3_column_type(s_, col) == SQLITE_NULL; }
  std::string text(int col) const;
  std::optional<std::string> opt_text(int col) const;
  std::optional<std::int64_t> opt_int64(int col) const;

 private:
  sqlite3* db_;
  sqlite3_stmt* s_;
  Status status_;
};

class Db {
 public:
  Db() = default;
  Db(Db&& o) noexcept;
  Db& operator=(Db&& o) noexcept;
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;
  ~Db();

  // Opens `path` with the given SQLITE_OPEN_* flags.
  static Result<Db> open(const std::string& path, int flags);

  sqlite3* handle() const { return db_; }
  // False for a default-constructed or closed Db (a store closes its
  // connections when its file system fails; see workers.h).
  bool is_open() const { return db_ != nullptr; }
  // Finalizes the statements and closes the connection. Idempotent.
  void close();
  // The extended result code of the connection's last failed call.
  int error_code() const { return db_ != nullptr ? sqlite3_extended_errcode(db_) : SQLITE_MISUSE; }
  // True when the path the file was opened by no longer names it (deleted,
  // renamed, or replaced by another file): writes would go to a file that
  // nobody will open again.
  bool file_moved() const;
  // Drops the connection's cached pages (after it read a corrupt page, the
  // cache must not keep serving it once the file is repaired).
  void release_cache() {
    if (db_ != nullptr) sqlite3_db_release_memory(db_);
  }
  // Runs one or more statements without results.
  Status exec(std::string_view sql);
  // A cached prepared statement for `sql` (a string literal: its address
  // is the cache key). On failure the Stmt is still usable: step() fails.
  Stmt prepare(const char* sql);
  // One integer from a query such as a PRAGMA.
  Result<std::int64_t> query_int(const char* sql);
  // True while no transaction is open (SQLite may end one by itself
  // after an I/O error, which the writer must notice).
  bool autocommit() const { return sqlite3_get_autocommit(db_) != 0; }
  std::int64_t last_insert_rowid() const { return sqlite3_last_insert_rowid(db_); }
  int changes() const { return sqlite3_changes(db_); }
  // Rows changed by this connection since it opened.
  std::int64_t total_changes() const { return sqlite3_total_changes64(db_); }
  // "<what>: <sqlite message> (code N)" as an internal Status.
  Status error(std::string_view what) const;

  // The writer's memo of (room row id, last seq) per room id, so appends
  // do not look their room up every time. Valid while every change to the
  // file is ours: the writer clears it whenever a transaction or savepoint
  // ends other than by success, and when PRAGMA data_version says another
  // connection (another process) committed.
  struct RoomSeq {
    std::int64_t rid = 0;
    std::int64_t last_seq = 0;
  };
  std::unordered_map<std::string, RoomSeq>& room_seqs() { return room_seqs_; }

 private:
  sqlite3* db_ = nullptr;
  std::unordered_map<const char*, sqlite3_stmt*> cache_;
  std::unordered_map<std::string, RoomSeq> room_seqs_;
};

// Status for an SQLite result code outside a connection.
Status sqlite_error(int rc, std::string_view what);

// True for the result codes that say the file or its file system failed
// (I/O error, full, read-only, cannot open, corrupt, not a database), as
// opposed to a mistake in one call: the store cannot do its job until the
// file is fixed, and a call that failed this way may succeed later.
bool is_storage_error(int extended_code);

}  // namespace realtime::sqlite
