// The SQLite half of store_bench: the store on a file, the same page
// query run bare on this thread, and the naive peer (one transaction per
// insert, same schema). Bench thread only.
#pragma once

#include <cstddef>
#include <memory>
#include <string>

#include "common.h"
#include "realtime/sqlite_store.h"

namespace bench {

std::unique_ptr<realtime::Store> open_sqlite(realtime::InProcessTransport& loop, const std::string& path,
                                             realtime::SqliteSync sync, std::size_t max_batch);
// The history page's SQL on a connection of this thread (room big0).
Latency sqlite_raw_history_run(const std::string& path, long last_seq, int samples);
double sqlite_naive_peer_run(const std::string& path, long n, realtime::SqliteSync sync);

}  // namespace bench
