// A libpq connection driven in non-blocking mode with deadlines (see
// conn.h). Every wait is a poll() on the connection's socket bounded by
// the caller's deadline, so a server that stops answering costs at most
// that long; the connection is then closed, since nothing can be known
// about what it was doing.
#include "store/postgres/conn.h"

#include <poll.h>

#include <cerrno>
#include <charconv>
#include <cstring>

namespace realtime::pg {
namespace {

// libpq's message on one line: its newlines and tabs become spaces.
std::string trimmed(const char* s) {
  std::string out;
  for (const char* p = s != nullptr ? s : ""; *p != '\0'; ++p) {
    const char c = (*p == '\n' || *p == '\t') ? ' ' : *p;
    if (c != ' ' || (!out.empty() && out.back() != ' ')) out.push_back(c);
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

int millis_until(SteadyClock::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - SteadyClock::now()).count();
  return left <= 0 ? 0 : static_cast<int>(std::min<long long>(left, 60'000));
}

}  // namespace

std::int64_t Rows::int64(int row, int col) const {
  const char* v = PQgetvalue(r_, row, col);
  std::int64_t out = 0;
  std::from_chars(v, v + std::strlen(v), out);
  return out;
}

void ArrayText::add(std::string_view v) {
  any_value_ = true;
  if (text_.size() > 1) text_.push_back(',');
  text_.push_back('"');
  for (char c : v) {
    if (c == '"' || c == '\\') text_.push_back('\\');
    text_.push_back(c);
  }
  text_.push_back('"');
}

void ArrayText::null() {
  if (text_.size() > 1) text_.push_back(',');
  text_ += "NULL";
}

std::string ArrayText::take() {
  std::string out;
  out.swap(text_);
  if (any_value_) {
    out.push_back('}');
  } else {
    out.assign("{}");
  }
  text_.push_back('{');
  any_value_ = false;
  return out;
}

ErrorKind classify(const std::string& sqlstate) {
  // Lost races: nothing of the transaction stays, running it again is safe.
  if (sqlstate == "40001" || sqlstate == "40P01" || sqlstate == "23505" || sqlstate == "55P03") {
    return ErrorKind::retry;
  }
  const std::string cls = sqlstate.substr(0, 2);
  if (cls == "08" || cls == "53" || cls == "57" || cls == "58" || cls == "XX" || sqlstate == "25006") {
    return ErrorKind::resource;
  }
  return ErrorKind::op;
}

Conn& Conn::operator=(Conn&& o) noexcept {
  if (this != &o) {
    close();
    pg_ = o.pg_;
    prepared_ = std::move(o.prepared_);
    o.pg_ = nullptr;
  }
  return *this;
}

void Conn::close() {
  if (pg_ != nullptr) PQfinish(pg_);
  pg_ = nullptr;
  prepared_.clear();
}

std::string Conn::server() const {
  if (pg_ == nullptr) return "";
  const char* host = PQhost(pg_);
  const char* port = PQport(pg_);
  return std::string(host != nullptr ? host : "") + ":" + (port != nullptr ? port : "");
}

Result<Conn> Conn::open(const std::string& conninfo, SteadyClock::time_point deadline) {
  // Settings before "dbname" are defaults the connection string may
  // override (libpq expands the string in place of dbname). Keepalives
  // let the kernel notice a server that vanished without closing.
  const char* keys[] = {"fallback_application_name", "keepalives", "keepalives_idle", "keepalives_interval",
                        "keepalives_count", "dbname", nullptr};
  const char* values[] = {"chatd", "1", "10", "5", "3", conninfo.c_str(), nullptr};
  PGconn* raw = PQconnectStartParams(keys, values, 1);
  if (raw == nullptr) return Status::unavailable("cannot allocate a PostgreSQL connection");
  Conn c(raw);
  auto failed = [&](const std::string& why) { return Status::unavailable(why); };
  if (PQstatus(raw) == CONNECTION_BAD) return failed(trimmed(PQerrorMessage(raw)));
  PostgresPollingStatusType st = PGRES_POLLING_WRITING;
  while (st != PGRES_POLLING_OK) {
    if (st == PGRES_POLLING_FAILED) return failed(trimmed(PQerrorMessage(raw)));
    pollfd p{PQsocket(raw), static_cast<short>(st == PGRES_POLLING_READING ? POLLIN : POLLOUT), 0};
    const int n = poll(&p, 1, millis_until(deadline));
    if (n == 0 && SteadyClock::now() >= deadline) return failed("timed out connecting");
    if (n < 0 && errno != EINTR) return failed(std::string("poll: ") + std::strerror(errno));
    st = PQconnectPoll(raw);
  }
  if (PQsetnonblocking(raw, 1) != 0) return failed(trimmed(PQerrorMessage(raw)));
  c.prepared_.assign(kQueryCount, false);
  return c;
}

Status Conn::lost(const std::string& what) {
  std::string why = what;
  if (pg_ != nullptr && PQstatus(pg_) == CONNECTION_BAD) {
    const std::string msg = trimmed(PQerrorMessage(pg_));
    if (!msg.empty()) why += ": " + msg;
  }
  close();
  return Status::unavailable("connection to PostgreSQL lost (" + why + ")");
}

Status Conn::wait(bool write, SteadyClock::time_point deadline) {
  for (;;) {
    pollfd p{PQsocket(pg_), static_cast<short>(POLLIN | (write ? POLLOUT : 0)), 0};
    const int n = poll(&p, 1, millis_until(deadline));
    if (n > 0) {
      if ((p.revents & POLLIN) != 0 && PQconsumeInput(pg_) == 0) return lost("reading");
      if ((p.revents & (POLLERR | POLLHUP | POLLNVAL)) != 0 && (p.revents & POLLIN) == 0) {
        return lost("socket closed");
      }
      return {};
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return lost(std::string("poll: ") + std::strerror(errno));
    return lost("no answer before the deadline");
  }
}

Status Conn::flush(SteadyClock::time_point deadline) {
  for (;;) {
    const int r = PQflush(pg_);
    if (r == 0) return {};
    if (r < 0) return lost("writing");
    if (Status s = wait(true, deadline); !s.ok()) return s;
  }
}

Result<PgResult> Conn::next(SteadyClock::time_point deadline) {
  while (PQisBusy(pg_) != 0) {
    if (Status s = wait(false, deadline); !s.ok()) return s;
  }
  PgResult r(PQgetResult(pg_));
  if (PQstatus(pg_) == CONNECTION_BAD) return lost("reading");
  return r;
}

Result<PgResult> Conn::script(const std::string& sql, SteadyClock::time_point deadline) {
  if (!connected()) return Status::unavailable("not connected to PostgreSQL");
  if (PQsendQuery(pg_, sql.c_str()) == 0) return lost("sending");
  if (Status s = flush(deadline); !s.ok()) return s;
  PgResult rows;
  std::optional<Status> error;
  for (;;) {
    auto r = next(deadline);
    if (!r.ok()) return r.status();
    if (!*r) break;
    const ExecStatusType st = PQresultStatus(r->get());
    if (st == PGRES_TUPLES_OK) {
      rows = std::move(*r);
    } else if (st != PGRES_COMMAND_OK && !error) {
      error = Status::internal(trimmed(PQresultErrorMessage(r->get())));
    }
  }
  if (error) return *error;
  return rows;
}

Status Conn::enter_pipeline() {
  if (PQenterPipelineMode(pg_) == 0) return lost("entering pipeline mode");
  return {};
}

Result<Outcome> Conn::run(const Pipeline& p, SteadyClock::time_point deadline) {
  if (!connected()) return Status::unavailable("not connected to PostgreSQL");
  // What each result we will read belongs to: a statement (its index) or
  // the preparation of one (-1 - query).
  std::vector<long> expect;
  expect.reserve(p.size() + 4);
  for (std::size_t i = 0; i < p.size(); ++i) {
    const auto& st = p.stmts()[i];
    const auto q = static_cast<std::size_t>(st.query);
    if (!prepared_[q]) {
      if (PQsendPrepare(pg_, query_name(st.query), query_text(st.query), 0, nullptr) == 0) return lost("sending");
      prepared_[q] = true;  // until its result says otherwise
      expect.push_back(-1 - static_cast<long>(q));
    }
    const auto& vals = st.params.values();
    std::vector<const char*> ptrs(vals.size());
    for (std::size_t k = 0; k < vals.size(); ++k) ptrs[k] = vals[k] ? vals[k]->c_str() : nullptr;
    if (PQsendQueryPrepared(pg_, query_name(st.query), static_cast<int>(ptrs.size()), ptrs.data(), nullptr, nullptr,
                            0) == 0) {
      return lost("sending");
    }
    expect.push_back(static_cast<long>(i));
  }
  if (PQpipelineSync(pg_) == 0) return lost("sending");
  if (Status s = flush(deadline); !s.ok()) return s;

  Outcome out;
  out.results.resize(p.size());
  std::size_t seen = 0;
  int nulls = 0;
  for (;;) {
    auto r = next(deadline);
    if (!r.ok()) return r.status();
    if (!*r) {
      // One NULL ends each statement's results; more means confusion.
      if (++nulls > static_cast<int>(expect.size()) + 1) return lost("unexpected end of results");
      continue;
    }
    const ExecStatusType st = PQresultStatus(r->get());
    if (st == PGRES_PIPELINE_SYNC) break;
    if (seen >= expect.size()) return lost("more results than statements");
    const long who = expect[seen++];
    const bool failed = st == PGRES_FATAL_ERROR;
    if (who < 0) {  // a preparation
      const auto q = static_cast<std::size_t>(-1 - who);
      if (st != PGRES_COMMAND_OK) prepared_[q] = false;
      if (failed && !out.error) {
        // Blame the first statement that needed it.
        std::size_t idx = 0;
        while (idx < p.size() && static_cast<std::size_t>(p.stmts()[idx].query) != q) ++idx;
        const char* state = PQresultErrorField(r->get(), PG_DIAG_SQLSTATE);
        out.error = Outcome::Error{idx, state ? state : "", trimmed(PQresultErrorMessage(r->get()))};
      }
      continue;
    }
    const auto i = static_cast<std::size_t>(who);
    if (failed && !out.error) {
      const char* state = PQresultErrorField(r->get(), PG_DIAG_SQLSTATE);
      out.error = Outcome::Error{i, state ? state : "", trimmed(PQresultErrorMessage(r->get()))};
    }
    if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK) out.results[i] = std::move(*r);
  }
  if (seen != expect.size()) return lost("fewer results than statements");
  // A failed explicit transaction stays open (aborted) after the sync.
  if (PQtransactionStatus(pg_) != PQTRANS_IDLE) {
    Pipeline rb;
    rb.add(Query::rollback, {});
    auto r = run(rb, deadline);
    if (!r.ok()) return r.status();
  }
  return out;
}

}  // namespace realtime::pg
