// PostgreSQL-only store tests, against a throwaway server (pg_backend.h):
// migrations (several processes' worth of stores opening one empty schema
// at once, a newer schema, someone else's tables), connection strings
// that never show their password, several store instances appending to
// the same rooms, strings PostgreSQL cannot hold, a statement that fails
// and a race that is lost inside a batch, and the server going away: not
// there at open, stopped and started, restarted immediately (a crash),
// frozen. Test thread only (it is also the loop thread), plus the opener
// threads of the migration test.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <latch>
#include <map>
#include <set>
#include <thread>

#include "child_process.h"
#include "pg_backend.h"
#include "store/postgres/sql.h"
#include "store_test_util.h"

namespace realtime::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using Clock = std::chrono::steady_clock;

// One integer from a query on the shared server.
std::int64_t query_int(const std::string& sql) {
  PGconn* c = PQconnectdb(pg_test_cluster().url().c_str());
  PGresult* r = PQexec(c, sql.c_str());
  std::int64_t v = -1;
  if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1) v = std::atoll(PQgetvalue(r, 0, 0));
  else ADD_FAILURE() << sql << ": " << PQresultErrorMessage(r);
  PQclear(r);
  PQfinish(c);
  return v;
}

void exec_ok(const std::string& sql) {
  Status s = pg_test_cluster().exec(sql);
  ASSERT_TRUE(s.ok()) << sql << ": " << s.to_string();
}

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

class PostgresStore : public ::testing::Test {
 protected:
  void TearDown() override {
    for (auto& s : stores_) s->close();
    loop_.run_until_idle();
    // A test that stopped or froze the shared server gives it back.
    pg_test_cluster().resume();
    ASSERT_TRUE(pg_test_cluster().start_again().ok());
  }
  Store& open(const PostgresStoreOptions& o) {
    auto s = open_postgres_store(o, loop_);
    EXPECT_TRUE(s.ok()) << s.status().to_string();
    if (!s.ok()) throw std::runtime_error(s.status().to_string());
    stores_.push_back(std::move(*s));
    return *stores_.back();
  }
  // Short timeouts, and health changes recorded as they reach the loop.
  PostgresStoreOptions fault_options() {
    PostgresStoreOptions o = pg_test_options();
    o.request_timeout = std::chrono::milliseconds(1000);
    o.connect_timeout = std::chrono::milliseconds(500);
    o.on_health_change = [this](const Status& s) { health_changes_.push_back(s); };
    return o;
  }
  // The store said it lost the server, and then that it has it back.
  bool back_up() const {
    return health_changes_.size() >= 2 && !health_changes_.front().ok() && health_changes_.back().ok();
  }
  InProcessTransport loop_;
  std::vector<std::unique_ptr<Store>> stores_;
  std::vector<Status> health_changes_;
};

TEST_F(PostgresStore, StoresOpeningOneEmptySchemaAtOnceMigrateItExactlyOnce) {
  std::string schema;
  const PostgresStoreOptions o = pg_test_options(&schema);
  constexpr int kOpeners = 6;
  std::vector<std::optional<Result<std::unique_ptr<Store>>>> opened(kOpeners);
  std::latch go(kOpeners);
  std::vector<std::thread> threads;
  for (int i = 0; i < kOpeners; ++i) {
    threads.emplace_back([&, i] {
      go.arrive_and_wait();
      opened[static_cast<std::size_t>(i)].emplace(open_postgres_store(o, loop_));
    });
  }
  for (auto& t : threads) t.join();
  for (auto& r : opened) {
    ASSERT_TRUE(r->ok()) << r->status().to_string();
    stores_.push_back(std::move(**r));
  }
  EXPECT_EQ(query_int("SELECT count(*) FROM " + schema + ".realtime_schema_migrations"), postgres_store_schema_version());
  SyncStore first(loop_, *stores_.front()), last(loop_, *stores_.back());
  ASSERT_TRUE(first.create_room(make_room("r1", {"ann"})).ok());
  EXPECT_EQ(last.get_room("r1")->members.size(), 1u);
}

TEST_F(PostgresStore, NewerSchemaIsRefusedAndLeftAlone) {
  std::string schema;
  const PostgresStoreOptions o = pg_test_options(&schema);
  open(o).close();
  exec_ok("INSERT INTO " + schema + ".realtime_schema_migrations(version) VALUES (99)");
  auto again = open_postgres_store(o, loop_);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.status().code(), StatusCode::internal);
  EXPECT_THAT(again.status().message(), HasSubstr("version 99, newer than this build supports"));
  EXPECT_EQ(query_int("SELECT count(*) FROM " + schema + ".realtime_schema_migrations"),
            postgres_store_schema_version() + 1);
}

