// Schema and session setup of the PostgreSQL store: the versioned
// migrations that open_postgres_store() applies (under an advisory lock,
// so that processes starting together on an empty database migrate it
// exactly once), and the settings every store connection gets. Runs on the
// thread that opens the store or (re)connects a worker.
#pragma once

#include <chrono>
#include <string>

#include "realtime/postgres_store.h"
#include "store/postgres/conn.h"

namespace realtime::pg {

inline constexpr int kSchemaVersion = 5;

enum class Role : std::uint8_t { writer, reader };

// Sets the session up (encoding, timeouts, isolation, synchronous_commit
// for the writer) and enters pipeline mode. Refuses a database whose
// encoding is not UTF8.
Status configure(Conn& c, const PostgresStoreOptions& o, Role role, SteadyClock::time_point deadline);

// Creates or upgrades the tables in the connection's current schema.
// Refuses a schema newer than kSchemaVersion and a schema that holds other
// tables but not ours. `where` names the database in messages.
Status migrate(Conn& c, const std::string& where, SteadyClock::time_point deadline);

}  // namespace realtime::pg
