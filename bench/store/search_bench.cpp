// store_search_bench: what a search costs in a big database, and what it
// does to history pages, for the SQLite store against its previous design
// measured in the same run.
//
// It builds one database in the version-1 schema (1,000,000 messages over
// 1,000 rooms; every message has the common word "lesson"), copies it,
// and lets the store open the copy (migration 1 -> 2, timed). Then:
// - v1: a peer that reads exactly as the version-1 store did: one index
//   for all rooms filtered by room afterwards, and every read (history and
//   search) on one reader thread in call order;
// - v2: the store: room-keyed index, reader pool plus search thread.
// Both answer through the same loop (the bench thread, an
// InProcessTransport) as the chat service would call them. Index designs
// are also compared bare (SQL on this thread): v1's single index with the
// best plan it could have, the room as an FTS5 column, and the room's key
// in every token (what the store does).
//
//   store_search_bench [--dir D] [--messages N] [--rooms R] [--seconds S] [--quick]
//
// Figures go to stdout; docs/store.md records them. Everything lives in
// one temporary directory, removed at the end.
#include <sqlite3.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <filesystem>
#include <functional>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "realtime/in_process_transport.h"
#include "realtime/sqlite_store.h"
#include "sqlite_files.h"  // tests/store: the version-1 schema

namespace {

using namespace realtime;
using SteadyClock = std::chrono::steady_clock;

struct Config {
  std::string dir = "/tmp";
  long messages = 1'000'000;
  int rooms = 1000;
  double seconds = 20;  // per "history while searching" run
  int v1_searches = 5;  // a v1 search takes seconds: few samples
  int v2_searches = 500;
  int pages = 2000;
};

constexpr int kSearchLimit = 20;  // message:search's default
constexpr const char* kCommonWord = "lesson";

double ms_since(SteadyClock::time_point t) {
  return std::chrono::duration<double, std::milli>(SteadyClock::now() - t).count();
}

struct Latency {
  double median_ms = 0, p99_ms = 0;
  std::size_t n = 0;
};

Latency summarize(std::vector<double> ms) {
  if (ms.empty()) return {};
  std::sort(ms.begin(), ms.end());
  return {ms[ms.size() / 2], ms[std::min(ms.size() - 1, ms.size() * 99 / 100)], ms.size()};
}

void check(int rc, sqlite3* db, const char* what) {
  if (rc == SQLITE_OK || rc == SQLITE_DONE || rc == SQLITE_ROW) return;
  std::fprintf(stderr, "%s: %s\n", what, db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
  std::exit(1);
}

void exec(sqlite3* db, const std::string& sql) {
  check(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr), db, sql.c_str());
}

std::string room_id(int i) { return std::string("room").append(std::to_string(i)); }

// The room key of the store's index (lib/store/sqlite/search_index.h).
std::string room_key(std::int64_t rid) {
  const std::string digits = std::to_string(rid);
  return std::string(1, static_cast<char>('a' + digits.size() - 1)).append(digits);
}

// Version-1 database: rooms room0..room{R-1} (rid i+1), messages spread at
// random over them, each indexed as version 1 did.
void build_v1(const std::string& path, const Config& cfg) {
  sqlite3* db = nullptr;
  check(sqlite3_open(path.c_str(), &db), db, "open");
  exec(db, "PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF; PRAGMA cache_size=-262144; BEGIN;");
  exec(db, realtime::testing::kVersion1Schema);
  sqlite3_stmt* room = nullptr;
  sqlite3_stmt* msg = nullptr;
  sqlite3_stmt* fts = nullptr;
  check(sqlite3_prepare_v2(db, "INSERT INTO rooms VALUES(?1, ?2, 1, ?2, 0, 'ann', 0, NULL, NULL, 's')", -1,
                           &room, nullptr),
        db, "prepare");
  check(
      sqlite3_prepare_v2(
          db,
          "INSERT INTO messages(mid, rid, seq, sender_id, sender_name, sender_role, type, text, created_at) "
          "VALUES(?1, ?2, ?3, 'ann', 'Ann', 'member', 0, ?4, ?5)",
          -1, &msg, nullptr),
      db, "prepare");
  check(sqlite3_prepare_v2(db, "INSERT INTO messages_fts(rowid, text) VALUES(?1, ?2)", -1, &fts, nullptr), db,
        "prepare");
  for (int i = 0; i < cfg.rooms; ++i) {
    sqlite3_bind_int64(room, 1, i + 1);
    const std::string id = room_id(i);
    sqlite3_bind_text(room, 2, id.c_str(), -1, SQLITE_TRANSIENT);
    check(sqlite3_step(room), db, "insert room");
    sqlite3_reset(room);
  }
  std::vector<std::int64_t> seq(static_cast<std::size_t>(cfg.rooms), 0);
  std::mt19937 rng(7);
  std::uniform_int_distribution<int> pick(0, cfg.rooms - 1);
  for (long i = 1; i <= cfg.messages; ++i) {
    const int r = pick(rng);
    const std::string text =
        "message number " + std::to_string(i) + " about the " + kCommonWord + " on fractions and decimals";
    sqlite3_bind_int64(msg, 1, i);
    sqlite3_bind_int64(msg, 2, r + 1);
    sqlite3_bind_int64(msg, 3, ++seq[static_cast<std::size_t>(r)]);
    sqlite3_bind_text(msg, 4, text.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(msg, 5, 1'800'000'000'000 + i);
    check(sqlite3_step(msg), db, "insert message");
    sqlite3_reset(msg);
    sqlite3_bind_int64(fts, 1, i);
    sqlite3_bind_text(fts, 2, text.c_str(), -1, SQLITE_TRANSIENT);
    check(sqlite3_step(fts), db, "index message");
    sqlite3_reset(fts);
  }
  sqlite3_finalize(room);
  sqlite3_finalize(msg);
  sqlite3_finalize(fts);
  exec(db, "PRAGMA user_version=1; PRAGMA application_id=1667785076; COMMIT; PRAGMA journal_mode=WAL;");
  sqlite3_close(db);
}

// The version-1 read path: one thread, one query-only connection, every
// read in call order, each in its own read transaction, completions posted
// to the loop. Its SQL is version 1's.
class V1Reader {
 public:
  V1Reader(const std::string& path, Executor& loop) : loop_(loop) {
    check(sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE, nullptr), db_, "open v1");
    exec(db_, "PRAGMA query_only=1; PRAGMA cache_size=-32768;");
    thread_ = std::thread([this] { run(); });
  }
  ~V1Reader() {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    cv_.notify_one();
    thread_.join();
    sqlite3_close(db_);
  }
  // Completions get the number of messages found.
  void search(const std::string& room, const std::string& word, int limit,
              std::function<void(std::size_t)> done) {
    push(
        [=, this] {
          return rows(
              "SELECT m.mid, m.seq, m.sender_id, m.sender_name, m.text, m.created_at FROM messages_fts f "
              "JOIN messages m ON m.mid = f.rowid WHERE messages_fts MATCH ?1 AND m.rid = "
              "(SELECT rid FROM rooms WHERE id = ?2) AND m.deleted = 0 ORDER BY m.seq DESC LIMIT ?3",
              "\"" + word + "\"*", room, limit, 0);
        },
        std::move(done));
  }
  void history(const std::string& room, std::int64_t before, int limit,
               std::function<void(std::size_t)> done) {
    push(
        [=, this] {
          return rows(
              "SELECT m.mid, m.seq, m.sender_id, m.sender_name, m.text, m.created_at FROM messages m "
              "WHERE m.rid = (SELECT rid FROM rooms WHERE id = ?2) AND m.seq < ?4 ORDER BY m.seq DESC LIMIT "
              "?3",
              "", room, limit + 1, before);
        },
        std::move(done));
  }

 private:
  std::size_t rows(const char* sql, const std::string& match, const std::string& room, int limit,
                   std::int64_t before) {
    sqlite3_stmt* s = nullptr;
    check(sqlite3_prepare_v2(db_, sql, -1, &s, nullptr), db_, sql);
    if (!match.empty()) sqlite3_bind_text(s, 1, match.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(s, 2, room.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_int(s, 3, limit);
    if (before > 0) sqlite3_bind_int64(s, 4, before);
    exec(db_, "BEGIN");
    std::size_t n = 0;
    std::string sink;
    while (sqlite3_step(s) == SQLITE_ROW) {
      for (int c = 2; c <= 4; ++c) sink.assign(reinterpret_cast<const char*>(sqlite3_column_text(s, c)));
      ++n;
    }
    sqlite3_finalize(s);
    exec(db_, "COMMIT");
    return n;
  }
  void push(std::function<std::size_t()> job, std::function<void(std::size_t)> done) {
    {
      std::lock_guard lock(mu_);
      jobs_.emplace_back(std::move(job), std::move(done));
    }
    cv_.notify_one();
  }
  void run() {
    for (;;) {
      std::pair<std::function<std::size_t()>, std::function<void(std::size_t)>> job;
      {
        std::unique_lock lock(mu_);
        cv_.wait(lock, [&] { return stop_ || !jobs_.empty(); });
        if (jobs_.empty()) return;
        job = std::move(jobs_.front());
        jobs_.pop_front();
      }
      const std::size_t n = job.first();
      loop_.post([done = std::move(job.second), n] { done(n); });
    }
  }

  Executor& loop_;
  sqlite3* db_ = nullptr;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::pair<std::function<std::size_t()>, std::function<void(std::size_t)>>> jobs_;
  bool stop_ = false;
  std::thread thread_;
};

// What both sides offer the measurements: search and history with a
// completion that gets the number of messages.
struct Reads {
  std::function<void(const std::string&, std::function<void(std::size_t)>)> search;
  std::function<void(const std::string&, std::int64_t, std::function<void(std::size_t)>)> history;
};

Reads v1_reads(V1Reader& r) {
  return {[&r](const std::string& room, std::function<void(std::size_t)> done) {
            r.search(room, kCommonWord, kSearchLimit, std::move(done));
          },
          [&r](const std::string& room, std::int64_t before, std::function<void(std::size_t)> done) {
            r.history(room, before, 50, std::move(done));
          }};
}

Reads v2_reads(Store& s) {
  return {[&s](const std::string& room, std::function<void(std::size_t)> done) {
            s.search(room, kCommonWord, kSearchLimit,
                     [done = std::move(done)](Result<std::vector<Message>> r) {
                       if (!r.ok()) std::fprintf(stderr, "v2 search: %s\n", r.status().to_string().c_str());
                       done(r.ok() ? r->size() : 0);
                     });
          },
          [&s](const std::string& room, std::int64_t before, std::function<void(std::size_t)> done) {
            s.history(room, HistoryQuery{before, std::nullopt, 50},
                      [done = std::move(done)](Result<HistoryPage> p) {
                        if (!p.ok()) std::fprintf(stderr, "v2 history: %s\n", p.status().to_string().c_str());
                        done(p.ok() ? p->messages.size() : 0);
                      });
          }};
}

// Searches for the common word in random rooms, one at a time.
Latency search_run(InProcessTransport& loop, const Reads& reads, const Config& cfg, int samples) {
  std::mt19937 rng(11);
  std::uniform_int_distribution<int> pick(0, cfg.rooms - 1);
  std::vector<double> ms;
  for (int i = 0; i < samples; ++i) {
    bool done = false;
    std::size_t found = 0;
    const auto t = SteadyClock::now();
    reads.search(room_id(pick(rng)), [&](std::size_t n) {
      done = true;
      found = n;
    });
    loop.run_until([&] { return done; }, std::chrono::minutes(5));
    ms.push_back(ms_since(t));
    if (found != kSearchLimit) std::fprintf(stderr, "search found %zu\n", found);
  }
  return summarize(std::move(ms));
}

// 50-message pages at random rooms and cursors, one at a time, for
// `seconds` (at most cfg.pages), while `searching` searches are kept in
// flight without pause. Returns page latency; *searches counts searches.
Latency history_run(InProcessTransport& loop, const Reads& reads, const Config& cfg, int searching,
                    double seconds, long* searches) {
  std::mt19937 rng(13);
  std::uniform_int_distribution<int> pick(0, cfg.rooms - 1);
  const long per_room = cfg.messages / cfg.rooms;
  std::uniform_int_distribution<long> cursor(51, std::max<long>(52, per_room / 2));
  bool stopping = false;
  int in_flight = 0;
  long completed = 0;
  std::function<void()> search_again = [&] {
    ++in_flight;
    reads.search(room_id(pick(rng)), [&](std::size_t) {
      --in_flight;
      ++completed;
      if (!stopping) search_again();
    });
  };
  for (int i = 0; i < searching; ++i) search_again();
  std::vector<double> ms;
  const auto start = SteadyClock::now();
  while (static_cast<int>(ms.size()) < cfg.pages && ms_since(start) < seconds * 1000) {
    bool done = false;
    const auto t = SteadyClock::now();
    reads.history(room_id(pick(rng)), cursor(rng), [&](std::size_t n) {
      done = true;
      if (n == 0) std::fprintf(stderr, "empty page\n");
    });
    loop.run_until([&] { return done; }, std::chrono::minutes(5));
    ms.push_back(ms_since(t));
  }
  stopping = true;
  loop.run_until([&] { return in_flight == 0; }, std::chrono::minutes(5));
  if (searches != nullptr) *searches = completed;
  return summarize(std::move(ms));
}

// The two ways to scope the index by room, bare: median ms of `samples`
// searches for the common word in random rooms on this thread.
void index_variants(const std::string& v1_path, const std::string& v2_path, const Config& cfg, int samples) {
  sqlite3* db = nullptr;
  check(sqlite3_open(v1_path.c_str(), &db), db, "open");
  const auto build = SteadyClock::now();
  // The room as a column needs positions of columns (detail=column): FTS5
  // refuses column filters with detail=none.
  exec(db,
       "PRAGMA synchronous=OFF; BEGIN;"
       "CREATE VIRTUAL TABLE fts_room_column USING fts5(room, text, content='', columnsize=0, "
       "tokenize='ascii', detail='column');"
       "INSERT INTO fts_room_column(rowid, room, text) SELECT mid, 'k' || rid, text FROM messages;"
       "COMMIT;");
  std::printf("  (room-column index built in %.1f s)\n", ms_since(build) / 1000);
  sqlite3* v2 = nullptr;
  check(sqlite3_open(v2_path.c_str(), &v2), v2, "open v2");
  auto measure = [&](sqlite3* conn, const char* table, auto match_of) {
    std::mt19937 rng(17);
    std::uniform_int_distribution<int> pick(1, cfg.rooms);
    const std::string sql = std::string("SELECT rowid FROM ") + table + " WHERE " + table +
                            " MATCH ?1 ORDER BY rowid DESC LIMIT " + std::to_string(kSearchLimit);
    sqlite3_stmt* s = nullptr;
    check(sqlite3_prepare_v2(conn, sql.c_str(), -1, &s, nullptr), conn, sql.c_str());
    std::vector<double> ms;
    for (int i = 0; i < samples; ++i) {
      const std::string match = match_of(pick(rng));
      sqlite3_bind_text(s, 1, match.c_str(), -1, SQLITE_TRANSIENT);
      const auto t = SteadyClock::now();
      int n = 0;
      while (sqlite3_step(s) == SQLITE_ROW) ++n;
      ms.push_back(ms_since(t));
      sqlite3_reset(s);
      if (n != kSearchLimit) std::fprintf(stderr, "%s found %d\n", table, n);
    }
    sqlite3_finalize(s);
    return summarize(std::move(ms));
  };
  // v1's index with the best plan it could get (CROSS JOIN keeps SQLite
  // from running the MATCH once per message of the room, which is what
  // version 1's query did): matches of every room, filtered by room until
  // the page is full.
  const Latency global = [&] {
    std::mt19937 rng(17);
    std::uniform_int_distribution<int> pick(1, cfg.rooms);
    sqlite3_stmt* s = nullptr;
    const char* sql =
        "SELECT m.mid FROM (SELECT rowid AS mid FROM messages_fts WHERE messages_fts MATCH ?1 ORDER BY rowid "
        "DESC) f CROSS "
        "JOIN messages m ON m.mid = f.mid WHERE m.rid = ?2 LIMIT ?3";
    check(sqlite3_prepare_v2(db, sql, -1, &s, nullptr), db, sql);
    const std::string match = std::string("\"") + kCommonWord + "\"*";
    std::vector<double> ms;
    for (int i = 0; i < samples; ++i) {
      sqlite3_bind_text(s, 1, match.c_str(), -1, SQLITE_TRANSIENT);
      sqlite3_bind_int(s, 2, pick(rng));
      sqlite3_bind_int(s, 3, kSearchLimit);
      const auto t = SteadyClock::now();
      int n = 0;
      while (sqlite3_step(s) == SQLITE_ROW) ++n;
      ms.push_back(ms_since(t));
      sqlite3_reset(s);
      if (n != kSearchLimit) std::fprintf(stderr, "global index found %d\n", n);
    }
    sqlite3_finalize(s);
    return summarize(std::move(ms));
  }();
  const Latency column = measure(db, "fts_room_column", [](int rid) {
    return "room:k" + std::to_string(rid) + " AND text:\"" + kCommonWord + "\"*";
  });
  // Appended, not `"\"" + ...`: GCC 12 at -O3 flags a one-character
  // literal + string with a false -Wrestrict.
  const Latency keyed = measure(v2, "messages_fts", [](int rid) {
    return std::string("\"").append(room_key(rid)).append(kCommonWord).append("\"*");
  });
  std::printf("index designs, bare SQL on this thread (%d searches):\n", samples);
  std::printf(
      "  one index, newest first, filtered by room (v1's, best plan): median %8.2f ms, p99 %8.2f ms\n",
      global.median_ms, global.p99_ms);
  std::printf("  room as an FTS5 column:       median %8.2f ms, p99 %8.2f ms\n", column.median_ms,
              column.p99_ms);
  std::printf("  room key in every token (v2): median %8.2f ms, p99 %8.2f ms\n", keyed.median_ms,
              keyed.p99_ms);
  std::printf("  key vs column: %.0fx; key vs one index: %.0fx (medians)\n",
              column.median_ms / keyed.median_ms, global.median_ms / keyed.median_ms);
  sqlite3_close(v2);
  sqlite3_close(db);
}

Config parse(int argc, char** argv) {
  Config c;
  if (const char* t = std::getenv("TMPDIR"); t != nullptr && *t != '\0') c.dir = t;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&] { return i + 1 < argc ? std::string(argv[++i]) : std::string(); };
    if (a == "--dir")
      c.dir = next();
    else if (a == "--messages")
      c.messages = std::atol(next().c_str());
    else if (a == "--rooms")
      c.rooms = std::atoi(next().c_str());
    else if (a == "--seconds")
      c.seconds = std::atof(next().c_str());
    else if (a == "--quick") {
      c.messages = 100'000;
      c.rooms = 100;
      c.seconds = 5;
      c.v1_searches = 5;
      c.v2_searches = 200;
    } else {
      std::fprintf(stderr, "usage: %s [--dir D] [--messages N] [--rooms R] [--seconds S] [--quick]\n",
                   argv[0]);
      std::exit(2);
    }
  }
  if (c.rooms < 1 || c.messages < c.rooms * 100L) {
    std::fprintf(stderr, "need at least 100 messages per room\n");
    std::exit(2);
  }
  return c;
}

void print(const char* what, const Latency& l) {
  std::printf("  %-44s median %9.2f ms, p99 %9.2f ms (n=%zu)\n", what, l.median_ms, l.p99_ms, l.n);
}

}  // namespace