// A database made before join tokens expired (schema 1) keeps its rooms,
// whose tokens then count from their creation (no expiry stored).
TEST_F(PostgresStore, SchemaOneMigratesToJoinTokenExpiry) {
  std::string schema;
  const PostgresStoreOptions o = pg_test_options(&schema);
  {
    Store& store = open(o);
    SyncStore s(loop_, store);
    Room r = make_room("old", {"ann"});
    r.join_secret = "digest";
    ASSERT_TRUE(s.create_room(r).ok());
    store.close();
  }
  // Back to schema 1: without the expiry (2), the attachment tables (3) reactions (4) and the moderation tables (5).
  exec_ok("ALTER TABLE " + schema + ".rooms DROP COLUMN join_expires_at");
  exec_ok(cat("DROP TABLE ", schema, ".attachment_refs, ", schema, ".attachment_usage, ", schema, ".attachments"));
  exec_ok(cat("DROP TABLE ", schema, ".reactions"));
  exec_ok(cat("DROP TABLE ", schema, ".mutes, ", schema, ".slow_modes, ", schema, ".audit, ", schema, ".bans"));
  exec_ok("DELETE FROM " + schema + ".realtime_schema_migrations WHERE version >= 2");
  Store& store = open(o);
  SyncStore s(loop_, store);
  auto old = s.get_room("old");
  ASSERT_TRUE(old.ok()) << old.status().to_string();
  EXPECT_EQ(old->join_secret, "digest");
  EXPECT_FALSE(old->join_expires_at.has_value());
  const Timestamp at{std::chrono::milliseconds{1'800'000'000'000}};
  auto rotated = s.set_join_secret("old", "new-digest", at);
  ASSERT_TRUE(rotated.ok()) << rotated.status().to_string();
  EXPECT_EQ(s.get_room("old")->join_expires_at, at);
  EXPECT_EQ(query_int(cat("SELECT count(*) FROM ", schema, ".attachments")), 0) << "and migration 3 ran";
}

TEST_F(PostgresStore, SchemaWithSomeoneElsesTablesIsRefused) {
  std::string schema;
  const PostgresStoreOptions o = pg_test_options(&schema);
  exec_ok("CREATE TABLE " + schema + ".users(id integer)");
  auto s = open_postgres_store(o, loop_);
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(s.status().message(), HasSubstr("did not create"));
  EXPECT_EQ(query_int("SELECT count(*) FROM pg_tables WHERE schemaname = '" + schema + "'"), 1);
}

TEST_F(PostgresStore, UnreachableAtOpenRetriesForStartTimeoutThenNamesTheServer) {
  const int port = free_port();
  PostgresStoreOptions o = pg_test_options();
  o.conninfo = "postgresql://chat:s3cret-pw@127.0.0.1:" + std::to_string(port) + "/chat";
  o.start_timeout = std::chrono::milliseconds(1500);
  const auto t = Clock::now();
  auto s = open_postgres_store(o, loop_);
  const double took = seconds_since(t);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), StatusCode::unavailable);
  EXPECT_THAT(s.status().message(), HasSubstr("PostgreSQL at 127.0.0.1:" + std::to_string(port)));
  EXPECT_THAT(s.status().message(), HasSubstr("cannot connect"));
  EXPECT_THAT(s.status().message(), Not(HasSubstr("s3cret-pw")));
  EXPECT_GE(took, 1.0);  // it retried...
  EXPECT_LT(took, 6.0);  // ...for a bounded time
}

TEST_F(PostgresStore, DescriptionsAndErrorsNeverShowThePassword) {
  EXPECT_EQ(postgres_describe("postgresql://ann:pw1@db.example:6543/chat"), "db.example:6543/chat (user ann)");
  EXPECT_EQ(postgres_describe("host=10.0.0.5 port=5433 dbname=chat user=bob password=pw2"), "10.0.0.5:5433/chat (user bob)");
  EXPECT_EQ(postgres_describe("host=x password='unterminated"), "");
  PostgresStoreOptions o = pg_test_options();
  o.conninfo = "host=x password='unterminated-pw3";
  auto s = open_postgres_store(o, loop_);
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(s.status().message(), Not(HasSubstr("unterminated-pw3")));
  // A wrong password names the server and the failure, never the password.
  exec_ok("DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'pwuser') THEN "
          "CREATE ROLE pwuser LOGIN PASSWORD 'right-pw'; END IF; END $$");
  o.conninfo = "postgresql://pwuser:wrong-pw4@127.0.0.1:" + std::to_string(pg_test_cluster().port()) + "/postgres";
  o.start_timeout = std::chrono::milliseconds(0);
  s = open_postgres_store(o, loop_);
  // trust authentication lets any password in: the store then opens.
  if (!s.ok()) EXPECT_THAT(s.status().message(), Not(HasSubstr("wrong-pw4")));
  else stores_.push_back(std::move(*s));
}

