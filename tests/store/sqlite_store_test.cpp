// SQLite-only store tests: what survives a reopen, and the files and
// failures open_sqlite_store() must refuse or report clearly (newer schema,
// garbage, truncation, another application's database, unwritable
// directories, a full database, a file moved away under a running store).
// Test thread only, plus one forked child.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <cstdio>
#include <fstream>
#include <map>
#include <thread>

#include "realtime/sqlite_store.h"
#include "sqlite_files.h"
#include "store_test_util.h"

namespace realtime::testing {
namespace {

using ::testing::HasSubstr;

class SqliteStoreTest : public ::testing::Test {
 protected:
  SqliteStoreOptions options() const {
    SqliteStoreOptions o;
    o.path = dir_.file("chat.db");
    o.synchronous = SqliteSync::normal;
    return o;
  }
  Result<std::unique_ptr<Store>> open(const SqliteStoreOptions& o) { return open_sqlite_store(o, loop_); }
  std::unique_ptr<Store> open_ok(const SqliteStoreOptions& o) {
    auto s = open(o);
    EXPECT_TRUE(s.ok()) << s.status().to_string();
    return s.ok() ? std::move(*s) : nullptr;
  }
  // A closed database file with one room and `n` messages.
  void make_file(int n) {
    auto store = open_ok(options());
    ASSERT_NE(store, nullptr);
    SyncStore s(loop_, *store);
    ASSERT_TRUE(s.create_room(make_room("r1", {"ann"})).ok());
    int done = 0;
    for (int i = 0; i < n; ++i)
      store->append(make_msg("r1", "ann", std::string(200, 'a' + i % 26)), [&](Result<Appended>) { ++done; });
    ASSERT_TRUE(loop_.run_until([&] { return done == n; }, kWaitLimit));
    store->close();
  }
  std::string open_error(const SqliteStoreOptions& o) {
    auto s = open(o);
    EXPECT_FALSE(s.ok()) << "opened a file that should be refused";
    if (s.ok()) (*s)->close();
    return s.ok() ? std::string() : s.status().to_string();
  }

