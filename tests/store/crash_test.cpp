// The crash test (label `crash`): store_crash_writer appends through the
// SQLite store and reports each completion; this test SIGKILLs it at a
// random moment, restarts it, and checks after every kill that each
// acknowledged message is stored exactly once with its seq, that seq has
// no gaps, and that PRAGMA integrity_check passes. Bounded: kKills rounds
// of at most ~0.8 s each. Test thread only (plus the child process).
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <cstdio>
#include <map>
#include <random>
#include <sstream>

#include "realtime/sqlite_store.h"
#include "store_test_util.h"

namespace realtime::testing {
namespace {

constexpr int kKills = 20;

struct Ack {
  std::int64_t seq = 0;
  std::string id;
};

// Starts the writer with stdout on a pipe; the read end and the pid.
std::pair<pid_t, int> spawn_writer(const std::string& db, const std::string& tag) {
  int fds[2];
  if (pipe(fds) != 0) return {-1, -1};
  const pid_t pid = fork();
  if (pid == 0) {
    dup2(fds[1], STDOUT_FILENO);
    close(fds[0]);
    close(fds[1]);
    execl(REALTIME_CRASH_WRITER, REALTIME_CRASH_WRITER, db.c_str(), tag.c_str(), "100000000",
          static_cast<char*>(nullptr));
    _exit(127);
  }
  close(fds[1]);
  return {pid, fds[0]};
}

// Reads from fd into `buf` until `deadline` (or EOF when deadline is
// nullopt, bounded by a generous limit); returns false on EOF.
bool pump(int fd, std::string& buf, std::chrono::steady_clock::time_point deadline) {
  char chunk[65536];
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return true;
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
    const ssize_t n = read(fd, chunk, sizeof chunk);
    if (n <= 0) return false;
    buf.append(chunk, static_cast<std::size_t>(n));
  }
}

struct FileCheck {
  std::int64_t rows = -1, distinct = -1, min_seq = -1, max_seq = -1;
  std::string integrity;
};

FileCheck check_file(const std::string& path, const std::map<std::string, Ack>& acks, std::string* missing) {
  FileCheck out;
  // A kill before the writer created the file, or inside the transaction
  // that creates the schema, leaves no messages table: nothing was acked.
  if (!std::filesystem::exists(path) && acks.empty()) return {0, 0, 0, 0, "ok"};
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr) != SQLITE_OK) {
    sqlite3_close(db);
    return out;
  }
  sqlite3_stmt* s = nullptr;
  const int rc = sqlite3_prepare_v2(db,
                                    "SELECT count(*), count(DISTINCT client_msg_id), coalesce(min(seq), 0), "
                                    "coalesce(max(seq), 0) FROM messages",
                                    -1, &s, nullptr);
  if (rc != SQLITE_OK && acks.empty()) out.rows = out.distinct = out.min_seq = out.max_seq = 0;
  if (rc == SQLITE_OK && sqlite3_step(s) == SQLITE_ROW) {
    out.rows = sqlite3_column_int64(s, 0);
    out.distinct = sqlite3_column_int64(s, 1);
    out.min_seq = sqlite3_column_int64(s, 2);
    out.max_seq = sqlite3_column_int64(s, 3);
  }
  sqlite3_finalize(s);
  sqlite3_prepare_v2(db, "SELECT seq, 'm' || mid FROM messages WHERE sender_id = 'crash' AND client_msg_id = ?1",
                     -1, &s, nullptr);
  for (const auto& [cmid, ack] : acks) {
    sqlite3_reset(s);
    sqlite3_bind_text(s, 1, cmid.c_str(), -1, SQLITE_TRANSIENT);
    int found = 0;
    bool same = true;
    while (sqlite3_step(s) == SQLITE_ROW) {
      ++found;
      same = same && sqlite3_column_int64(s, 0) == ack.seq &&
             reinterpret_cast<const char*>(sqlite3_column_text(s, 1)) == ack.id;
    }
    if (found != 1 || !same) *missing += cmid + " ";
  }
  sqlite3_finalize(s);
  sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &s, nullptr);
  if (sqlite3_step(s) == SQLITE_ROW) out.integrity = reinterpret_cast<const char*>(sqlite3_column_text(s, 0));
  sqlite3_finalize(s);
  sqlite3_close(db);
  return out;
}

TEST(StoreCrash, SigkillNeverLosesAnAcknowledgedMessage) {
  TempDir dir;
  const std::string db = dir.file("crash.db");
  const unsigned seed = static_cast<unsigned>(std::random_device{}());
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> delay_ms(50, 700);
  std::map<std::string, Ack> acks;  // every acknowledged message so far
  int mid_write_kills = 0;
  for (int round = 0; round < kKills; ++round) {
    auto [pid, fd] = spawn_writer(db, "r" + std::to_string(round));
    ASSERT_GT(pid, 0);
    std::string out;
    const bool alive = pump(fd, out, std::chrono::steady_clock::now() + std::chrono::milliseconds(delay_ms(rng)));
    kill(pid, SIGKILL);
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    // Lines written before the kill are still in the pipe: they were
    // acknowledged too.
    pump(fd, out, std::chrono::steady_clock::now() + std::chrono::seconds(5));
    close(fd);
    mid_write_kills += alive && WIFSIGNALED(status);
    std::istringstream lines(out);
    std::string word;
    std::size_t round_acks = 0;
    while (lines >> word) {
      ASSERT_EQ(word, "ok") << "writer said: " << out.substr(0, 400);
      Ack a;
      std::string cmid;
      ASSERT_TRUE(lines >> a.seq >> a.id >> cmid);
      ASSERT_TRUE(acks.emplace(cmid, a).second) << "acknowledged twice: " << cmid;
      ++round_acks;
    }
    std::string missing;
    const FileCheck c = check_file(db, acks, &missing);
    ASSERT_EQ(c.integrity, "ok") << "round " << round;
    EXPECT_EQ(missing, "") << "round " << round << ": acknowledged but not stored exactly once";
    EXPECT_EQ(c.rows, c.distinct) << "round " << round;
    EXPECT_EQ(c.rows, c.max_seq) << "round " << round << ": seq has gaps";
    if (c.rows > 0) {
      EXPECT_EQ(c.min_seq, 1);
    }
    ASSERT_GE(c.rows, static_cast<std::int64_t>(acks.size()));
    RecordProperty("round" + std::to_string(round) + "_acks", static_cast<int>(round_acks));
  }
  std::printf("crash test: %zu acknowledged messages over %d kills (%d mid-write)\n", acks.size(), kKills,
              mid_write_kills);
  EXPECT_GT(acks.size(), 0u);
  EXPECT_GT(mid_write_kills, kKills / 2) << "most kills should land while the writer runs";
  // The store itself reopens the file and agrees.
  InProcessTransport loop;
  SqliteStoreOptions o;
  o.path = db;
  auto store = open_sqlite_store(o, loop);
  ASSERT_TRUE(store.ok()) << store.status().to_string();
  SyncStore s(loop, **store);
  auto st = s.read_state("crash", "nobody");
  ASSERT_TRUE(st.ok());
  EXPECT_GE(st->last_seq, static_cast<std::int64_t>(acks.size()));
  (*store)->close();
}

}  // namespace
}  // namespace realtime::testing