TEST_F(PostgresStore, StringsPostgresCannotHoldAreBadRequestAndStoreNothing) {
  SyncStore s(loop_, open(pg_test_options()));
  ASSERT_TRUE(s.create_room(make_room("r1", {"ann"})).ok());
  const std::string nul("a\0b", 3);
  EXPECT_EQ(s.append(make_msg("r1", "ann", nul)).status().code(), StatusCode::bad_request);
  EXPECT_EQ(s.append(make_msg("r1", "ann", "\xff\xfe")).status().code(), StatusCode::bad_request);
  EXPECT_EQ(s.append(make_msg("r1", nul, "x")).status().code(), StatusCode::bad_request);
  EXPECT_EQ(s.append(make_msg("r1", std::string(2000, 'u'), "x")).status().code(), StatusCode::bad_request);
  EXPECT_EQ(s.create_room(make_room(nul, {"ann"})).status().code(), StatusCode::bad_request);
  EXPECT_EQ(s.get_room(nul).status().code(), StatusCode::not_found);
  EXPECT_TRUE(s.search("r1", "\xff")->empty());
  auto fine = s.append(make_msg("r1", "ann", "fine"));
  ASSERT_TRUE(fine.ok());
  const Message ok = fine->message;
  EXPECT_EQ(ok.seq, 1);  // nothing refused took a seq
  EXPECT_EQ(s.edit_message(ok.id, nul, at_ms(1)).status().code(), StatusCode::bad_request);
  EXPECT_EQ(s.get_message(ok.id)->text, "fine");
}

TEST_F(PostgresStore, CallsPastMaxPendingFailAtOnceWithUnavailable) {
  PostgresStoreOptions o = pg_test_options();
  o.max_pending = 5;
  Store& store = open(o);
  ASSERT_TRUE(SyncStore(loop_, store).create_room(make_room("r1", {"ann"})).ok());
  int stored = 0, refused = 0;
  for (int i = 0; i < 50; ++i) {
    store.append(make_msg("r1", "ann", cat("m", i)), [&](Result<Appended> r) {
      if (r.ok()) ++stored;
      else if (r.status().code() == StatusCode::unavailable) ++refused;
      else ADD_FAILURE() << r.status().to_string();
    });
  }
  EXPECT_LE(store.pending(), 50u);
  ASSERT_TRUE(loop_.run_until([&] { return stored + refused == 50; }, kWaitLimit));
  EXPECT_EQ(stored, 5);
  EXPECT_EQ(refused, 45);
  EXPECT_EQ(store.pending(), 0u);
  EXPECT_EQ(SyncStore(loop_, store).read_state("r1", "ann")->last_seq, 5);
}

// Every append of `texts` queued before the first completes (one batch
// as far as the writer can tell), answered in call order.
std::vector<Result<Appended>> append_together(InProcessTransport& loop, Store& store, const std::string& room,
                                              const std::vector<std::string>& texts) {
  std::vector<Result<Appended>> out;
  for (const auto& t : texts) store.append(make_msg(room, "ann", t), [&](Result<Appended> r) { out.push_back(std::move(r)); });
  EXPECT_TRUE(loop.run_until([&] { return out.size() == texts.size(); }, kWaitLimit));
  return out;
}

