// One libpq connection of the PostgreSQL store, driven without blocking
// past a deadline: connecting, a simple-protocol script (schema setup), and
// a pipeline of prepared statements sent in one go and answered in one
// round trip. Used by exactly one store thread at a time (the writer, a
// reader, or open_postgres_store() before the threads start). libpq types
// stay inside lib/store/postgres.
#pragma once

#include <libpq-fe.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "realtime/status.h"
#include "store/postgres/sql.h"

namespace realtime::pg {

using SteadyClock = std::chrono::steady_clock;

// A PGresult that clears itself.
struct ResultDeleter {
  void operator()(PGresult* r) const { PQclear(r); }
};
using PgResult = std::unique_ptr<PGresult, ResultDeleter>;

// Reading a result's text-format rows.
class Rows {
 public:
  explicit Rows(const PGresult* r) : r_(r) {}
  int size() const { return r_ ? PQntuples(r_) : 0; }
  bool null(int row, int col) const { return PQgetisnull(r_, row, col) != 0; }
  std::string text(int row, int col) const {
    return std::string(PQgetvalue(r_, row, col), static_cast<std::size_t>(PQgetlength(r_, row, col)));
  }
  std::int64_t int64(int row, int col) const;
  std::optional<std::int64_t> opt_int64(int row, int col) const {
    return null(row, col) ? std::nullopt : std::optional<std::int64_t>(int64(row, col));
  }
  std::optional<std::string> opt_text(int row, int col) const {
    return null(row, col) ? std::nullopt : std::optional<std::string>(text(row, col));
  }
  bool boolean(int row, int col) const { return PQgetvalue(r_, row, col)[0] == 't'; }

 private:
  const PGresult* r_;
};

// Text parameters of one statement; nullopt is SQL NULL.
class Params {
 public:
  Params& add(std::string v) {
    values_.emplace_back(std::move(v));
    return *this;
  }
  Params& add(std::int64_t v) { return add(std::to_string(v)); }
  Params& add(bool v) { return add(std::string(v ? "t" : "f")); }
  Params& null() {
    values_.emplace_back(std::nullopt);
    return *this;
  }
  template <class T>
  Params& add(const std::optional<T>& v) {
    return v ? add(*v) : null();
  }
  const std::vector<std::optional<std::string>>& values() const { return values_; }

 private:
  std::vector<std::optional<std::string>> values_;
};

// Builds the text form of a one-dimensional SQL array ('{"a",NULL}').
class ArrayText {
 public:
  void add(std::string_view v);
  void add(std::int64_t v) { add(std::to_string(v)); }
  void null();
  template <class T>
  void add(const std::optional<T>& v) {
    if (v) add(*v); else null();
  }
  // The array's text; "{}" when every element was NULL (unnest pads an
  // empty array with NULLs, and the server parses nothing).
  std::string take();

 private:
  std::string text_ = "{";
  bool any_value_ = false;
};

// A batch of prepared statements for one round trip.
class Pipeline {
 public:
  // Returns the statement's index among this pipeline's statements.
  std::size_t add(Query q, Params p) {
    stmts_.push_back({q, std::move(p)});
    return stmts_.size() - 1;
  }
  std::size_t size() const { return stmts_.size(); }
  void clear() { stmts_.clear(); }

  struct Stmt {
    Query query;
    Params params;
  };
  const std::vector<Stmt>& stmts() const { return stmts_; }

 private:
  std::vector<Stmt> stmts_;
};

// What the server said to a pipeline that reached it.
struct Outcome {
  // One per statement: its result, or null for a statement skipped after
  // an earlier error.
  std::vector<PgResult> results;
  // The first error: which statement, its SQLSTATE and message.
  struct Error {
    std::size_t index = 0;
    std::string sqlstate;
    std::string message;
  };
  std::optional<Error> error;

  Rows rows(std::size_t i) const { return Rows(results[i].get()); }
};

// How a server error should be handled, from its SQLSTATE.
enum class ErrorKind : std::uint8_t {
  retry,     // the transaction lost a race (deadlock, serialization, a
             // unique key another transaction took): run it again
  resource,  // the server cannot work now (disk full, shutting down, read
             // only, out of memory): fail the batch, keep the connection
  op,        // something about one statement: fail the call it belongs to
};
ErrorKind classify(const std::string& sqlstate);

class Conn {
 public:
  Conn() = default;
  Conn(Conn&& o) noexcept : pg_(o.pg_), prepared_(std::move(o.prepared_)) { o.pg_ = nullptr; }
  Conn& operator=(Conn&& o) noexcept;
  ~Conn() { close(); }

  // Connects within `deadline`. Errors are `unavailable` (cannot reach or
  // authenticate) naming the server, never the password.
  static Result<Conn> open(const std::string& conninfo, SteadyClock::time_point deadline);

  bool connected() const { return pg_ != nullptr && PQstatus(pg_) == CONNECTION_OK; }
  void close();

  // Runs a script of one or more statements in the simple protocol (not
  // in pipeline mode): schema setup and migrations. The rows of the last
  // statement that returned rows, or an error (`unavailable` when the
  // connection was lost or the deadline passed, `internal` with the
  // server's message otherwise).
  Result<PgResult> script(const std::string& sql, SteadyClock::time_point deadline);

  // Switches to pipeline mode for run(); after script() calls are done.
  Status enter_pipeline();

  // Sends every statement (preparing those this connection has not seen
  // yet), then a sync, and reads every answer, all before `deadline`.
  // `unavailable` when the connection broke or the deadline passed: the
  // connection is closed and nothing can be known about what ran. Server
  // errors come back inside the Outcome.
  Result<Outcome> run(const Pipeline& p, SteadyClock::time_point deadline);

  int backend_pid() const { return pg_ ? PQbackendPID(pg_) : 0; }
  // "host:port" of the server this connection reached.
  std::string server() const;

 private:
  explicit Conn(PGconn* pg) : pg_(pg) {}
  // Waits until the socket is readable (and writable when `write`).
  Status wait(bool write, SteadyClock::time_point deadline);
  Status flush(SteadyClock::time_point deadline);
  // The next result of the pipeline, waiting for it.
  Result<PgResult> next(SteadyClock::time_point deadline);
  Status lost(const std::string& what);

  PGconn* pg_ = nullptr;
  std::vector<bool> prepared_;
};

}  // namespace realtime::pg
