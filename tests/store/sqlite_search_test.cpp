// SQLite-only tests of search and of the read lanes: a file made by the
// version-1 schema is migrated and searched by room; a search costs what
// its room holds; a search is bounded in time (deadline) and in queue; a
// slow search or a slow read does not hold up a history page. Test thread
// only (it is the loop thread).
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <chrono>
#include <string>
#include <vector>

#include "realtime/sqlite_store.h"
#include "sqlite_files.h"
#include "store_test_util.h"

namespace realtime::testing {
namespace {

using ::testing::HasSubstr;

std::vector<std::string> texts(const Result<std::vector<Message>>& r) {
  std::vector<std::string> out;
  if (r.ok())
    for (const auto& m : *r) out.push_back(m.text);
  return out;
}

class SqliteSearchTest : public ::testing::Test {
 protected:
  SqliteStoreOptions options() const {
    SqliteStoreOptions o;
    o.path = dir_.file("chat.db");
    o.synchronous = SqliteSync::normal;
    return o;
  }
  std::unique_ptr<Store> open_ok(const SqliteStoreOptions& o) {
    auto s = open_sqlite_store(o, loop_);
    EXPECT_TRUE(s.ok()) << s.status().to_string();
    return s.ok() ? std::move(*s) : nullptr;
  }
  // Appends `n` messages to `room`, every one of them matching the query
  // "a", with up to 5,000 in flight; true when all were stored.
  bool fill(Store& store, const std::string& room, int n) {
    int done = 0, failed = 0, issued = 0;
    std::function<void()> issue = [&] {
      const int i = issued++;
      store.append(make_msg(room, "ann", "apples and apricots, message " + std::to_string(i)),
                   [&](Result<Appended> r) {
                     ++done;
                     failed += r.ok() ? 0 : 1;
                     if (issued < n) issue();
                   });
    };
    for (int i = 0; i < 5000 && issued < n; ++i) issue();
    return loop_.run_until([&] { return done == n; }, std::chrono::seconds(60)) && failed == 0;
  }