// Search looks at a room's newest 1000 messages first and asks the index
// for older ones only when those do not fill the page (sql.cpp): both
// halves, and the seam between them.
TEST_F(PostgresStore, SearchFindsMatchesBeyondTheNewestThousandInOrder) {
  std::string schema;
  Store& store = open(pg_test_options(&schema));
  SyncStore s(loop_, store);
  ASSERT_TRUE(s.create_room(make_room("r1", {"ann"})).ok());
  std::vector<std::string> texts;
  for (int i = 1; i <= 1500; ++i) {
    std::string t = "common words " + std::to_string(i);
    if (i == 3 || i == 700 || i == 1450) t += " needle";
    if (i == 5) t += " gone";
    if (i == 9) t += " solitary";
    texts.push_back(t);
  }
  auto out = append_together(loop_, store, "r1", texts);
  ASSERT_EQ(out.size(), texts.size());
  ASSERT_TRUE(out[4].ok());
  ASSERT_TRUE(s.delete_message(out[4]->message.id).ok());
  auto seqs = [&](const std::string& q, int limit) {
    std::vector<std::int64_t> v;
    auto r = s.search("r1", q, limit);
    EXPECT_TRUE(r.ok()) << r.status().to_string();
    if (r.ok())
      for (const auto& m : *r) v.push_back(m.seq);
    return v;
  };
  EXPECT_EQ(seqs("needle", 50), (std::vector<std::int64_t>{1450, 700, 3}));  // across the seam
  EXPECT_EQ(seqs("needle", 2), (std::vector<std::int64_t>{1450, 700}));
  EXPECT_EQ(seqs("NEED", 50), (std::vector<std::int64_t>{1450, 700, 3}));
  EXPECT_EQ(seqs("common", 3), (std::vector<std::int64_t>{1500, 1499, 1498}));  // the newest only
  EXPECT_EQ(seqs("solit", 50), (std::vector<std::int64_t>{9}));                  // old and alone
  EXPECT_TRUE(seqs("gone", 50).empty());                                         // deleted, old
  // The older matches come from the GIN index, not from a walk of the
  // room that filters every message, which is what the planner picks for
  // a big room when it may. The statistics are made to say "big room"
  // (a million rows in this table's pages): inserting one would take the
  // test minutes.
  PGconn* c = PQconnectdb(pg_test_conninfo(schema).c_str());
  PQclear(PQexec(c, "ANALYZE messages; UPDATE pg_class SET reltuples = 1e6, relpages = 1 "
                    "WHERE oid = 'messages'::regclass"));
  PGresult* prep = PQprepare(c, "search", pg::query_text(pg::Query::search), 0, nullptr);
  ASSERT_EQ(PQresultStatus(prep), PGRES_COMMAND_OK) << PQresultErrorMessage(prep);
  PQclear(prep);
  PGresult* plan = PQexec(c, "EXPLAIN EXECUTE search('r1', '''solit'':*', 50)");
  std::string text;
  for (int i = 0; i < PQntuples(plan); ++i) text += std::string(PQgetvalue(plan, i, 0)) + "\n";
  PQclear(plan);
  PQfinish(c);
  EXPECT_THAT(text, HasSubstr("Bitmap Index Scan on messages_words")) << text;
}

TEST_F(PostgresStore, AStatementThatFailsFailsOnlyItsCallAndTheRestCommit) {
  std::string schema;
  Store& store = open(pg_test_options(&schema));
  SyncStore s(loop_, store);
  ASSERT_TRUE(s.create_room(make_room("r1", {"ann"})).ok());
  exec_ok("CREATE FUNCTION " + schema + ".poison() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
          "IF NEW.text = 'poison' THEN RAISE EXCEPTION 'poisoned message'; END IF; RETURN NEW; END $$; "
          "CREATE TRIGGER poison BEFORE INSERT ON " + schema + ".messages FOR EACH ROW EXECUTE FUNCTION " + schema +
          ".poison()");
  auto out = append_together(loop_, store, "r1", {"one", "two", "poison", "three", "four"});
  ASSERT_EQ(out.size(), 5u);
  EXPECT_EQ(out[2].status().code(), StatusCode::internal);
  EXPECT_THAT(out[2].status().message(), HasSubstr("poisoned message"));
  std::vector<std::int64_t> seqs;
  for (std::size_t i : {0u, 1u, 3u, 4u}) {
    ASSERT_TRUE(out[i].ok()) << out[i].status().to_string();
    seqs.push_back(out[i]->message.seq);
  }
  EXPECT_EQ(seqs, (std::vector<std::int64_t>{1, 2, 3, 4}));
  auto h = s.history("r1", {});
  ASSERT_TRUE(h.ok());
  ASSERT_EQ(h->messages.size(), 4u);
  EXPECT_EQ(h->messages[2].text, "three");
  EXPECT_EQ(s.read_state("r1", "bob")->last_seq, 4);
}

