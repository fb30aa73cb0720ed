// The PostgreSQL Store: one database that several chatd processes share.
// Called on the loop thread like every Store; libpq runs only on the
// store's own threads (one writer connection with group commit, a small
// pool of reader connections, one that maintains the search index), and
// completions come back through the
// Executor given at open. Nothing is cached between calls, so any number
// of processes may write to the same rooms at once. docs/store.md has the
// schema, how seq is allocated under concurrency, and what an ack means.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>

#include "realtime/event_loop.h"
#include "realtime/export.h"
#include "realtime/status.h"
#include "realtime/store.h"

namespace realtime {

struct PostgresStoreOptions {
  // A libpq connection string: a URI (postgresql://user@host:5432/db) or
  // key=value pairs. The password may be in it, or come from PGPASSWORD or
  // ~/.pgpass as libpq reads them; the store never prints it. The tables
  // go into the first schema of the connection's search_path.
  std::string conninfo;
  // Reader connections, each on its own thread (history, search, lists).
  // Writes always use one connection: see docs/store.md for why.
  std::size_t readers = 2;
  // Most writes committed in one transaction (group commit). A batch is
  // what queued up while the previous one committed.
  std::size_t max_batch = 4096;
  // Calls accepted but not yet completed, beyond which new calls fail at
  // once with `unavailable`.
  std::size_t max_pending = 1'000'000;
  // How long one connection attempt may take.
  std::chrono::milliseconds connect_timeout{3000};
  // The longest a call waits for PostgreSQL, reconnecting included: a call
  // that cannot be answered completes with `unavailable` no later than
  // about connect_timeout + 2 * request_timeout after it was made. Also
  // the server-side statement_timeout of the store's sessions.
  std::chrono::milliseconds request_timeout{5000};
  // open_postgres_store() keeps retrying an unreachable server this long
  // before it gives up (0: one attempt).
  std::chrono::milliseconds start_timeout{30000};
  // Longest pause between reconnection attempts (the pause doubles from
  // 50 ms up to this).
  std::chrono::milliseconds reconnect_max{2000};
  // An idle connection is checked this often, so that health() notices a
  // lost server without traffic.
  std::chrono::milliseconds probe_interval{1000};
  // How often a separate connection merges the search index's pending
  // entries into the index (only after appends), which the writer would
  // otherwise do on its own time. Searches read the pending entries one by
  // one, so this also bounds how much of that they find.
  std::chrono::milliseconds index_interval{200};
  // synchronous_commit of the writer's session: "on" (the default: an ack
  // means the commit is flushed to the server's disk, and to a synchronous
  // standby if one is configured), "remote_apply", "remote_write" or
  // "local". "off" is refused: acks would precede durability.
  std::string synchronous_commit = "on";
  // Called on the Executor whenever health() changes (ok -> unavailable
  // and back), for logging. May be empty.
  std::function<void(const Status&)> on_health_change;
};

// Connects (retrying for start_timeout), creates or migrates the schema
// (several processes starting at once on an empty database migrate it
// exactly once) and starts the store's threads. Errors name the server
// (host and port, never the password) and the cause: unreachable,
// authentication, a schema newer than this build, tables of another
// application. `completions` must outlive the store.
[[nodiscard]] REALTIME_EXPORT Result<std::unique_ptr<Store>> open_postgres_store(
    const PostgresStoreOptions& options, Executor& completions);

// The schema version this build writes (table realtime_schema).
REALTIME_EXPORT int postgres_store_schema_version();

// "host:port/dbname (user)" for a connection string, for logs: never the
// password. "" when the string does not parse.
REALTIME_EXPORT std::string postgres_describe(const std::string& conninfo);

}  // namespace realtime
