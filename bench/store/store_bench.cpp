// store_bench: how fast the SQLite and PostgreSQL stores commit and page,
// measured through the Store interface exactly as the chat service calls
// it (the bench thread is the loop thread; completions arrive through the
// InProcessTransport), each beside a straightforward peer on the same
// schema in the same run: one transaction per insert. PostgreSQL is a
// throwaway server on this machine with fsync on, unless --pg-url names one.
//
//   store_bench [--dir D] [--messages N] [--sync full|normal] [--batch N] [--quick]
//               [--pg-url URL] [--pg-batch N] [--no-sqlite] [--no-pg]
//
// Figures go to stdout; docs/benchmarks.md and docs/store.md record them.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "common.h"
#include "postgres_side.h"
#include "sqlite_side.h"

namespace {

using namespace realtime;
using namespace bench;

struct Config {
  std::string dir = "/tmp";
  long messages = 1'000'000;  // in the big room (also the one-room insert run)
  long spread_messages = 300'000;
  int rooms = 10'000;
  int samples = 3000;
  long peer_messages = 3000;
  SqliteSync sync = SqliteSync::full;
  std::size_t max_batch = SqliteStoreOptions{}.max_batch;
  std::size_t pg_batch = PostgresStoreOptions{}.max_batch;
  long pg_peer_messages = 2000;
  std::string pg_url;  // empty: a throwaway server
  bool sqlite = true, postgres = true;
};

Config parse(int argc, char** argv) {
  Config c;
  if (const char* t = std::getenv("TMPDIR"); t != nullptr && *t != '\0') c.dir = t;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&] { return i + 1 < argc ? std::string(argv[++i]) : std::string(); };
    if (a == "--dir") c.dir = next();
    else if (a == "--messages") c.messages = std::atol(next().c_str());
    else if (a == "--batch") c.max_batch = static_cast<std::size_t>(std::atol(next().c_str()));
    else if (a == "--sync") c.sync = next() == "normal" ? SqliteSync::normal : SqliteSync::full;
    else if (a == "--pg-batch") c.pg_batch = static_cast<std::size_t>(std::atol(next().c_str()));
    else if (a == "--pg-url") c.pg_url = next();
    else if (a == "--no-sqlite") c.sqlite = false;
    else if (a == "--no-pg") c.postgres = false;
    else if (a == "--quick") {
      c.messages = 100'000;
      c.spread_messages = 50'000;
      c.samples = 500;
      c.peer_messages = 500;
      c.pg_peer_messages = 500;
    } else {
      std::fprintf(stderr,
                   "usage: %s [--dir D] [--messages N] [--sync full|normal] [--batch N] [--quick]\n"
                   "       [--pg-url URL] [--pg-batch N] [--no-sqlite] [--no-pg]\n",
                   argv[0]);
      std::exit(2);
    }
  }
  return c;
}

// Room ids room0 .. room<n-1>, one picked at random per message.
std::function<std::string(long)> spread_over(int rooms) {
  auto ids = std::make_shared<std::vector<std::string>>();
  for (int i = 0; i < rooms; ++i) ids->push_back("room" + std::to_string(i));
  auto rng = std::make_shared<std::mt19937>(7);
  return [ids, rng, rooms](long) {
    return (*ids)[static_cast<std::size_t>(std::uniform_int_distribution<int>(0, rooms - 1)(*rng))];
  };
}