TEST_F(PostgresStore, ALostRaceIsRetriedAsAWholeAndStoresEverythingOnce) {
  std::string schema;
  Store& store = open(pg_test_options(&schema));
  SyncStore s(loop_, store);
  ASSERT_TRUE(s.create_room(make_room("r1", {"ann"})).ok());
  // The first two inserts of 'unlucky' fail as a serialization failure
  // would; the counter lives in a sequence, which no rollback undoes.
  exec_ok("CREATE SEQUENCE " + schema + ".unlucky_tries; "
          "CREATE FUNCTION " + schema + ".unlucky() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
          "IF NEW.text = 'unlucky' AND nextval('" + schema + ".unlucky_tries') <= 2 THEN "
          "RAISE EXCEPTION 'lost a race' USING ERRCODE = 'serialization_failure'; END IF; RETURN NEW; END $$; "
          "CREATE TRIGGER unlucky BEFORE INSERT ON " + schema + ".messages FOR EACH ROW EXECUTE FUNCTION " + schema +
          ".unlucky()");
  auto out = append_together(loop_, store, "r1", {"a", "unlucky", "b"});
  for (std::size_t i = 0; i < out.size(); ++i) {
    ASSERT_TRUE(out[i].ok()) << out[i].status().to_string();
    EXPECT_EQ(out[i]->message.seq, static_cast<std::int64_t>(i + 1));
  }
  EXPECT_EQ(query_int("SELECT last_value FROM " + schema + ".unlucky_tries"), 3);
  EXPECT_EQ(query_int("SELECT count(*) FROM " + schema + ".messages"), 3);
}

// Appends through several store instances (separate connections, threads
// and memory, as separate processes would have) to the same rooms at
// once; some clientMsgIds are sent through every instance.
TEST_F(PostgresStore, SeveralStoresAppendingToTheSameRoomsKeepSeqGaplessAndClientIdsUnique) {
  PostgresStoreOptions o = pg_test_options();
  constexpr int kStores = 3, kRooms = 3, kPerStore = 1500, kWindow = 50;
  std::vector<Store*> stores;
  for (int i = 0; i < kStores; ++i) stores.push_back(&open(o));
  SyncStore s0(loop_, *stores[0]);
  for (int r = 0; r < kRooms; ++r) ASSERT_TRUE(s0.create_room(make_room("r" + std::to_string(r), {"ann"})).ok());

  struct Ack {
    std::string room, id, cmid;
    std::int64_t seq;
    bool duplicate;
  };
  std::vector<Ack> acks;
  std::map<std::string, int> conflicts;  // cross-room clientMsgId -> refusals
  int failures = 0, done = 0, issued[kStores] = {0, 0, 0};
  std::function<void(int)> issue = [&](int si) {
    const int n = issued[si]++;
    // Every third message is one clientMsgId that all stores send to the
    // same room (one message, the others duplicates); every third but one
    // is one that each store sends to a different room (one message, the
    // others conflict).
    const bool cross = n % 3 == 1;
    const std::string room = "r" + std::to_string(cross ? si % kRooms : n % kRooms);
    NewMessage m = make_msg(room, "ann", "s" + std::to_string(si) + "-" + std::to_string(n));
    m.client_msg_id = n % 3 == 0 ? "shared-" + std::to_string(n)
                      : cross    ? "cross-" + std::to_string(n)
                                 : "s" + std::to_string(si) + "-" + std::to_string(n);
    stores[static_cast<std::size_t>(si)]->append(m, [&, si, room, cmid = *m.client_msg_id](Result<Appended> r) {
      ++done;
      if (r.ok()) {
        acks.push_back({room, r->message.id, cmid, r->message.seq, r->duplicate});
      } else if (r.status().code() == StatusCode::conflict && cmid.starts_with("cross-")) {
        ++conflicts[cmid];
      } else {
        ++failures;
        ADD_FAILURE() << r.status().to_string();
      }
      if (issued[si] < kPerStore) issue(si);
    });
  };
  for (int si = 0; si < kStores; ++si)
    for (int w = 0; w < kWindow; ++w) issue(si);
  ASSERT_TRUE(loop_.run_until([&] { return done == kStores * kPerStore; }, std::chrono::seconds(120)));
  EXPECT_EQ(failures, 0);

  // One message per clientMsgId; every ack of it names that message.
  std::map<std::string, std::pair<std::string, std::int64_t>> by_cmid;
  int duplicates = 0;
  for (const auto& a : acks) {
    auto [it, fresh] = by_cmid.emplace(a.cmid, std::make_pair(a.id, a.seq));
    if (!fresh) {
      EXPECT_EQ(it->second.first, a.id) << a.cmid;
      EXPECT_EQ(it->second.second, a.seq) << a.cmid;
    }
    duplicates += a.duplicate ? 1 : 0;
  }
  EXPECT_EQ(duplicates, static_cast<int>(acks.size() - by_cmid.size()));
  for (const auto& [cmid, n] : conflicts) {
    EXPECT_EQ(n, kStores - 1) << cmid;
    EXPECT_EQ(by_cmid.count(cmid), 1u) << cmid;
  }
  EXPECT_EQ(conflicts.size(), static_cast<std::size_t>(kPerStore / 3));
  // Each room: seq 1..n without a gap, exactly the acknowledged messages.
  SyncStore last(loop_, *stores.back());
  std::size_t stored = 0;
  for (int r = 0; r < kRooms; ++r) {
    const std::string room = "r" + std::to_string(r);
    std::set<std::string> ids;
    for (const auto& a : acks)
      if (a.room == room) ids.insert(a.id);
    std::int64_t expect = 1;
    std::optional<std::int64_t> after = 0;
    for (;;) {
      auto page = last.history(room, HistoryQuery{std::nullopt, after, 200});
      ASSERT_TRUE(page.ok());
      for (const auto& m : page->messages) {
        EXPECT_EQ(m.seq, expect++);
        EXPECT_EQ(ids.count(m.id), 1u) << m.id;
      }
      if (page->messages.empty() || !page->has_more) break;
      after = page->messages.back().seq;
    }
    EXPECT_EQ(static_cast<std::size_t>(expect - 1), ids.size());
    stored += ids.size();
  }
  EXPECT_EQ(stored, by_cmid.size());
}

