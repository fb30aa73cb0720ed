// The SQLite half of store_bench (see sqlite_side.h). Bench thread only.
#include "sqlite_side.h"

#include <sqlite3.h>

#include <cstdio>
#include <cstdlib>
#include <random>
#include <vector>

namespace bench {

using namespace realtime;

std::unique_ptr<Store> open_sqlite(InProcessTransport& loop, const std::string& path, SqliteSync sync,
                                   std::size_t max_batch) {
  SqliteStoreOptions o;
  o.path = path;
  o.synchronous = sync;
  o.max_batch = max_batch;
  auto s = open_sqlite_store(o, loop);
  if (!s.ok()) {
    std::fprintf(stderr, "open %s: %s\n", path.c_str(), s.status().to_string().c_str());
    std::exit(1);
  }
  return std::move(*s);
}

// The same page query straight on a connection in this thread: what the
// reader thread costs over SQLite itself.
Latency sqlite_raw_history_run(const std::string& path, long last_seq, int samples) {
  sqlite3* db = nullptr;
  sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr);
  sqlite3_stmt* s = nullptr;
  sqlite3_prepare_v2(db,
                     "SELECT mid, seq, sender_id, sender_name, sender_role, type, text, reply_to, att_url, "
                     "att_name, att_size, att_mime, client_msg_id, created_at, edited_at, deleted FROM messages "
                     "WHERE rid = (SELECT rid FROM rooms WHERE id = 'big0') AND seq < ?1 ORDER BY seq DESC LIMIT 51",
                     -1, &s, nullptr);
  std::mt19937_64 rng(42);
  std::uniform_int_distribution<long> cursor(51, last_seq + 1);
  std::vector<double> us;
  for (int i = 0; i < samples; ++i) {
    const auto t = Clock::now();
    sqlite3_bind_int64(s, 1, cursor(rng));
    std::size_t bytes = 0;
    while (sqlite3_step(s) == SQLITE_ROW) bytes += static_cast<std::size_t>(sqlite3_column_bytes(s, 6));
    sqlite3_reset(s);
    us.push_back(seconds_since(t) * 1e6);
    if (bytes == 0) std::fprintf(stderr, "raw page empty\n");
  }
  sqlite3_finalize(s);
  sqlite3_close(db);
  return summarize(std::move(us));
}

// The peer: the same schema (made by the store), one transaction per
// insert on the calling thread, same synchronous mode.
double sqlite_naive_peer_run(const std::string& path, long n, SqliteSync sync) {
  {
    InProcessTransport loop;
    auto store = open_sqlite(loop, path, sync, SqliteStoreOptions{}.max_batch);
    create_rooms(loop, *store, "peer", 1);
    store->close();
    loop.run_until_idle();
  }
  sqlite3* db = nullptr;
  sqlite3_open(path.c_str(), &db);
  sqlite3_exec(db, sync == SqliteSync::full ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL", nullptr,
               nullptr, nullptr);
  sqlite3_stmt* seq = nullptr;
  sqlite3_stmt* ins = nullptr;
  sqlite3_stmt* fts = nullptr;
  sqlite3_prepare_v2(db, "SELECT coalesce(max(seq), 0) FROM messages WHERE rid = 1", -1, &seq, nullptr);
  sqlite3_prepare_v2(db,
                     "INSERT INTO messages(rid, seq, sender_id, sender_name, sender_role, type, text, created_at) "
                     "VALUES(1, ?1, ?2, ?2, 'member', 0, ?3, ?4)",
                     -1, &ins, nullptr);
  sqlite3_prepare_v2(db, "INSERT INTO messages_fts(rowid, text) VALUES(?1, ?2)", -1, &fts, nullptr);
  const auto start = Clock::now();
  for (long i = 0; i < n; ++i) {
    const NewMessage m = message("peer0", i);
    sqlite3_exec(db, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr);
    sqlite3_step(seq);
    const auto next = sqlite3_column_int64(seq, 0) + 1;
    sqlite3_reset(seq);
    sqlite3_bind_int64(ins, 1, next);
    sqlite3_bind_text(ins, 2, m.sender_id.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(ins, 3, m.text.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(ins, 4, m.created_at.time_since_epoch().count());
    sqlite3_step(ins);
    sqlite3_reset(ins);
    sqlite3_bind_int64(fts, 1, sqlite3_last_insert_rowid(db));
    sqlite3_bind_text(fts, 2, m.text.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_step(fts);
    sqlite3_reset(fts);
    sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr);
  }
  const double rate = static_cast<double>(n) / seconds_since(start);
  sqlite3_finalize(seq);
  sqlite3_finalize(ins);
  sqlite3_finalize(fts);
  sqlite3_close(db);
  return rate;
}

}  // namespace bench
