// Link: a store thread's connection to PostgreSQL, kept alive. It connects
// when asked and due, backs off (50 ms doubling up to reconnect_max)
// while the server cannot be reached, and reports every change to the
// store's Health, which health() and /healthz read. One Link per store
// thread; Health is shared and thread-safe.
#pragma once

#include <chrono>
#include <functional>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "realtime/event_loop.h"
#include "realtime/postgres_store.h"
#include "store/postgres/conn.h"
#include "store/postgres/schema.h"

namespace realtime::pg {

class Health {
 public:
  // `on_change` runs on `exec` whenever the overall state flips.
  Health(std::size_t links, Executor& exec, std::function<void(const Status&)> on_change);
  // Any thread: link `i` can (ok) or cannot reach the server.
  void set(std::size_t i, const Status& s);
  // Any thread: ok, or the first link's reason for being cut off.
  Status get() const;

 private:
  mutable std::mutex mu_;
  std::vector<Status> states_;
  bool ok_ = true;
  Executor& exec_;
  std::function<void(const Status&)> on_change_;
};

class Link {
 public:
  Link(const PostgresStoreOptions& o, Role role, Health& health, std::size_t index);

  // The connection, after connecting if there is none and an attempt is
  // due; nullptr while the server cannot be reached (next_attempt() says
  // when to ask again). Blocks for at most connect_timeout.
  Conn* get();
  // Takes `c` (already configured) as the connection.
  void adopt(Conn c);
  // The connection broke (its Status says why): drop it, report, and try
  // again at once on the next get().
  void broken(const Status& why);
  // SELECT 1 when idle for probe_interval, so a lost server shows in
  // health() without traffic; reconnects if due.
  void probe();
  SteadyClock::time_point next_attempt() const { return next_attempt_; }
  bool connected() const { return conn_ && conn_->connected(); }

 private:
  void failed(const Status& why);

  const PostgresStoreOptions& o_;
  const Role role_;
  Health& health_;
  const std::size_t index_;
  std::optional<Conn> conn_;
  std::chrono::milliseconds backoff_{0};
  SteadyClock::time_point next_attempt_{};
  SteadyClock::time_point last_used_{};
  std::minstd_rand jitter_;
};

// "PostgreSQL at host:port: <why>", password masked: how the store words
// every connection problem.
Status at_server(const PostgresStoreOptions& o, const Status& why);

}  // namespace realtime::pg