// Three stores append one clientMsgId to three different rooms at once.
// A trigger holds each insert, after the statement has looked for the id
// and found nothing, until all three are there: then only the unique
// index can keep the id to one message. The others get `conflict`.
TEST_F(PostgresStore, OneClientMsgIdRacingIntoDifferentRoomsStoresOneMessage) {
  std::string schema;
  const PostgresStoreOptions o = pg_test_options(&schema);
  constexpr int kStores = 3;
  std::vector<Store*> stores;
  for (int i = 0; i < kStores; ++i) stores.push_back(&open(o));
  SyncStore s0(loop_, *stores[0]);
  for (int r = 0; r < kStores; ++r) ASSERT_TRUE(s0.create_room(make_room("r" + std::to_string(r), {"ann"})).ok());
  exec_ok("CREATE FUNCTION " + schema + ".gate() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
          "PERFORM pg_advisory_xact_lock_shared(4242); RETURN NEW; END $$; "
          "CREATE TRIGGER gate BEFORE INSERT ON " + schema + ".messages FOR EACH ROW EXECUTE FUNCTION " + schema +
          ".gate()");
  PGconn* gate = PQconnectdb(pg_test_cluster().url().c_str());
  PQclear(PQexec(gate, "SELECT pg_advisory_lock(4242)"));
  int stored = 0, refused = 0, done = 0;
  for (int si = 0; si < kStores; ++si) {
    NewMessage m = make_msg("r" + std::to_string(si), "ann", "race");
    m.client_msg_id = "race";
    stores[static_cast<std::size_t>(si)]->append(m, [&](Result<Appended> r) {
      ++done;
      if (r.ok() && !r->duplicate) ++stored;
      else if (r.status().code() == StatusCode::conflict) ++refused;
      else ADD_FAILURE() << (r.ok() ? "duplicate" : r.status().to_string());
    });
  }
  const auto limit = Clock::now() + kWaitLimit;
  while (query_int("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted") < kStores &&
         Clock::now() < limit) {
    loop_.run_until([] { return false; }, std::chrono::milliseconds(20));
  }
  PQclear(PQexec(gate, "SELECT pg_advisory_unlock(4242)"));
  PQfinish(gate);
  ASSERT_TRUE(loop_.run_until([&] { return done == kStores; }, kWaitLimit));
  EXPECT_EQ(stored, 1);
  EXPECT_EQ(refused, kStores - 1);
  EXPECT_EQ(query_int("SELECT count(*) FROM " + schema + ".messages"), 1);
}

