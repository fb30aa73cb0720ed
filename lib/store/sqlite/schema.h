// Opening a database file: connection settings, validation and forward
// migrations. Called by open_sqlite_store() on the caller's thread, before
// the store's threads start, and nowhere else.
#pragma once

#include <string>

#include "realtime/sqlite_store.h"
#include "store/sqlite/db.h"

namespace realtime::sqlite {

inline constexpr int kSchemaVersion = 2;
// PRAGMA application_id of a chatd database ("chat"), so that another
// program's SQLite file is refused instead of being migrated.
inline constexpr int kApplicationId = 0x63686174;

// The writer's connection: creates the file if needed, checks it, switches
// to WAL and migrates it to kSchemaVersion.
Result<Db> open_writer(const SqliteStoreOptions& options);
// A reader's connection on a file open_writer() has prepared.
Result<Db> open_reader(const SqliteStoreOptions& options);

}  // namespace realtime::sqlite
