// Opening a database file: connection settings, validation and forward
// migrations. Called by open_sqlite_store() on the caller's thread, before
// the store's threads start, and by the writer thread when it reopens the
// file after a fault (while no other thread uses a connection).
#pragma once

#include <string>

#include "realtime/sqlite_store.h"
#include "store/sqlite/db.h"

namespace realtime::sqlite {

inline constexpr int kSchemaVersion = 5;
// PRAGMA application_id of a chatd database ("chat"), so that another
// program's SQLite file is refused instead of being migrated.
inline constexpr int kApplicationId = 0x63686174;

// The writer's connection: creates the file if needed (and `create`),
// checks it, switches to WAL and migrates it to kSchemaVersion. A store
// reopening its file after a fault passes create = false: a file that
// vanished must not come back empty.
Result<Db> open_writer(const SqliteStoreOptions& options, bool create = true);
// A reader's connection on a file open_writer() has prepared.
Result<Db> open_reader(const SqliteStoreOptions& options);

}  // namespace realtime::sqlite