// The distinct-emoji limit holds when several processes add new emojis to
// one message at once: each add locks the message's row first, so the
// count it checks includes what the others committed.
TEST_F(PostgresStore, ReactionsRacingPastTheEmojiLimitFromSeveralStoresStopAtIt) {
  std::string schema;
  const PostgresStoreOptions o = pg_test_options(&schema);
  constexpr int kStores = 3;
  constexpr std::size_t kMax = 3;
  std::vector<Store*> stores;
  for (int i = 0; i < kStores; ++i) stores.push_back(&open(o));
  SyncStore s0(loop_, *stores[0]);
  ASSERT_TRUE(s0.create_room(make_room("r1", {"ann"})).ok());
  auto m = s0.append(make_msg("r1", "ann", "popular"));
  ASSERT_TRUE(m.ok());
  const std::string id = m->message.id;
  for (const char* e : {"a", "b"})
    ASSERT_TRUE(await<bool>(loop_, [&](auto done) { stores[0]->add_reaction(id, "ann", e, kMax, done); }).ok());
  // Every insert waits at a gate until all the adds are in flight.
  exec_ok("CREATE FUNCTION " + schema + ".gate() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
          "PERFORM pg_advisory_xact_lock_shared(4343); RETURN NEW; END $$; "
          "CREATE TRIGGER gate BEFORE INSERT ON " + schema + ".reactions FOR EACH ROW EXECUTE FUNCTION " + schema +
          ".gate()");
  PGconn* gate = PQconnectdb(pg_test_cluster().url().c_str());
  PQclear(PQexec(gate, "SELECT pg_advisory_lock(4343)"));
  int added = 0, refused = 0, done = 0;
  for (int si = 0; si < kStores; ++si) {
    stores[static_cast<std::size_t>(si)]->add_reaction(id, "ann", "x" + std::to_string(si), kMax, [&](Result<bool> r) {
      ++done;
      if (r.ok() && *r) ++added;
      else if (r.status().code() == StatusCode::conflict) ++refused;
      else ADD_FAILURE() << (r.ok() ? "not added" : r.status().to_string());
    });
  }
  const auto limit = Clock::now() + kWaitLimit;
  while (query_int("SELECT count(*) FROM pg_locks WHERE NOT granted") < kStores && Clock::now() < limit)
    loop_.run_until([] { return false; }, std::chrono::milliseconds(20));
  PQclear(PQexec(gate, "SELECT pg_advisory_unlock(4343)"));
  PQfinish(gate);
  ASSERT_TRUE(loop_.run_until([&] { return done == kStores; }, kWaitLimit));
  EXPECT_EQ(added, 1);
  EXPECT_EQ(refused, kStores - 1);
  EXPECT_EQ(query_int("SELECT count(DISTINCT emoji) FROM " + schema + ".reactions"), static_cast<std::int64_t>(kMax));
}

// A client of the store that keeps `window` appends in flight to room
// "r1" until `total` are acknowledged, each with its own clientMsgId and
// sent again with the same one after `unavailable` (what a chat client
// does). Loop thread only.
class Sender {
 public:
  Sender(Store& store, int total, int window) : store_(store), total_(total) {
    for (int i = 0; i < window && next_ < total_; ++i) send(next_++);
  }
  bool finished() const { return static_cast<int>(acked_.size()) == total_; }
  int unavailable() const { return unavailable_; }
  int other_errors() const { return other_errors_; }
  double longest_unavailable_s() const { return longest_unavailable_s_; }
  const std::map<std::string, std::pair<std::string, std::int64_t>>& acked() const { return acked_; }

 private:
  void send(int n) {
    NewMessage m = make_msg("r1", "ann", "message " + std::to_string(n));
    m.client_msg_id = "k" + std::to_string(n);
    const auto t = Clock::now();
    store_.append(m, [this, n, t](Result<Appended> r) {
      if (r.ok()) {
        acked_["k" + std::to_string(n)] = {r->message.id, r->message.seq};
        if (next_ < total_) send(next_++);
        return;
      }
      if (r.status().code() == StatusCode::unavailable) {
        ++unavailable_;
        longest_unavailable_s_ = std::max(longest_unavailable_s_, seconds_since(t));
      } else {
        ++other_errors_;
        ADD_FAILURE() << r.status().to_string();
      }
      send(n);
    });
  }
  Store& store_;
  const int total_;
  int next_ = 0;
  int unavailable_ = 0, other_errors_ = 0;
  double longest_unavailable_s_ = 0;
  std::map<std::string, std::pair<std::string, std::int64_t>> acked_;
};

// Every acknowledged message is stored once with the acknowledged seq,
// and seq has no gap.
void expect_everything_acked_is_stored(InProcessTransport& loop, Store& store, const Sender& sender) {
  SyncStore s(loop, store);
  std::map<std::int64_t, Message> stored;
  std::optional<std::int64_t> after = 0;
  for (;;) {
    auto page = s.history("r1", HistoryQuery{std::nullopt, after, 200});
    ASSERT_TRUE(page.ok()) << page.status().to_string();
    for (const auto& m : page->messages) stored.emplace(m.seq, m);
    if (page->messages.empty() || !page->has_more) break;
    after = page->messages.back().seq;
  }
  std::int64_t expect = 1;
  for (const auto& [seq, m] : stored) EXPECT_EQ(seq, expect++);
  std::set<std::string> cmids;
  for (const auto& [seq, m] : stored) EXPECT_TRUE(cmids.insert(*m.client_msg_id).second) << *m.client_msg_id;
  for (const auto& [cmid, ack] : sender.acked()) {
    auto it = stored.find(ack.second);
    ASSERT_NE(it, stored.end()) << cmid << " acked with seq " << ack.second << " is gone";
    EXPECT_EQ(it->second.id, ack.first);
    EXPECT_EQ(it->second.client_msg_id, cmid);
  }
}


