// The PostgreSQL AttachmentStore: files, refs and quota in the same
// database (and schema) as the PostgreSQL Store, so that every chatd of a
// cluster sees one set of attachments. Called on the loop thread like
// every AttachmentStore; libpq runs only on this store's own threads, each
// with its own connection (apart from the message store's, so that a
// 10 MiB upload never waits in front of messages). docs/store.md has the
// tables and how refs and quota stay right with several writers.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

#include "realtime/attachment_store.h"
#include "realtime/event_loop.h"
#include "realtime/export.h"
#include "realtime/postgres_store.h"

namespace realtime {

struct PostgresAttachmentStoreOptions {
  // The database, timeouts and reconnection, as for the message store.
  // `readers` is not used (see connections); request_timeout is also the
  // server's statement_timeout, which must cover storing one file.
  PostgresStoreOptions pg;
  // Connections, each on its own thread: as many calls run at once, and
  // above 1 in no promised order (calls on one connection run in the order
  // made: chatd uses 1, so that a file's ref updates never overtake each other).
  std::size_t connections = 2;
  // Bytes of puts accepted but not completed, beyond which a put fails at
  // once with `unavailable`: what a burst of uploads may hold in memory
  // (each also holds its hex form, twice its size, while it is sent).
  std::uint64_t max_pending_bytes = 64ull << 20;
};

// Connects (retrying for pg.start_timeout), creates or migrates the schema
// as open_postgres_store() does (the attachment tables are part of it),
// and starts the threads. `completions` must outlive the store.
[[nodiscard]] REALTIME_EXPORT Result<std::unique_ptr<AttachmentStore>> open_postgres_attachment_store(
    const PostgresAttachmentStoreOptions& options, Executor& completions);

}  // namespace realtime
