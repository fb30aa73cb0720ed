// Answers bigger than a connection can take at once: the replay of
// room:join with afterSeq stops at ChatOptions::max_answer_bytes or as soon
// as the socket's connection is backed up, and says where (replayLast-
// Seq); history, search and rooms:list pages are cut to the same budget on
// the side that keeps their cursors working. Through real sockets on the
// in-process transport.
#include <set>

#include "chat_test_util.h"

namespace realtime::testing {
namespace {

const std::string kLong(4000, 'x');  // ~4.3 KB as a message:new

std::vector<std::int64_t> seqs_of(const std::vector<Json>& events) {
  std::vector<std::int64_t> out;
  for (const auto& e : events) out.push_back(e["message"]["seq"].as_int());
  return out;
}
std::vector<std::int64_t> seqs_of_page(const Json& ack) {
  std::vector<std::int64_t> out;
  for (const auto& m : ack["messages"].as_array()) out.push_back(m["seq"].as_int());
  return out;
}
std::vector<std::int64_t> range(std::int64_t from, std::int64_t to) {
  std::vector<std::int64_t> out;
  for (auto i = from; i <= to; ++i) out.push_back(i);
  return out;
}

// 20 KB per answer: about four long messages.
class AnswerBudgetTest : public ChatTest {
 protected:
  AnswerBudgetTest() : ChatTest([] { ChatOptions o; o.max_answer_bytes = 20'000; o.message_rate = {1000, 1000}; return o; }()) {}
  void SetUp() override {
    ann = connect("ann");
    room = create_room(*ann, "group", Json::array({"bob"}));
  }
  void fill(int n, const std::string& text = kLong) {
    for (int i = 0; i < n; ++i)
      ASSERT_EQ(ann->call("message:send", Json::object({{"room", room}, {"text", text}}))["ok"], Json(true));
    ann->clear();
  }
  std::unique_ptr<ChatClient> ann;
  std::string room;
};

TEST_F(AnswerBudgetTest, ReplayStopsAtTheBudgetAndNamesTheLastSeqItSent) {
  fill(10);
  auto bob = connect("bob");
  Json ack = bob->call("room:join", Json::object({{"room", room}, {"afterSeq", 0}}));
  ASSERT_EQ(ack["ok"], Json(true)) << ack.dump();
  EXPECT_EQ(ack["replayTruncated"], Json(true));
  const auto replayed = seqs_of(bob->take("message:new"));
  ASSERT_GE(replayed.size(), 3u);
  ASSERT_LE(replayed.size(), 5u) << "about 20 KB of 4.3 KB messages";
  EXPECT_EQ(replayed, range(1, static_cast<std::int64_t>(replayed.size())));
  EXPECT_EQ(ack["replayLastSeq"], Json(replayed.back()));
  // The rest by history pages, each within the budget, from replayLastSeq.
  std::vector<std::int64_t> rest;
  std::int64_t after = ack["replayLastSeq"].as_int();
  for (int pages = 0; pages < 20; ++pages) {
    Json page = bob->call("message:history", Json::object({{"room", room}, {"after", after}, {"limit", 200}}));
    ASSERT_EQ(page["ok"], Json(true)) << page.dump();
    auto got = seqs_of_page(page);
    ASSERT_FALSE(got.empty());
    EXPECT_LE(got.size(), 5u);
    rest.insert(rest.end(), got.begin(), got.end());
    after = got.back();
    if (page["hasMore"] == Json(false)) break;
  }
  EXPECT_EQ(rest, range(replayed.back() + 1, 10));
}

TEST_F(AnswerBudgetTest, AReplayThatFitsIsNotTruncatedAndStillNamesItsEnd) {
  fill(2);
  auto bob = connect("bob");
  Json ack = bob->call("room:join", Json::object({{"room", room}, {"afterSeq", 0}}));
  EXPECT_EQ(ack["replayTruncated"], Json(false));
  EXPECT_EQ(ack["replayLastSeq"], Json(2));
  Json plain = connect("bob")->call("room:join", Json::object({{"room", room}}));
  EXPECT_EQ(plain["replayTruncated"], Json(false));
  EXPECT_EQ(plain.find("replayLastSeq"), nullptr) << "only a replaying join says where it ended";
}

TEST_F(AnswerBudgetTest, HistoryPagesAreCutOnTheFarSideFromTheirCursor) {
  fill(10);
  auto bob = connect("bob");
  // No cursor and `before`: the newest messages stay; paging back with
  // before = first seq reaches every message once.
  std::vector<std::int64_t> back;
  Json page = bob->call("message:history", Json::object({{"room", room}, {"limit", 200}}));
  for (int pages = 0; pages < 20; ++pages) {
    auto got = seqs_of_page(page);
    ASSERT_FALSE(got.empty());
    back.insert(back.begin(), got.begin(), got.end());
    if (page["hasMore"] == Json(false)) break;
    page = bob->call("message:history", Json::object({{"room", room}, {"before", got.front()}, {"limit", 200}}));
  }
  EXPECT_EQ(back, range(1, 10));
  EXPECT_EQ(seqs_of_page(bob->call("message:history", Json::object({{"room", room}, {"limit", 200}}))).back(), 10)
      << "the newest page ends at the newest message";
  // Both cursors: the oldest of the window stay, hasMore says more are inside it.
  Json window = bob->call("message:history", Json::object({{"room", room}, {"after", 1}, {"before", 10}}));
  auto w = seqs_of_page(window);
  ASSERT_FALSE(w.empty());
  EXPECT_EQ(w.front(), 2);
  EXPECT_EQ(window["hasMore"], Json(true));
  // A single message over the budget still makes a page of one.
  std::string huge;
  for (int i = 0; i < 3990; ++i) huge += "\x01";  // 6 bytes each as JSON: 24 KB
  fill(1, "big " + huge);
  Json one = bob->call("message:history", Json::object({{"room", room}, {"limit", 5}}));
  EXPECT_EQ(seqs_of_page(one), (std::vector<std::int64_t>{11}));
  EXPECT_EQ(one["hasMore"], Json(true));
}

TEST_F(AnswerBudgetTest, SearchKeepsTheNewestMatchesWithinTheBudget) {
  fill(10, "needle " + kLong.substr(10));
  auto bob = connect("bob");
  Json found = bob->call("message:search", Json::object({{"room", room}, {"q", "needle"}, {"limit", 100}}));
  ASSERT_EQ(found["ok"], Json(true)) << found.dump();
  auto got = seqs_of_page(found);
  ASSERT_GE(got.size(), 3u);
  ASSERT_LE(got.size(), 5u);
  EXPECT_EQ(got.front(), 10) << "newest first";
}

TEST_F(AnswerBudgetTest, RoomsListPagesByBytesAndLimitWithACursor) {
  auto bob = connect("bob");
  std::vector<std::string> made{room};
  for (int i = 0; i < 11; ++i) {
    clock_.advance(std::chrono::seconds(1));
    made.push_back(create_room(*ann, "group", Json::array({"bob"})));
    ann->call("message:send", Json::object({{"room", made.back()}, {"text", kLong}}));
  }
  std::vector<std::string> seen;
  Json page = bob->call("rooms:list", Json::object());
  ASSERT_EQ(page["ok"], Json(true)) << page.dump();
  EXPECT_EQ(page["hasMore"], Json(true));
  for (int pages = 0; pages < 20; ++pages) {
    ASSERT_FALSE(page["rooms"].as_array().empty());
    EXPECT_LE(page["rooms"].size(), 5u);
    for (const auto& s : page["rooms"].as_array()) seen.push_back(s["room"]["id"].as_string());
    if (page["hasMore"] == Json(false)) {
      EXPECT_TRUE(page["nextCursor"].is_null());
      break;
    }
    page = bob->call("rooms:list", Json::object({{"cursor", page["nextCursor"]}}));
  }
  std::vector<std::string> newest_first(made.rbegin(), made.rend());
  EXPECT_EQ(seen, newest_first) << "every room once, newest activity first";
  Json two = bob->call("rooms:list", Json::object({{"limit", 2}}));
  EXPECT_EQ(two["rooms"].size(), 2u);
  EXPECT_EQ(two["hasMore"], Json(true));
  EXPECT_EQ(code(bob->call("rooms:list", Json::object({{"cursor", "not a cursor"}}))), "bad_request");
  EXPECT_EQ(code(bob->call("rooms:list", Json::object({{"cursor", "12.bad id!"}}))), "bad_request");
  EXPECT_EQ(code(bob->call("rooms:list", Json::object({{"limit", "ten"}}))), "bad_request");
  // A short list is one answer, as the contract's rooms:list {} always was.
  auto cy = connect("cy");
  create_room(*cy, "group", Json::array());
  Json small = cy->call("rooms:list", Json::object());
  EXPECT_EQ(small["rooms"].size(), 1u);
  EXPECT_EQ(small["hasMore"], Json(false));
  EXPECT_TRUE(small["nextCursor"].is_null());
}

// Live messages published while the replay is read are held for the
// joiner, but only up to the budget: past it the replay stops where the
// store's page ended and the client pages the rest.
TEST_F(AnswerBudgetTest, HeldLiveMessagesPastTheBudgetTruncateTheReplay) {
  fill(2);
  auto bob = connect("bob");
  store_->hold_history = true;
  const auto join = bob->send_call("room:join", Json::object({{"room", room}, {"afterSeq", 0}}));
  transport_.run_until_idle();
  fill(8);  // 35 KB published during the read
  store_->hold_history = false;
  store_->release_answers();
  Json ack = bob->wait_ack(join);
  ASSERT_EQ(ack["ok"], Json(true)) << ack.dump();
  EXPECT_EQ(ack["replayTruncated"], Json(true));
  EXPECT_EQ(ack["replayLastSeq"], Json(2));
  EXPECT_EQ(seqs_of(bob->take("message:new")), range(1, 2)) << "no held message after the gap";
}

// A socket that sends to a room while its own join's replay is being read
// gets its message once: held for the replay, not echoed to the sender as
// well (the soak saw the duplicate: a tab rejoining after a reconnect sent
// before its join was answered).
TEST_F(AnswerBudgetTest, ASendersOwnMessageDuringItsJoinArrivesOnce) {
  fill(2, "short");
  auto bob = connect("bob");
  store_->hold_history = true;
  const auto join = bob->send_call("room:join", Json::object({{"room", room}, {"afterSeq", 0}}));
  transport_.run_until_idle();
  ASSERT_EQ(bob->call("message:send", Json::object({{"room", room}, {"text", "mine"}}))["ok"], Json(true));
  store_->hold_history = false;
  store_->release_answers();
  Json ack = bob->wait_ack(join);
  ASSERT_EQ(ack["ok"], Json(true)) << ack.dump();
  EXPECT_EQ(seqs_of(bob->take("message:new")), range(1, 3)) << "seq 3 once";
}

// The replay also stops when the connection is backed up, whatever the
// budget: a 64 KiB queue, 130 KB of missed messages.
class ReplayBackpressureTest : public ChatTest {
 protected:
  ReplayBackpressureTest()
      : ChatTest([] { ChatOptions o; o.message_rate = {1000, 1000}; return o; }(), InProcessTransport::Options{64 * 1024}) {}
};

TEST_F(ReplayBackpressureTest, ReplayStopsWhenTheConnectionBacksUpAndTheSocketStays) {
  auto ann = connect("ann");
  const std::string room = create_room(*ann, "group", Json::array({"bob"}));
  for (int i = 0; i < 30; ++i) {
    ASSERT_EQ(ann->call("message:send", Json::object({{"room", room}, {"text", kLong}}))["ok"], Json(true));
    ann->clear();
  }
  auto bob = connect("bob");
  Json ack = bob->call("room:join", Json::object({{"room", room}, {"afterSeq", 0}}));
  ASSERT_EQ(ack["ok"], Json(true)) << ack.dump();
  EXPECT_TRUE(bob->is_open()) << "the server kept its client";
  EXPECT_EQ(ack["replayTruncated"], Json(true));
  const auto replayed = seqs_of(bob->take("message:new"));
  EXPECT_EQ(replayed, range(1, ack["replayLastSeq"].as_int()));
  EXPECT_LT(replayed.size(), 16u) << "stopped near the 32 KiB soft limit";
}

}  // namespace
}  // namespace realtime::testing