// The bound on an `unavailable` answer (postgres_store.h), with slack for
// a loaded machine.
double bound_s(const PostgresStoreOptions& o) {
  return std::chrono::duration<double>(o.connect_timeout + 2 * o.request_timeout).count() + 1.5;
}

TEST_F(PostgresStore, ServerStoppedAndStartedAgainWhileSendingResumesByItselfAndLosesNothingAcked) {
  const PostgresStoreOptions o = fault_options();
  Store& store = open(o);
  ASSERT_TRUE(SyncStore(loop_, store).create_room(make_room("r1", {"ann"})).ok());
  Sender sender(store, 4000, 20);
  ASSERT_TRUE(loop_.run_until([&] { return sender.acked().size() >= 300; }, kWaitLimit));
  ASSERT_TRUE(pg_test_cluster().stop(PgCluster::StopMode::fast).ok());
  // Down: calls fail with `unavailable` within the bound, and health says
  // which server is missing.
  ASSERT_TRUE(loop_.run_until([&] { return sender.unavailable() >= 5; }, std::chrono::seconds(20)));
  const Status down = store.health();
  EXPECT_EQ(down.code(), StatusCode::unavailable);
  EXPECT_THAT(down.message(), HasSubstr("127.0.0.1:" + std::to_string(pg_test_cluster().port())));
  EXPECT_LE(sender.longest_unavailable_s(), bound_s(o));
  ASSERT_TRUE(pg_test_cluster().start_again().ok());
  // Up again: nobody reopens anything.
  ASSERT_TRUE(loop_.run_until([&] { return sender.finished(); }, std::chrono::seconds(60)));
  EXPECT_TRUE(loop_.run_until([&] { return back_up(); }, std::chrono::seconds(10)));
  EXPECT_TRUE(store.health().ok());
  EXPECT_EQ(sender.other_errors(), 0);
  expect_everything_acked_is_stored(loop_, store, sender);
}

TEST_F(PostgresStore, ImmediateRestartDuringAckedWritesLosesNothingAcked) {
  const PostgresStoreOptions o = fault_options();
  Store& store = open(o);
  ASSERT_TRUE(SyncStore(loop_, store).create_room(make_room("r1", {"ann"})).ok());
  Sender sender(store, 6000, 200);
  for (int round = 0; round < 3; ++round) {
    const std::size_t before = sender.acked().size();
    ASSERT_TRUE(loop_.run_until([&] { return sender.acked().size() >= before + 500; }, kWaitLimit));
    // pg_ctl restart -m immediate: SIGQUIT (every server process exits at
    // once, no checkpoint), then a start that recovers from the WAL.
    ASSERT_TRUE(pg_test_cluster().stop(PgCluster::StopMode::immediate).ok());
    ASSERT_TRUE(pg_test_cluster().start_again().ok());
  }
  ASSERT_TRUE(loop_.run_until([&] { return sender.finished(); }, std::chrono::seconds(90)));
  EXPECT_EQ(sender.other_errors(), 0);
  expect_everything_acked_is_stored(loop_, store, sender);
}

TEST_F(PostgresStore, FrozenServerAnswersUnavailableWithinTheBoundAndRecovers) {
  const PostgresStoreOptions o = fault_options();
  Store& store = open(o);
  SyncStore s(loop_, store);
  ASSERT_TRUE(s.create_room(make_room("r1", {"ann"})).ok());
  ASSERT_TRUE(s.history("r1", {}).ok());
  pg_test_cluster().pause();
  const auto t = Clock::now();
  EXPECT_EQ(s.append(make_msg("r1", "ann", "into the void")).status().code(), StatusCode::unavailable);
  EXPECT_EQ(s.history("r1", {}).status().code(), StatusCode::unavailable);
  EXPECT_LE(seconds_since(t), 2 * bound_s(o));
  pg_test_cluster().resume();
  ASSERT_TRUE(loop_.run_until([&] { return back_up(); }, std::chrono::seconds(20)));
  auto after = s.append(make_msg("r1", "ann", "back"));
  ASSERT_TRUE(after.ok()) << after.status().to_string();
  // The frozen append may or may not have committed; nothing else did.
  EXPECT_LE(after->message.seq, 2);
  EXPECT_EQ(s.history("r1", {})->messages.back().text, "back");
}

}  // namespace
}  // namespace realtime::testing