  TempDir dir_;
  InProcessTransport loop_;
};

TEST_F(SqliteSearchTest, Version1FileIsMigratedAndSearchedByRoom) {
  const std::string path = options().path;
  // Two rooms sharing words; a deleted message (never indexed) and one
  // with no word at all, as version 1 stored them.
  std::string sql = std::string("BEGIN;") + kVersion1Schema +
                    "INSERT INTO rooms VALUES(1, 'r1', 1, 'R1', 0, 'ann', 0, NULL, NULL, 's1');"
                    "INSERT INTO rooms VALUES(2, 'r2', 1, 'R2', 0, 'ann', 0, NULL, NULL, 's2');"
                    "INSERT INTO members VALUES(1, 'ann', 'owner', 0), (2, 'ann', 'owner', 0);";
  struct Row {
    int mid, rid, seq;
    const char* text;
    bool deleted;
  };
  const std::vector<Row> rows = {{1, 1, 1, "Hello world", false},       {2, 2, 1, "hello from r2", false},
                                 {3, 1, 2, "help wanted", false},       {4, 1, 3, "", true},
                                 {5, 2, 2, "world of r2", false},       {6, 1, 4, "!!!", false},
                                 {7, 1, 5, "hello again, world", false}};
  for (const Row& r : rows) {
    sql +=
        "INSERT INTO messages(mid, rid, seq, sender_id, sender_name, sender_role, type, text, created_at, "
        "deleted) VALUES(" +
        std::to_string(r.mid) + ", " + std::to_string(r.rid) + ", " + std::to_string(r.seq) +
        ", 'ann', 'Ann', 'owner', 0, '" + r.text + "', " + std::to_string(1'800'000'000'000 + r.mid) + ", " +
        (r.deleted ? "1" : "0") + ");";
    if (!r.deleted && *r.text != '\0') {
      sql += "INSERT INTO messages_fts(rowid, text) VALUES(" + std::to_string(r.mid) + ", '" + r.text + "');";
    }
  }
  sql += "PRAGMA user_version = 1; PRAGMA application_id = 1667785076; COMMIT;";
  ASSERT_EQ(raw_exec(path, sql), "");

  auto store = open_ok(options());
  ASSERT_NE(store, nullptr);
  SyncStore s(loop_, *store);
  EXPECT_EQ(raw_exec(path, "PRAGMA user_version"), std::to_string(sqlite_store_schema_version()));
  EXPECT_EQ(texts(s.search("r1", "hel")),
            (std::vector<std::string>{"hello again, world", "help wanted", "Hello world"}));
  EXPECT_EQ(texts(s.search("r1", "WORLD hello")),
            (std::vector<std::string>{"hello again, world", "Hello world"}));
  EXPECT_EQ(texts(s.search("r2", "world")), (std::vector<std::string>{"world of r2"}));
  EXPECT_EQ(texts(s.search("r2", "help")), std::vector<std::string>{});
  // The migrated index keeps up with edits, deletes and new messages.
  ASSERT_TRUE(s.edit_message("m3", "helpers needed", at_ms(1)).ok());
  ASSERT_TRUE(s.delete_message("m1").ok());
  ASSERT_TRUE(s.delete_message("m6").ok());
  ASSERT_TRUE(s.append(make_msg("r1", "ann", "hello newcomer")).ok());
  EXPECT_EQ(texts(s.search("r1", "hel")),
            (std::vector<std::string>{"hello newcomer", "hello again, world", "helpers needed"}));
  EXPECT_EQ(texts(s.search("r1", "wanted")), std::vector<std::string>{});
  store->close();
  EXPECT_EQ(raw_exec(path, "PRAGMA integrity_check"), "ok");
  EXPECT_EQ(raw_exec(path, "INSERT INTO messages_fts(messages_fts) VALUES('integrity-check')"), "");
}

TEST_F(SqliteSearchTest, SearchInASmallRoomCostsWhatThatRoomHolds) {
  auto store = open_ok(options());
  ASSERT_NE(store, nullptr);
  SyncStore s(loop_, *store);
  ASSERT_TRUE(s.create_room(make_room("big", {"ann"})).ok());
  ASSERT_TRUE(s.create_room(make_room("small", {"ann"})).ok());
  ASSERT_TRUE(fill(*store, "big", 100'000));
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(s.append(make_msg("small", "ann", cat("apples ", i))).ok());
  // "apples" is in 100,020 messages, 20 of them here: the answer must not
  // cost the other room's 100,000 (an index for all rooms, filtered by
  // room afterwards, took 350 ms here; this takes well under 1 ms).
  const auto start = std::chrono::steady_clock::now();
  auto found = s.search("small", "apples", 20);
  const auto took = std::chrono::steady_clock::now() - start;
  ASSERT_TRUE(found.ok()) << found.status().to_string();
  ASSERT_EQ(found->size(), 20u);
  EXPECT_EQ(found->front().text, "apples 19");
  EXPECT_LT(took, std::chrono::milliseconds(100));
}

TEST_F(SqliteSearchTest, SlowSearchDoesNotHoldUpHistoryPages) {
  SqliteStoreOptions o = options();
  o.search_timeout = std::chrono::minutes(5);  // this test is about order, not time
  auto store = open_ok(o);
  ASSERT_NE(store, nullptr);
  SyncStore s(loop_, *store);
  ASSERT_TRUE(s.create_room(make_room("big", {"ann"})).ok());
  ASSERT_TRUE(s.create_room(make_room("small", {"ann"})).ok());
  ASSERT_TRUE(fill(*store, "big", 60'000));
  ASSERT_TRUE(s.append(make_msg("small", "ann", "hi")).ok());
  // Every message of the big room matches, and the limit takes them all:
  // this search reads 60,000 rows. The page must not wait for it.
  std::vector<std::string> order;
  std::size_t found = 0;
  store->search("big", "a", 1'000'000, [&](Result<std::vector<Message>> r) {
    order.push_back("search");
    found = r.ok() ? r->size() : 0;
  });
  store->history("small", {},
                 [&](Result<HistoryPage> p) { order.push_back(p.ok() ? "history" : "history failed"); });
  ASSERT_TRUE(loop_.run_until([&] { return order.size() == 2; }, kWaitLimit));
  EXPECT_EQ(order, (std::vector<std::string>{"history", "search"}));
  EXPECT_EQ(found, 60'000u);
}

TEST_F(SqliteSearchTest, SlowReadDoesNotHoldUpHistoryPages) {
  auto store = open_ok(options());
  ASSERT_NE(store, nullptr);
  SyncStore s(loop_, *store);
  // list_rooms runs a few queries per room: for 3,000 rooms it is slow.
  constexpr int kRooms = 3000;
  int created = 0;
  for (int i = 0; i < kRooms; ++i) {
    store->create_room(make_room(cat("room", i), {"ann", "bob"}),
                       [&](Result<Room> r) { created += r.ok(); });
  }
  ASSERT_TRUE(loop_.run_until([&] { return created == kRooms; }, kWaitLimit));
  ASSERT_TRUE(s.append(make_msg("room0", "ann", "hi")).ok());
  std::vector<std::string> order;
  store->list_rooms("ann", [&](Result<std::vector<RoomSummary>> r) {
    order.push_back(r.ok() && r->size() == kRooms ? "list" : "list failed");
  });
  store->history("room0", {},
                 [&](Result<HistoryPage> p) { order.push_back(p.ok() ? "history" : "history failed"); });
  ASSERT_TRUE(loop_.run_until([&] { return order.size() == 2; }, kWaitLimit));
  EXPECT_EQ(order, (std::vector<std::string>{"history", "list"}));
}

TEST_F(SqliteSearchTest, SearchPastItsDeadlineStopsWithUnavailable) {
  SqliteStoreOptions o = options();
  o.search_timeout = std::chrono::milliseconds(20);
  auto store = open_ok(o);
  ASSERT_NE(store, nullptr);
  SyncStore s(loop_, *store);
  ASSERT_TRUE(s.create_room(make_room("big", {"ann"})).ok());
  ASSERT_TRUE(fill(*store, "big", 100'000));
  // Every message has "apples": reading 100,000 rows takes far longer than
  // 20 ms (it starts well within them), and the search stops. Without the
  // interruption it would answer all of them.
  auto r = s.search("big", "apples", 1'000'000);
  ASSERT_FALSE(r.ok()) << "found " << r->size();
  EXPECT_EQ(r.status().code(), StatusCode::unavailable);
  EXPECT_THAT(r.status().message(), HasSubstr("search took longer than 20 ms"));
  // A narrow search in the same room still answers within the time.
  auto narrow = s.search("big", "99999", 10);
  ASSERT_TRUE(narrow.ok()) << narrow.status().to_string();
  EXPECT_EQ(texts(narrow), (std::vector<std::string>{"apples and apricots, message 99999"}));
}

TEST_F(SqliteSearchTest, SearchThatWaitedPastItsDeadlineDoesNotRun) {
  SqliteStoreOptions o = options();
  o.search_timeout = std::chrono::milliseconds(0);  // due when called
  auto store = open_ok(o);
  ASSERT_NE(store, nullptr);
  SyncStore s(loop_, *store);
  ASSERT_TRUE(s.create_room(make_room("r1", {"ann"})).ok());
  ASSERT_TRUE(s.append(make_msg("r1", "ann", "hello")).ok());
  auto r = s.search("r1", "hello");
  EXPECT_EQ(r.status().code(), StatusCode::unavailable);
  EXPECT_THAT(r.status().message(), HasSubstr("search took longer than 0 ms"));
}

TEST_F(SqliteSearchTest, SearchQueueIsBounded) {
  SqliteStoreOptions o = options();
  o.max_queued_searches = 2;
  o.search_timeout = std::chrono::minutes(5);  // the queue refuses, not the clock (a busy machine)
  auto store = open_ok(o);
  ASSERT_NE(store, nullptr);
  SyncStore s(loop_, *store);
  ASSERT_TRUE(s.create_room(make_room("big", {"ann"})).ok());
  ASSERT_TRUE(fill(*store, "big", 20'000));
  // Each search reads 20,000 rows; 100 are asked at once. One runs, two
  // wait, the rest are refused at once.
  constexpr int kSearches = 100;
  int ok = 0, refused = 0, other = 0;
  std::string why;
  for (int i = 0; i < kSearches; ++i) {
    store->search("big", "a", 1'000'000, [&](Result<std::vector<Message>> r) {
      if (r.ok()) {
        ++ok;
      } else if (r.status().code() == StatusCode::unavailable) {
        ++refused;
        why = r.status().message();
      } else {
        ++other;
      }
    });
  }
  ASSERT_TRUE(loop_.run_until([&] { return ok + refused + other == kSearches; }, kWaitLimit));
  EXPECT_GE(ok, 1);
  EXPECT_LE(ok, 3 + 2);  // a couple more if the thread drains while the loop still asks
  EXPECT_EQ(ok + refused, kSearches);
  EXPECT_THAT(why, HasSubstr("too many searches queued (2)"));
  // Refused searches cost nothing: the store answers the next one.
  EXPECT_TRUE(s.search("big", "message 7", 5).ok());
}

}  // namespace
}  // namespace realtime::testing