int main(int argc, char** argv) {
  const Config cfg = parse(argc, argv);
  const std::string base = cfg.dir + "/store_search_bench." + std::to_string(getpid());
  std::filesystem::create_directories(base);
  const std::string v1_path = base + "/v1.db";
  const std::string v2_path = base + "/v2.db";
  std::printf(
      "store_search_bench: %ld messages over %d rooms, search \"%s\" (limit %d), dir %s, %u hardware "
      "threads\n",
      cfg.messages, cfg.rooms, kCommonWord, kSearchLimit, base.c_str(), std::thread::hardware_concurrency());

  auto t = SteadyClock::now();
  build_v1(v1_path, cfg);
  std::printf("built the version-1 database in %.1f s\n", ms_since(t) / 1000);
  std::filesystem::copy_file(v1_path, v2_path);

  InProcessTransport loop;
  SqliteStoreOptions o;
  o.path = v2_path;
  t = SteadyClock::now();
  auto opened = open_sqlite_store(o, loop);
  if (!opened.ok()) {
    std::fprintf(stderr, "open: %s\n", opened.status().to_string().c_str());
    return 1;
  }
  std::printf("migration 1 -> 2 (index rebuilt) in %.1f s\n", ms_since(t) / 1000);
  std::unique_ptr<Store> store = std::move(*opened);
  V1Reader v1(v1_path, loop);
  const Reads r1 = v1_reads(v1);
  const Reads r2 = v2_reads(*store);

  // Warm both files' caches the same way.
  (void)search_run(loop, r1, cfg, 1);
  (void)search_run(loop, r2, cfg, 20);
  (void)history_run(loop, r1, cfg, 0, 1, nullptr);
  (void)history_run(loop, r2, cfg, 0, 1, nullptr);

  std::printf("search for a common word in one room, through the store:\n");
  const Latency s1 = search_run(loop, r1, cfg, cfg.v1_searches);
  const Latency s2 = search_run(loop, r2, cfg, cfg.v2_searches);
  print("v1 (one index, filter by room after)", s1);
  print("v2 (room-keyed index)", s2);
  std::printf("  v1/v2: %.0fx (median), %.0fx (p99)\n", s1.median_ms / s2.median_ms, s1.p99_ms / s2.p99_ms);

  std::printf("history page (50), nothing else running:\n");
  const Latency h1 = history_run(loop, r1, cfg, 0, cfg.seconds / 4, nullptr);
  const Latency h2 = history_run(loop, r2, cfg, 0, cfg.seconds / 4, nullptr);
  print("v1", h1);
  print("v2", h2);
  std::printf("history page (50) while one search at a time runs without pause (%.0f s each):\n",
              cfg.seconds);
  long n1 = 0, n2 = 0;
  const Latency b1 = history_run(loop, r1, cfg, 1, cfg.seconds, &n1);
  const Latency b2 = history_run(loop, r2, cfg, 1, cfg.seconds, &n2);
  print("v1 (one reader thread)", b1);
  std::printf("  %-44s %ld searches done meanwhile\n", "", n1);
  print("v2 (reader pool + search thread)", b2);
  std::printf("  %-44s %ld searches done meanwhile\n", "", n2);
  std::printf("  v1/v2: %.0fx (median), %.0fx (p99)\n", b1.median_ms / b2.median_ms, b1.p99_ms / b2.p99_ms);
  std::printf("history page (50) while 4 searches at a time run (v2 only):\n");
  long n4 = 0;
  const Latency b4 = history_run(loop, r2, cfg, 4, cfg.seconds / 2, &n4);
  print("v2", b4);
  std::printf("  %-44s %ld searches done meanwhile\n", "", n4);

  store->close();
  loop.run_until_idle();
  index_variants(v1_path, v2_path, cfg, 200);
  std::error_code ec;
  std::filesystem::remove_all(base, ec);
  return 0;
}
