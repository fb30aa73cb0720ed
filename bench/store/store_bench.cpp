// store_bench: how fast the SQLite store commits and pages, measured
// through the Store interface exactly as the chat service calls it (the
// bench thread is the loop thread; completions arrive through the
// InProcessTransport). A naive SQLite peer (one transaction per insert, on
// the loop thread) runs in the same process for comparison.
//
//   store_bench [--dir D] [--messages N] [--sync full|normal] [--batch N] [--quick]
//
// Figures go to stdout; docs/benchmarks.md records them.
#include <sqlite3.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <fstream>
#include <sstream>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "realtime/in_process_transport.h"
#include "realtime/sqlite_store.h"

namespace {

using namespace realtime;
using Clock = std::chrono::steady_clock;

struct Config {
  std::string dir = "/tmp";
  long messages = 1'000'000;  // in the big room (also the one-room insert run)
  long spread_messages = 300'000;
  int rooms = 10'000;
  int samples = 3000;
  long peer_messages = 3000;
  SqliteSync sync = SqliteSync::full;
  std::size_t max_batch = SqliteStoreOptions{}.max_batch;
};

std::size_t g_max_batch = SqliteStoreOptions{}.max_batch;

// CPU seconds used so far by each thread of this process (Linux /proc),
// busiest first: tells the writer's cost per message apart from the
// loop's, whatever else the shared machine is running.
std::map<std::string, double> thread_cpu() {
  std::map<std::string, double> out;
  const double tick = static_cast<double>(sysconf(_SC_CLK_TCK));
  for (const auto& e : std::filesystem::directory_iterator("/proc/self/task")) {
    std::ifstream f(e.path() / "stat");
    std::string line;
    std::getline(f, line);
    std::istringstream rest(line.substr(line.rfind(')') + 2));
    std::string field;
    double utime = 0, stime = 0;
    for (int i = 3; i <= 15 && rest >> field; ++i) {
      if (i == 14) utime = std::atof(field.c_str());
      if (i == 15) stime = std::atof(field.c_str());
    }
    out[e.path().filename().string()] = (utime + stime) / tick;
  }
  return out;
}

// Per-thread CPU used between two snapshots, busiest first.
std::vector<double> cpu_deltas(const std::map<std::string, double>& before, const std::map<std::string, double>& after) {
  std::vector<double> out;
  for (const auto& [tid, t] : after) {
    auto it = before.find(tid);
    out.push_back(t - (it == before.end() ? 0.0 : it->second));
  }
  std::sort(out.rbegin(), out.rend());
  return out;
}

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

std::unique_ptr<Store> open_store(InProcessTransport& loop, const std::string& path, SqliteSync sync) {
  SqliteStoreOptions o;
  o.path = path;
  o.synchronous = sync;
  o.max_batch = g_max_batch;
  auto s = open_sqlite_store(o, loop);
  if (!s.ok()) {
    std::fprintf(stderr, "open %s: %s\n", path.c_str(), s.status().to_string().c_str());
    std::exit(1);
  }
  return std::move(*s);
}

void create_rooms(InProcessTransport& loop, Store& store, const std::string& prefix, int n) {
  int done = 0;
  for (int i = 0; i < n; ++i) {
    Room r;
    r.id = prefix + std::to_string(i);
    r.members = {{"ann", "owner"}, {"bob", "member"}};
    store.create_room(r, [&](Result<Room> res) {
      if (!res.ok()) std::fprintf(stderr, "create_room: %s\n", res.status().to_string().c_str());
      ++done;
    });
  }
  loop.run_until([&] { return done == n; }, std::chrono::minutes(5));
}

NewMessage message(const std::string& room, long i) {
  NewMessage m;
  m.room = room;
  m.sender_id = i % 2 ? "ann" : "bob";
  m.sender_name = m.sender_id;
  m.sender_role = "member";
  m.text = "message number " + std::to_string(i) + " about the lesson on fractions and decimals";
  m.created_at = Timestamp{std::chrono::milliseconds{1'800'000'000'000 + i}};
  return m;
}

// Appends `n` messages with up to `window` in flight (a busy server's
// sustained load), room chosen by room_of(i). Returns committed msgs/s.
template <class RoomOf>
double insert_run(InProcessTransport& loop, Store& store, long n, RoomOf room_of, long window = 20'000) {
  long issued = 0, done = 0, failed = 0;
  std::function<void()> issue = [&] {
    const long i = issued++;
    store.append(message(room_of(i), i), [&](Result<Appended> r) {
      ++done;
      failed += r.ok() ? 0 : 1;
      if (issued < n) issue();
    });
  };
  const auto cpu_before = thread_cpu();
  const auto start = Clock::now();
  for (long i = 0; i < window && issued < n; ++i) issue();
  loop.run_until([&] { return done == n; }, std::chrono::minutes(10));
  const double secs = seconds_since(start);
  const auto used = cpu_deltas(cpu_before, thread_cpu());
  const double per_msg = 1e6 / static_cast<double>(n);
  std::printf("  %.2f s wall; CPU per message: busiest thread %.1f us, next %.1f us (writer and loop)\n", secs,
              used.size() > 0 ? used[0] * per_msg : 0.0, used.size() > 1 ? used[1] * per_msg : 0.0);
  if (failed > 0 || done != n) std::fprintf(stderr, "insert run: %ld failed, %ld/%ld done\n", failed, done, n);
  return static_cast<double>(n) / secs;
}

struct Latency {
  double median_us = 0, p99_us = 0;
};

Latency summarize(std::vector<double> us) {
  std::sort(us.begin(), us.end());
  return {us[us.size() / 2], us[std::min(us.size() - 1, us.size() * 99 / 100)]};
}

// One 50-message page at a time, each waited for (what a client sees
// minus the network): random `before` cursors over the room.
Latency history_run(InProcessTransport& loop, Store& store, const std::string& room, long last_seq, int samples) {
  std::mt19937_64 rng(42);
  std::uniform_int_distribution<long> cursor(51, last_seq + 1);
  std::vector<double> us;
  us.reserve(static_cast<std::size_t>(samples));
  for (int i = 0; i < samples; ++i) {
    bool done = false;
    std::size_t got = 0;
    const auto t = Clock::now();
    store.history(room, HistoryQuery{cursor(rng), std::nullopt, 50}, [&](Result<HistoryPage> p) {
      done = true;
      got = p.ok() ? p->messages.size() : 0;
    });
    loop.run_until([&] { return done; }, std::chrono::seconds(10));
    us.push_back(seconds_since(t) * 1e6);
    if (got != 50) std::fprintf(stderr, "history page had %zu messages\n", got);
  }
  return summarize(std::move(us));
}

// The same page query straight on a connection in this thread: what the
// reader thread costs over SQLite itself.
Latency raw_history_run(const std::string& path, long last_seq, int samples) {
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
double naive_peer_run(const std::string& path, long n, SqliteSync sync) {
  {
    InProcessTransport loop;
    auto store = open_store(loop, path, sync);
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
    else if (a == "--quick") {
      c.messages = 100'000;
      c.spread_messages = 50'000;
      c.samples = 500;
      c.peer_messages = 500;
    } else {
      std::fprintf(stderr, "usage: %s [--dir D] [--messages N] [--sync full|normal] [--batch N] [--quick]\n", argv[0]);
      std::exit(2);
    }
  }
  return c;
}

}  // namespace

int main(int argc, char** argv) {
  const Config cfg = parse(argc, argv);
  g_max_batch = cfg.max_batch;
  const std::string base = cfg.dir + "/store_bench." + std::to_string(getpid());
  std::filesystem::create_directories(base);
  const char* sync_name = cfg.sync == SqliteSync::full ? "FULL" : "NORMAL";
  std::printf("store_bench: synchronous=%s, max_batch %zu, dir %s, %u hardware threads\n", sync_name,
              cfg.max_batch, base.c_str(), std::thread::hardware_concurrency());

  InProcessTransport loop;
  double one_room = 0, spread = 0;
  {
    auto store = open_store(loop, base + "/big.db", cfg.sync);
    create_rooms(loop, *store, "big", 1);
    one_room = insert_run(loop, *store, cfg.messages, [](long) { return std::string("big0"); });
    std::printf("insert, one room:      %10.0f msgs/s committed (%ld messages)\n", one_room, cfg.messages);
  }
  {
    auto store = open_store(loop, base + "/spread.db", cfg.sync);
    create_rooms(loop, *store, "room", cfg.rooms);
    std::mt19937 rng(7);
    std::vector<std::string> ids;
    for (int i = 0; i < cfg.rooms; ++i) ids.push_back("room" + std::to_string(i));
    std::uniform_int_distribution<int> pick(0, cfg.rooms - 1);
    spread = insert_run(loop, *store, cfg.spread_messages, [&](long) { return ids[static_cast<std::size_t>(pick(rng))]; });
    std::printf("insert, %d rooms:   %10.0f msgs/s committed (%ld messages)\n", cfg.rooms, spread,
                cfg.spread_messages);
  }
  const double peer = naive_peer_run(base + "/peer.db", cfg.peer_messages, cfg.sync);
  std::printf("peer, naive 1 txn/insert: %7.0f msgs/s (%ld messages)\n", peer, cfg.peer_messages);
  std::printf("group commit / peer:      %7.1fx (one room), %.1fx (spread)\n", one_room / peer, spread / peer);
  {
    auto store = open_store(loop, base + "/big.db", cfg.sync);
    const Latency via_store = history_run(loop, *store, "big0", cfg.messages, cfg.samples);
    std::printf("history page (50 of %ld), via store:  median %.0f us, p99 %.0f us\n", cfg.messages,
                via_store.median_us, via_store.p99_us);
    store->close();
    loop.run_until_idle();
  }
  const Latency raw = raw_history_run(base + "/big.db", cfg.messages, cfg.samples);
  std::printf("history page, same SQL on this thread:  median %.0f us, p99 %.0f us\n", raw.median_us, raw.p99_us);
  std::error_code ec;
  std::filesystem::remove_all(base, ec);
  return 0;
}