void run_sqlite(const Config& cfg, const std::string& base) {
  const char* sync_name = cfg.sync == SqliteSync::full ? "FULL" : "NORMAL";
  std::printf("== SQLite: synchronous=%s, max_batch %zu, files in %s\n", sync_name, cfg.max_batch, base.c_str());
  InProcessTransport loop;
  double one_room = 0, spread = 0;
  {
    auto store = open_sqlite(loop, base + "/big.db", cfg.sync, cfg.max_batch);
    create_rooms(loop, *store, "big", 1);
    one_room = insert_run(loop, *store, cfg.messages, [](long) { return std::string("big0"); });
    std::printf("insert, one room:      %10.0f msgs/s committed (%ld messages)\n", one_room, cfg.messages);
  }
  {
    auto store = open_sqlite(loop, base + "/spread.db", cfg.sync, cfg.max_batch);
    create_rooms(loop, *store, "room", cfg.rooms);
    spread = insert_run(loop, *store, cfg.spread_messages, spread_over(cfg.rooms));
    std::printf("insert, %d rooms:   %10.0f msgs/s committed (%ld messages)\n", cfg.rooms, spread,
                cfg.spread_messages);
  }
  const double peer = sqlite_naive_peer_run(base + "/peer.db", cfg.peer_messages, cfg.sync);
  std::printf("peer, naive 1 txn/insert: %7.0f msgs/s (%ld messages)\n", peer, cfg.peer_messages);
  std::printf("group commit / peer:      %7.1fx (one room), %.1fx (spread)\n", one_room / peer, spread / peer);
  {
    auto store = open_sqlite(loop, base + "/big.db", cfg.sync, cfg.max_batch);
    const Latency via_store = history_run(loop, *store, "big0", cfg.messages, cfg.samples);
    std::printf("history page (50 of %ld), via store:  median %.0f us, p99 %.0f us\n", cfg.messages,
                via_store.median_us, via_store.p99_us);
    store->close();
    loop.run_until_idle();
  }
  const Latency raw = sqlite_raw_history_run(base + "/big.db", cfg.messages, cfg.samples);
  std::printf("history page, same SQL on this thread:  median %.0f us, p99 %.0f us\n", raw.median_us, raw.p99_us);
}

void run_postgres(const Config& cfg) {
  auto server = PgServer::start(cfg.pg_url);
  std::printf("== PostgreSQL: %s, max_batch %zu\n", server->describe().c_str(), cfg.pg_batch);
  const std::string tag = std::to_string(getpid());
  const std::string big = server->fresh_schema("bench_big_" + tag);
  InProcessTransport loop;
  double one_room = 0, spread = 0;
  {
    auto store = open_postgres(loop, big, cfg.pg_batch);
    create_rooms(loop, *store, "big", 1);
    one_room = insert_run(loop, *store, cfg.messages, [](long) { return std::string("big0"); }, server->cpu());
    std::printf("insert, one room:      %10.0f msgs/s committed (%ld messages)\n", one_room, cfg.messages);
    store->close();
    loop.run_until_idle();
  }
  {
    auto store = open_postgres(loop, server->fresh_schema("bench_spread_" + tag), cfg.pg_batch);
    create_rooms(loop, *store, "room", cfg.rooms);
    spread = insert_run(loop, *store, cfg.spread_messages, spread_over(cfg.rooms), server->cpu());
    std::printf("insert, %d rooms:   %10.0f msgs/s committed (%ld messages)\n", cfg.rooms, spread,
                cfg.spread_messages);
    store->close();
    loop.run_until_idle();
  }
  const double peer = pg_naive_peer_run(server->fresh_schema("bench_peer_" + tag), cfg.pg_peer_messages);
  std::printf("peer, 1 INSERT per txn:   %7.0f msgs/s (%ld messages)\n", peer, cfg.pg_peer_messages);
  std::printf("group commit / peer:      %7.1fx (one room), %.1fx (spread)\n", one_room / peer, spread / peer);
  {
    auto store = open_postgres(loop, big, cfg.pg_batch);
    const Latency via_store = history_run(loop, *store, "big0", cfg.messages, cfg.samples);
    std::printf("history page (50 of %ld), via store:  median %.0f us, p99 %.0f us\n", cfg.messages,
                via_store.median_us, via_store.p99_us);
    store->close();
    loop.run_until_idle();
  }
  const Latency raw = pg_raw_history_run(big, "big0", cfg.messages, cfg.samples);
  std::printf("history page, same SQL on this thread:  median %.0f us, p99 %.0f us\n", raw.median_us, raw.p99_us);
}

}  // namespace

int main(int argc, char** argv) {
  const Config cfg = parse(argc, argv);
  std::printf("store_bench: %u hardware threads\n", std::thread::hardware_concurrency());
  if (cfg.sqlite) {
    const std::string base = cfg.dir + "/store_bench." + std::to_string(getpid());
    std::filesystem::create_directories(base);
    run_sqlite(cfg, base);
    std::error_code ec;
    std::filesystem::remove_all(base, ec);
  }
  if (cfg.postgres) run_postgres(cfg);
  return 0;
}
