// The PostgreSQL half of store_bench: a server (a throwaway one with
// fsync on, as durable as a production server on this disk, or the one
// --pg-url names), the store on a fresh schema of it, the same page query
// run bare on this thread, and the straightforward peer (one INSERT per
// transaction, same schema). Bench thread only.
#pragma once

#include <memory>
#include <string>

#include "common.h"
#include "realtime/postgres_store.h"

namespace bench {

class PgServer {
 public:
  // `url` empty: a throwaway server under `dir`'s temporary area.
  static std::unique_ptr<PgServer> start(const std::string& url);
  virtual ~PgServer() = default;
  // A connection string for a new, empty schema named `schema`.
  virtual std::string fresh_schema(const std::string& schema) = 0;
  // The server's CPU so far, when it is ours to measure.
  virtual CpuMeter cpu() = 0;
  virtual std::string describe() const = 0;
};

std::unique_ptr<realtime::Store> open_postgres(realtime::InProcessTransport& loop, const std::string& conninfo,
                                               std::size_t max_batch);
// The history page's SQL, prepared on a connection of this thread.
Latency pg_raw_history_run(const std::string& conninfo, const std::string& room, long last_seq, int samples);
// One transaction per message: BEGIN, the room's counter, the INSERT,
// COMMIT, each a round trip, the way straightforward code does it.
double pg_naive_peer_run(const std::string& conninfo, long n);

}  // namespace bench