  TempDir dir_;
  InProcessTransport loop_;
};

TEST_F(SqliteStoreTest, ReopenKeepsEverything) {
  std::vector<Message> before_close;
  Room room;
  {
    auto store = open_ok(options());
    ASSERT_NE(store, nullptr);
    SyncStore s(loop_, *store);
    ASSERT_TRUE(s.create_room(make_room("r1", {"ann", "bob"}, RoomKind::session)).ok());
    ASSERT_TRUE(s.add_member("r1", {"cy", "tutor"}).ok());
    auto up = s.update_session("r1", RoomStatus::ended, at_ms(1), at_ms(2));
    ASSERT_TRUE(up.ok());
    room = *up;
    NewMessage n = make_msg("r1", "ann", "first words");
    n.client_msg_id = "c1";
    n.attachment = Attachment{"https://x/a", "a", 3, "text/plain"};
    auto first = s.append(n);
    ASSERT_TRUE(first.ok());
    NewMessage reply = make_msg("r1", "bob", "a reply");
    reply.reply_to = first->message.id;
    auto second = s.append(reply);
    ASSERT_TRUE(second.ok());
    ASSERT_TRUE(s.edit_message(second->message.id, "an edited reply", at_ms(3)).ok());
    ASSERT_TRUE(s.delete_message(s.append(make_msg("r1", "cy", "oops"))->message.id).ok());
    ASSERT_TRUE(s.mark_read("r1", "bob", 2).ok());
    ASSERT_TRUE(s.set_last_seen("r1", "cy", at_ms(4)).ok());
    before_close = s.history("r1", {})->messages;
    store->close();
  }
  auto store = open_ok(options());
  ASSERT_NE(store, nullptr);
  SyncStore s(loop_, *store);
  EXPECT_EQ(*s.get_room("r1"), room);
  auto h = s.history("r1", {});
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(h->messages, before_close);
  auto st = s.read_state("r1", "bob");
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(st->reads, (std::vector<ReadPointer>{{"ann", 0}, {"bob", 2}, {"cy", 0}}));
  EXPECT_EQ(st->last_seen, (std::vector<LastSeen>{{"cy", at_ms(4)}}));
  EXPECT_EQ(s.search("r1", "edit", 10)->size(), 1u);
  EXPECT_TRUE(s.search("r1", "oops", 10)->empty());
  NewMessage retry = make_msg("r1", "ann", "first words");
  retry.client_msg_id = "c1";
  auto dup = s.append(retry);
  ASSERT_TRUE(dup.ok());
  EXPECT_TRUE(dup->duplicate);
  EXPECT_EQ(dup->message, before_close.front());
  EXPECT_EQ(s.append(make_msg("r1", "ann", "next"))->message.seq, 4);
  store->close();
  EXPECT_EQ(raw_exec(options().path, "PRAGMA integrity_check"), "ok");
}

TEST_F(SqliteStoreTest, NewerSchemaIsRefused) {
  make_file(1);
  ASSERT_EQ(raw_exec(options().path, "PRAGMA user_version = 99"), "");
  const std::string err = open_error(options());
  EXPECT_THAT(err, HasSubstr("schema version 99 is newer"));
  EXPECT_THAT(err, HasSubstr(options().path));
  // Refusing must not touch the file.
  EXPECT_EQ(raw_exec(options().path, "PRAGMA user_version"), "99");
}

TEST_F(SqliteStoreTest, GarbageFileIsRefused) {
  {
    std::ofstream f(options().path, std::ios::binary);
    for (int i = 0; i < 8192; ++i) f.put(static_cast<char>((i * 7919 + 13) & 0xff));
  }
  const std::string err = open_error(options());
  EXPECT_THAT(err, HasSubstr("not a database"));
  EXPECT_THAT(err, HasSubstr(options().path));
}

TEST_F(SqliteStoreTest, TruncatedFileIsRefused) {
  make_file(2000);
  const auto size = std::filesystem::file_size(options().path);
  ASSERT_GT(size, 100'000u);
  std::filesystem::resize_file(options().path, size / 2);
  EXPECT_THAT(open_error(options()), HasSubstr("malformed"));
  std::filesystem::resize_file(options().path, 50);  // not even a header
  EXPECT_THAT(open_error(options()), HasSubstr(options().path));
}

TEST_F(SqliteStoreTest, AnotherApplicationsDatabaseIsRefused) {
  ASSERT_EQ(raw_exec(options().path, "CREATE TABLE accounts(id INTEGER)"), "");
  EXPECT_THAT(open_error(options()), HasSubstr("another application"));
}

TEST_F(SqliteStoreTest, MissingDirectoryIsAClearError) {
  SqliteStoreOptions o = options();
  o.path = dir_.file("no/such/dir/chat.db");
  EXPECT_THAT(open_error(o), HasSubstr("cannot open " + o.path));
  o.path = "";
  EXPECT_EQ(open(o).status().code(), StatusCode::bad_request);
}

// Opens in a read-only directory, and a read-only file, as an unprivileged
// user (root ignores permissions, so a root test run drops to "nobody" in
// a child). Exit code 0 when both opens failed with the path named.
int read_only_probe(const std::string& dir) {
  if (geteuid() == 0 && (setgid(65534) != 0 || setuid(65534) != 0)) return 10;
  InProcessTransport loop;
  SqliteStoreOptions o;
  o.path = dir + "/ro/chat.db";
  auto fresh = open_sqlite_store(o, loop);
  if (fresh.ok()) return 1;
  if (fresh.status().message().find(o.path) == std::string::npos) return 2;
  o.path = dir + "/rw/chat.db";
  auto existing = open_sqlite_store(o, loop);
  if (existing.ok()) return 3;
  if (existing.status().message().find(o.path) == std::string::npos) return 4;
  return 0;
}

TEST_F(SqliteStoreTest, ReadOnlyDirectoryOrFileIsAClearError) {
  namespace fs = std::filesystem;
  fs::create_directory(dir_.file("ro"));
  fs::create_directory(dir_.file("rw"));
  {
    SqliteStoreOptions o = options();
    o.path = dir_.file("rw/chat.db");
    auto store = open_ok(o);
    ASSERT_NE(store, nullptr);
    store->close();
  }
  fs::permissions(dir_.path(), fs::perms::all);  // the child must reach both
  fs::permissions(dir_.file("ro"), fs::perms::owner_read | fs::perms::owner_exec | fs::perms::group_read |
                                       fs::perms::group_exec | fs::perms::others_read | fs::perms::others_exec);
  fs::permissions(dir_.file("rw"), fs::perms::all);
  fs::permissions(dir_.file("rw/chat.db"), fs::perms::owner_read | fs::perms::group_read | fs::perms::others_read);
  const pid_t pid = fork();
  ASSERT_NE(pid, -1);
  if (pid == 0) _exit(read_only_probe(dir_.path()));
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << "1/3: opened; 2/4: message lacks the path; 10: setuid failed";
  fs::permissions(dir_.file("ro"), fs::perms::all);
}

TEST_F(SqliteStoreTest, FullDatabaseFailsTheSenderAndLosesNothingAcked) {
  SqliteStoreOptions o = options();
  o.max_page_count = 80;  // 80 pages of 4 KiB: full after a few dozen messages
  o.max_batch = 16;
  auto store = open_ok(o);
  ASSERT_NE(store, nullptr);
  SyncStore s(loop_, *store);
  ASSERT_TRUE(s.create_room(make_room("r1", {"ann"})).ok());
  EXPECT_TRUE(store->health().ok());
  constexpr int kCount = 400;
  std::vector<std::string> acked;
  int unavailable = 0, other = 0, done = 0;
  std::string why;
  for (int i = 0; i < kCount; ++i) {
    store->append(make_msg("r1", "ann", std::string(3000, 'a' + i % 26) + " n" + std::to_string(i)),
                  [&](Result<Appended> r) {
                    ++done;
                    if (r.ok()) {
                      acked.push_back(r->message.id);
                    } else if (r.status().code() == StatusCode::unavailable) {
                      ++unavailable;
                      why = r.status().message();
                    } else {
                      ++other;
                    }
                  });
  }
  ASSERT_TRUE(loop_.run_until([&] { return done == kCount; }, kWaitLimit));
  EXPECT_GT(acked.size(), 0u);
  EXPECT_GT(unavailable, 0);
  EXPECT_EQ(other, 0);
  EXPECT_THAT(why, HasSubstr("full"));
  // The store says it cannot write until a write succeeds again. (The run
  // above may end on a small batch that still fit, which rightly clears
  // it; a message bigger than the whole cap can never fit.)
  auto too_big = s.append(make_msg("r1", "ann", std::string(400 * 1024, 'z')));
  ASSERT_FALSE(too_big.ok());
  EXPECT_EQ(too_big.status().code(), StatusCode::unavailable);
  EXPECT_EQ(store->health().code(), StatusCode::unavailable);
  EXPECT_THAT(store->health().message(), HasSubstr("full"));
  // Reads still work, and what was acked is there with gapless seq.
  auto h = s.history("r1", HistoryQuery{std::nullopt, 0, 200});
  ASSERT_TRUE(h.ok()) << h.status().to_string();
  ASSERT_EQ(h->messages.size(), acked.size());
  for (std::size_t i = 0; i < acked.size(); ++i) {
    EXPECT_EQ(h->messages[i].id, acked[i]);
    EXPECT_EQ(h->messages[i].seq, static_cast<std::int64_t>(i + 1));
  }
  store->close();
  auto again = open_ok(options());  // without the cap
  ASSERT_NE(again, nullptr);
  SyncStore s2(loop_, *again);
  EXPECT_EQ(s2.read_state("r1", "ann")->last_seq, static_cast<std::int64_t>(acked.size()));
  EXPECT_EQ(s2.append(make_msg("r1", "ann", "room again"))->message.seq,
            static_cast<std::int64_t>(acked.size() + 1));
  again->close();
  EXPECT_EQ(raw_exec(options().path, "PRAGMA integrity_check"), "ok");
}

TEST_F(SqliteStoreTest, FileRenamedOrDeletedAwayRefusesWritesUntilItIsBack) {
  SqliteStoreOptions o = options();
  o.fault_retry_interval = std::chrono::milliseconds(10);
  auto store = open_ok(o);
  ASSERT_NE(store, nullptr);
  SyncStore s(loop_, *store);
  ASSERT_TRUE(s.create_room(make_room("r1", {"ann"})).ok());
  ASSERT_TRUE(s.append(make_msg("r1", "ann", "before")).ok());
  // Health changes on the store's thread without a completion: ask again
  // after each round trip through the store (bounded).
  auto healthy = [&] {
    const auto end = std::chrono::steady_clock::now() + kWaitLimit;
    for (int i = 0; i < 100'000 && std::chrono::steady_clock::now() < end; ++i) {
      if (store->health().ok()) return true;
      (void)s.get_room("r1");
    }
    return store->health().ok();
  };
  std::size_t stored = 1;
  for (const bool delete_it : {false, true}) {
    SCOPED_TRACE(delete_it ? "deleted, another link kept" : "renamed");
    const std::string away = o.path + ".away";
    if (delete_it) {
      std::filesystem::create_hard_link(o.path, away);
      std::filesystem::remove(o.path);
    } else {
      std::filesystem::rename(o.path, away);
    }
    // A write now would go to a file nobody opens again: refused.
    auto refused = s.append(make_msg("r1", "ann", "while away"));
    ASSERT_FALSE(refused.ok());
    EXPECT_EQ(refused.status().code(), StatusCode::unavailable);
    EXPECT_THAT(refused.status().message(), HasSubstr("deleted, renamed or replaced"));
    EXPECT_EQ(store->health().code(), StatusCode::unavailable);
    EXPECT_EQ(s.history("r1", {})->messages.size(), stored);  // reads go on
    if (delete_it) {
      std::filesystem::create_hard_link(away, o.path);
      std::filesystem::remove(away);
    } else {
      std::filesystem::rename(away, o.path);
    }
    EXPECT_TRUE(healthy()) << store->health().to_string();
    ASSERT_TRUE(s.append(make_msg("r1", "ann", "back")).ok());
    ++stored;
  }
  store->close();
  auto again = open_ok(options());
  ASSERT_NE(again, nullptr);
  auto h = SyncStore(loop_, *again).history("r1", {});
  ASSERT_TRUE(h.ok());
  ASSERT_EQ(h->messages.size(), 3u);
  EXPECT_EQ(h->messages[1].text, "back");
  EXPECT_EQ(h->messages[2].text, "back");
}

TEST_F(SqliteStoreTest, FailedCommitReportsNothingAsStored) {
  make_file(0);
  // A deferred foreign key is checked at COMMIT: a message "poison" makes
  // the COMMIT of whichever batch holds it fail, like a disk full at the
  // last moment.
  ASSERT_EQ(raw_exec(options().path,
                     "CREATE TABLE poison_parent(id INTEGER PRIMARY KEY);"
                     "CREATE TABLE poison(pid INTEGER REFERENCES poison_parent(id) DEFERRABLE INITIALLY DEFERRED);"
                     "CREATE TRIGGER poison_commit AFTER INSERT ON messages WHEN new.text = 'poison' "
                     "BEGIN INSERT INTO poison(pid) VALUES(42); END;"),
            "");
  std::map<std::string, Result<Appended>> results;
  {
    auto store = open_ok(options());
    ASSERT_NE(store, nullptr);
    constexpr int kCount = 300;
    for (int i = 0; i < kCount; ++i) {
      const std::string text = i == kCount / 2 ? "poison" : "text " + std::to_string(i);
      store->append(make_msg("r1", "ann", text), [&results, text](Result<Appended> r) {
        results.emplace(text, std::move(r));
      });
    }
    ASSERT_TRUE(loop_.run_until([&] { return results.size() == kCount; }, kWaitLimit));
    store->close();
  }
  ASSERT_EQ(results.at("poison").status().code(), StatusCode::internal);
  auto store = open_ok(options());
  ASSERT_NE(store, nullptr);
  SyncStore s(loop_, *store);
  std::vector<Message> stored;
  for (std::int64_t after = 0;; after += 200) {
    auto page = s.history("r1", HistoryQuery{std::nullopt, after, 200});
    ASSERT_TRUE(page.ok());
    stored.insert(stored.end(), page->messages.begin(), page->messages.end());
    if (!page->has_more) break;
  }
  std::size_t acked = 0, collateral = 0;
  for (const auto& [text, r] : results) {
    if (r.ok()) {
      ++acked;
      ASSERT_LE(static_cast<std::size_t>(r->message.seq), stored.size()) << text;
      EXPECT_EQ(stored[static_cast<std::size_t>(r->message.seq - 1)], r->message) << text;
    } else {
      EXPECT_EQ(r.status().code(), StatusCode::internal) << text;
      collateral += text != "poison";
    }
  }
  // Exactly the acknowledged messages are stored, with seq 1..n.
  EXPECT_EQ(stored.size(), acked);
  std::printf("failed commit: %zu acknowledged, %zu failed with the poisoned batch\n", acked, collateral);
}

TEST_F(SqliteStoreTest, CloseFinishesQueuedWrites) {
  auto store = open_ok(options());
  ASSERT_NE(store, nullptr);
  SyncStore s(loop_, *store);
  ASSERT_TRUE(s.create_room(make_room("r1", {"ann"})).ok());
  int ok = 0;
  for (int i = 0; i < 500; ++i) store->append(make_msg("r1", "ann", "x"), [&](Result<Appended> r) { ok += r.ok(); });
  store->close();
  ASSERT_TRUE(loop_.run_until([&] { return ok == 500; }, kWaitLimit));
  EXPECT_EQ(store->pending(), 0u);
  auto again = open_ok(options());
  ASSERT_NE(again, nullptr);
  EXPECT_EQ(SyncStore(loop_, *again).read_state("r1", "ann")->last_seq, 500);
}

TEST_F(SqliteStoreTest, CompletionsRunOnTheLoopThreadOnly) {
  auto store = open_ok(options());
  ASSERT_NE(store, nullptr);
  const auto loop_thread = std::this_thread::get_id();
  int on_loop = 0, calls = 0;
  auto check = [&](auto) {
    ++calls;
    on_loop += std::this_thread::get_id() == loop_thread;
  };
  store->create_room(make_room("r1", {"ann"}), check);
  store->append(make_msg("r1", "ann", "x"), check);
  store->history("r1", {}, check);
  store->flush(check);
  ASSERT_TRUE(loop_.run_until([&] { return calls == 4; }, kWaitLimit));
  EXPECT_EQ(on_loop, 4);
}

// Migration 2 (join token expiry): a file from schema 1, with a session
// room and its token digest, opens at schema 2 with every row kept and no
// expiry on the old room; the new column is then written and read.
TEST_F(SqliteStoreTest, SchemaOneFileMigratesToJoinTokenExpiry) {
  {
    auto store = open_ok(options());
    ASSERT_NE(store, nullptr);
    SyncStore s(loop_, *store);
    Room r = make_room("lesson", {"tutor"}, RoomKind::session);
    r.join_secret = "digest-from-v1";
    ASSERT_TRUE(s.create_room(r).ok());
    store->close();
  }
  // What chatd with schema 1 left behind: no join_expires_at column.
  ASSERT_EQ(raw_exec(options().path, "ALTER TABLE rooms DROP COLUMN join_expires_at; PRAGMA user_version = 1"), "");
  // Nor the reactions (migration 4) and moderation tables (migration 5).
  ASSERT_EQ(raw_exec(options().path,
                     "DROP TABLE reactions; DROP TABLE mutes; DROP TABLE slow_modes; DROP TABLE audit; DROP TABLE bans"),
            "");
  ASSERT_EQ(raw_exec(options().path, "SELECT count(*) FROM pragma_table_info('rooms') WHERE name = 'join_expires_at'"), "0");
  auto store = open_ok(options());
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(raw_exec(options().path, "PRAGMA user_version"), std::to_string(sqlite_store_schema_version()));
  SyncStore s(loop_, *store);
  auto old = s.get_room("lesson");
  ASSERT_TRUE(old.ok()) << old.status().to_string();
  EXPECT_EQ(old->join_secret, "digest-from-v1");
  EXPECT_FALSE(old->join_expires_at.has_value());
  auto rotated = s.set_join_secret("lesson", "digest-v2", at_ms(42'000));
  ASSERT_TRUE(rotated.ok()) << rotated.status().to_string();
  EXPECT_EQ(s.get_room("lesson")->join_expires_at, std::optional<Timestamp>(at_ms(42'000)));
  store->close();
}

}  // namespace
}  // namespace realtime::testing
