// The SQLite Store: chatd's durable default (one file, WAL mode, FTS5
// search). Called on the loop thread like every Store; SQLite itself runs
// only on the store's own writer and reader threads, and completions come
// back through the Executor given at open. See docs/store.md for the
// schema, the threads and exactly how durable a completion is.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "realtime/event_loop.h"
#include "realtime/export.h"
#include "realtime/status.h"
#include "realtime/store.h"

namespace realtime {

// SQLite's PRAGMA synchronous, as far as it matters in WAL mode.
enum class SqliteSync : std::uint8_t {
  // A completion survives a process crash; a power cut or OS crash may lose
  // the batches committed since the last checkpoint (never corrupts).
  normal,
  // A completion survives a power cut too: the WAL is fsync'ed once per
  // batch before any completion of that batch is posted.
  full,
};

struct SqliteStoreOptions {
  // The database file. Created (with its schema) when absent; the
  // directory must exist and be writable (WAL needs its -wal/-shm files).
  std::string path;
  // How durable a completion is; see SqliteSync.
  SqliteSync synchronous = SqliteSync::full;
  // Most writes committed in one transaction (group commit). A batch is
  // what queued up during the previous commit, so this matters only under
  // load: larger batches share the fsync and the index pages among more
  // writes (over 10,000 rooms 8192 commits ~1.5x more than 2048); a full
  // batch takes ~50 ms, which bounds the extra ack latency it adds.
  std::size_t max_batch = 8192;
  // Calls accepted but not yet completed, beyond which new calls fail at
  // once with `unavailable` (backpressure instead of unbounded memory).
  std::size_t max_pending = 1'000'000;
  // How long a connection waits for a lock held by another process
  // sharing the file before failing with `internal`.
  std::chrono::milliseconds busy_timeout{5000};
  // Page cache per connection, in KiB (there are 1 + reader_threads +
  // search_threads connections).
  std::int64_t cache_kib = 32 * 1024;
  // Threads (each with its own connection) that answer every read but
  // search. More than one, so that one slow read (a long room list, an
  // unread count over a long tail) does not hold up every history page.
  std::size_t reader_threads = 2;
  // Threads that answer searches, apart from the other reads: a search for
  // a common word in a big room costs far more than a history page, and
  // must never queue in front of one.
  std::size_t search_threads = 1;
  // Searches accepted but not yet started, beyond which a new search fails
  // at once with `unavailable`.
  std::size_t max_queued_searches = 64;
  // How long a search may take, counted from the call (queueing included).
  // Past it the search stops and completes with `unavailable` ("search took
  // longer than ..."); no partial result. The check runs between SQLite
  // steps, so the index lookup of one word is bounded by its room's size
  // rather than by this.
  std::chrono::milliseconds search_timeout{2000};
  // While the file cannot be written (full disk, read-only or failing file
  // system, file deleted or corrupt), how often the store retries it
  // without being asked (a probe write, or reopening its connections), so
  // that health() recovers as soon as the fault is gone.
  std::chrono::milliseconds fault_retry_interval{1000};
  // When > 0, the database may not grow beyond this many pages: writes
  // past it fail as on a full disk. Meant for tests and quotas.
  std::int64_t max_page_count = 0;
  // Run PRAGMA quick_check at open (reads the whole file: slow for big
  // databases). Without it, open still refuses a file that is not a
  // database, is truncated, or has a newer schema.
  bool quick_check_on_open = false;
};

// Opens (creating or migrating) the database and starts the store's
// threads. Errors (not a database, truncated or corrupt, unwritable
// directory, schema newer than this build) come back as a Status whose
// message names the file and the cause. `completions` must outlive the
// store; call close() (or destroy the store) before it goes away.
[[nodiscard]] REALTIME_EXPORT Result<std::unique_ptr<Store>> open_sqlite_store(
    const SqliteStoreOptions& options, Executor& completions);

// The schema version this build writes (PRAGMA user_version).
REALTIME_EXPORT int sqlite_store_schema_version();

}  // namespace realtime
