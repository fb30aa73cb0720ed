// Quotas and memory bounds of the chat service, each hit on purpose: rooms
// a user may create per period, members per create and per room, sockets
// per user, sends waiting in a socket's line; and the in-memory caches
// (rooms, names, lastSeen, joiners), which go back within their budgets
// once the rooms empty.
#include "chat_test_util.h"
#include "realtime/in_process_bus.h"

namespace realtime::testing {
namespace {

using std::chrono::minutes;

Result<Json> service_call(ChatService& chat, InProcessTransport& t, std::string_view event, Json payload) {
  Actor service;
  service.service = true;
  std::optional<Result<Json>> got;
  chat.call(service, event, payload, [&](Result<Json> r) { got = std::move(r); });
  t.run_until([&] { return got.has_value(); });
  return got ? std::move(*got) : Result<Json>(Status::internal("no answer"));
}

class QuotaTest : public ChatTest {
 protected:
  QuotaTest()
      : ChatTest([] {
          ChatOptions o;
          o.room_create_quota = 3;
          o.room_create_period = std::chrono::hours(1);
          o.max_members_per_create = 5;
          o.max_members_per_room = 6;
          o.max_sockets_per_user = 2;
          return o;
        }()) {}
  Json create(ChatClient& c, Json members = Json::array(), const std::string& kind = "group") {
    return c.call("room:create", Json::object({{"kind", kind}, {"members", std::move(members)}}));
  }
};

TEST_F(QuotaTest, RoomsAUserMayCreateRefillOverThePeriod) {
  auto ann = connect("ann");
  for (int i = 0; i < 3; ++i) ASSERT_EQ(create(*ann)["ok"], Json(true)) << i;
  EXPECT_EQ(code(create(*ann)), "rate_limited");
  EXPECT_TRUE(ann->is_open());
  auto bob = connect("bob");
  EXPECT_EQ(create(*bob)["ok"], Json(true)) << "the quota is per user";
  auto by_service = service_call(chat_, transport_, "room:create",
                                 Json::object({{"kind", "group"}, {"createdBy", "ann"}}));
  EXPECT_TRUE(by_service.ok()) << "service calls are not counted";
  // A direct room that already exists is found, not made: no quota needed.
  transport_.advance(minutes(20));  // a third of the period: one room back
  ASSERT_EQ(create(*ann, Json::array({"bob"}), "direct")["ok"], Json(true));
  Json found = bob->call("room:create", Json::object({{"kind", "direct"}, {"members", Json::array({"ann"})}}));
  EXPECT_EQ(found["existing"], Json(true));
  EXPECT_EQ(code(create(*ann)), "rate_limited");
}

TEST_F(QuotaTest, MembersPerCreateAndPerRoom) {
  auto ann = connect("ann");
  EXPECT_EQ(code(create(*ann, Json::array({"u1", "u2", "u3", "u4", "u5", "u6"}))), "payload_too_large");
  Json full = create(*ann, Json::array({"u1", "u2", "u3", "u4", "u5"}));
  ASSERT_EQ(full["ok"], Json(true)) << full.dump();
  EXPECT_EQ(full["room"]["members"].size(), 6u) << "five and the creator";
  const std::string room = full["room"]["id"].as_string();
  EXPECT_EQ(code(ann->call("member:add", Json::object({{"room", room}, {"userId", "u7"}}))), "forbidden");
  ASSERT_EQ(ann->call("member:remove", Json::object({{"room", room}, {"userId", "u5"}}))["ok"], Json(true));
  EXPECT_EQ(ann->call("member:add", Json::object({{"room", room}, {"userId", "u7"}}))["ok"], Json(true));
  // A join token does not let anyone past the limit either.
  Json session = ann->call("room:create", Json::object({{"kind", "session"},
                                                        {"members", Json::array({"u1", "u2", "u3", "u4", "u5"})}}));
  ASSERT_EQ(session["ok"], Json(true)) << session.dump();
  auto late = connect("late");
  EXPECT_EQ(code(late->call("room:join", Json::object({{"room", session["room"]["id"]}, {"joinToken", session["joinToken"]}}))),
            "forbidden");
}

TEST_F(QuotaTest, SocketsPerUserAreRefusedAtConnect) {
  auto a1 = connect("ann");
  auto a2 = connect("ann");
  ChatClient a3(transport_, auth_.sign({"ann", "Ann", "user"}, std::chrono::hours(1)));
  EXPECT_TRUE(a3.sid.empty());
  ASSERT_TRUE(a3.refused.has_value());
  EXPECT_EQ((*a3.refused)["message"], Json("rate_limited"));
  EXPECT_EQ((*a3.refused)["data"]["code"], Json("rate_limited"));
  auto bob = connect("bob");
  EXPECT_FALSE(bob->sid.empty()) << "per user";
  a1->close();
  auto again = connect("ann");
  EXPECT_FALSE(again->sid.empty()) << "a closed socket frees its place";
}

// Small budgets, so that a few dozen rooms are more than the cache holds.
class CacheBoundsTest : public ChatTest {
 protected:
  CacheBoundsTest()
      : ChatTest([] {
          ChatOptions o;
          o.room_cache_bytes = 64 * 1024;
          o.name_cache_bytes = 4 * 1024;
          o.room_create_quota = 0;
          o.message_rate = {1000, 1000};
          return o;
        }()) {}
};

TEST_F(CacheBoundsTest, RoomsNamesAndLastSeenGoBackWithinBoundsOnceRoomsEmpty) {
  auto ann = connect("ann");
  Json members = Json::array();
  for (int i = 0; i < 100; ++i) members.push("member-" + std::to_string(i));
  std::vector<std::string> rooms;
  for (int i = 0; i < 40; ++i) {  // ~40 x 15 KB of rooms: ten times the budget
    rooms.push_back(create_room(*ann, "group", members));
    ASSERT_LE(chat_.caches().rooms_idle_bytes, 64u * 1024) << "after room " << i;
  }
  // Rooms sockets are in stay whatever the budget...
  for (int i = 0; i < 8; ++i) ASSERT_EQ(ann->call("room:join", Json::object({{"room", rooms[i]}}))["ok"], Json(true));
  EXPECT_EQ(chat_.caches().rooms_pinned, 8u);
  // ...and go back to the budget when they empty.
  for (int i = 0; i < 8; ++i) ann->call("room:leave", Json::object({{"room", rooms[i]}}));
  transport_.run_until_idle();
  ChatCaches c = chat_.caches();
  EXPECT_EQ(c.rooms_pinned, 0u);
  EXPECT_LE(c.rooms_idle_bytes, 64u * 1024);
  EXPECT_LT(c.rooms_idle, 40u);
  EXPECT_EQ(c.last_seen, 0u) << "every lastSeen write has completed and no read is pending";
  EXPECT_EQ(c.joiners, 0u);
  // Evicted rooms still work: they are read again from the store.
  Json old = ann->call("room:join", Json::object({{"room", rooms[39 - 39]}, {"afterSeq", 0}}));
  ASSERT_EQ(old["ok"], Json(true)) << old.dump();
  EXPECT_EQ(old["room"]["members"].size(), 101u);
  ann->call("member:add", Json::object({{"room", rooms[1]}, {"userId", "late"}}));
  EXPECT_EQ(ann->call("room:get", Json::object({{"room", rooms[1]}}))["room"]["members"].size(), 102u);

  // Display names of many users: the least recently seen are forgotten.
  std::vector<std::unique_ptr<ChatClient>> visitors;
  for (int i = 0; i < 60; ++i) {
    visitors.push_back(connect("visitor-" + std::to_string(i)));
    visitors.back()->close();
    ASSERT_LE(chat_.caches().names_bytes, 4u * 1024);
  }
  EXPECT_LT(chat_.caches().names, 60u);
}

// A room read that a write overtakes (the SQLite store reads and writes on
// different threads) must not leave the older row in the cache.
TEST_F(CacheBoundsTest, ARoomReadOvertakenByAWriteDoesNotCacheTheOlderRow) {
  auto ann = connect("ann");
  std::vector<std::string> rooms;
  Json members = Json::array();
  for (int i = 0; i < 100; ++i) members.push("member-" + std::to_string(i));
  for (int i = 0; i < 10; ++i) rooms.push_back(create_room(*ann, "group", members));
  ASSERT_LT(chat_.caches().rooms_idle, 10u) << "the first rooms were pushed out";
  store_->hold_rooms = true;
  const auto get = ann->send_call("room:get", Json::object({{"room", rooms[0]}}));  // reads the row now
  transport_.run_until_idle();
  store_->hold_rooms = false;
  ASSERT_EQ(ann->call("member:add", Json::object({{"room", rooms[0]}, {"userId", "new"}}))["ok"], Json(true));
  store_->release_answers();  // the first read answers, with the row from before the write
  Json got = ann->wait_ack(get);
  ASSERT_EQ(got["ok"], Json(true)) << got.dump();
  Json now = ann->call("room:get", Json::object({{"room", rooms[0]}}));
  EXPECT_EQ(now["room"]["members"].size(), 102u) << "the cache holds the row the write made";
}

class RoomsPerSocketTest : public ChatTest {
 protected:
  RoomsPerSocketTest()
      : ChatTest([] {
          ChatOptions o;
          o.max_rooms_per_socket = 3;
          o.room_create_quota = 0;
          return o;
        }()) {}
  // Rooms of ann's that this service has not cached: made in the store
  // directly, as another chatd process (or a restart) would leave them.
  std::vector<std::string> stored_rooms(int n) {
    std::vector<std::string> ids;
    for (int i = 0; i < n; ++i) {
      Room r;
      r.id = "stored-" + std::to_string(i);
      r.kind = RoomKind::group;
      r.status = RoomStatus::active;
      r.created_at = clock_.now();
      r.members = {Member{"ann", "owner"}};
      bool done = false;
      store_->create_room(r, [&](Result<Room> made) {
        EXPECT_TRUE(made.ok());
        done = true;
      });
      transport_.run_until([&] { return done; });
      ids.push_back(r.id);
    }
    return ids;
  }
  Json join(ChatClient& c, const std::string& room) { return c.call("room:join", Json::object({{"room", room}})); }
};

TEST_F(RoomsPerSocketTest, ASocketJoinsAtMostTheLimit) {
  auto ann = connect("ann");
  const auto rooms = stored_rooms(4);
  for (int i = 0; i < 3; ++i) ASSERT_EQ(join(*ann, rooms[i])["ok"], Json(true)) << i;
  Json refused = join(*ann, rooms[3]);
  EXPECT_EQ(code(refused), "bad_request");
  EXPECT_EQ(refused["error"]["message"], Json("this socket has joined too many rooms"));
  EXPECT_EQ(join(*ann, rooms[0])["ok"], Json(true)) << "joining a joined room again takes no place";
  ASSERT_EQ(ann->call("room:leave", Json::object({{"room", rooms[0]}}))["ok"], Json(true));
  EXPECT_EQ(join(*ann, rooms[3])["ok"], Json(true)) << "leaving frees a place";
}

// Joins whose room reads are all in flight at once (uncached rooms, a slow
// store) were each checked against the rooms joined before any of them
// completed: a socket could pass the limit by as many as it sent.
TEST_F(RoomsPerSocketTest, JoinsInFlightAtOnceStayWithinTheLimit) {
  auto ann = connect("ann");
  const auto rooms = stored_rooms(6);
  store_->hold_rooms = true;
  std::vector<std::uint64_t> acks;
  for (const auto& r : rooms) acks.push_back(ann->send_call("room:join", Json::object({{"room", r}})));
  transport_.run_until_idle();
  store_->hold_rooms = false;
  store_->release_answers();
  int joined = 0, refused = 0;
  for (auto id : acks) {
    Json ack = ann->wait_ack(id);
    if (ack["ok"] == Json(true)) ++joined;
    else if (ack["error"]["message"] == Json("this socket has joined too many rooms")) ++refused;
    else ADD_FAILURE() << ack.dump();
  }
  EXPECT_EQ(joined, 3);
  EXPECT_EQ(refused, 3);
}

// Holds back every message whose text is "hold" until release(), as
// chatd's attachments do while they record a file's reference.
class HoldingObserver : public MessageObserver {
 public:
  void before_store(const NewMessage& m, std::function<void(Status)> proceed) override {
    if (m.text != "hold") return proceed({});
    held_.push_back(std::move(proceed));
  }
  void release() {
    auto held = std::move(held_);
    for (auto& p : held) p({});
  }
  std::size_t held() const { return held_.size(); }

 private:
  std::vector<std::function<void(Status)>> held_;
};

ChatOptions line_options(std::size_t max_waiting, double burst) {
  ChatOptions o;
  o.max_waiting_sends = max_waiting;
  o.message_rate = {20, burst};
  return o;
}

// Two sends may wait, and the message burst is 2 as well: the clock moves
// on 100 ms (2 tokens) before each send, so the bucket is full every time
// and what a test meets is the line's bound, as under a stalled store.
class SendLineTest : public ChatTest {
 protected:
  explicit SendLineTest(ChatOptions options = line_options(2, 2)) : ChatTest(std::move(options)) {
    chat_.set_message_observer(&observer_);
  }
  std::uint64_t send(ChatClient& c, const std::string& room, const std::string& text) {
    transport_.advance(std::chrono::milliseconds(100));
    return c.send_call("message:send", Json::object({{"room", room}, {"text", text}}));
  }
  HoldingObserver observer_;
};

// A send held before the store (the observer, a room or moderation read)
// no longer lets the socket's later sends overtake it: seqs follow the
// order sent. Another socket's sends do not wait for it.
TEST_F(SendLineTest, ASocketsMessagesAreStoredInTheOrderItSentThem) {
  auto ann = connect("ann");
  auto bob = connect("bob");
  const std::string room = create_room(*ann, "group", Json::array({"bob"}));
  std::vector<std::uint64_t> acks{send(*ann, room, "hold"), send(*ann, room, "second"), send(*ann, room, "third")};
  transport_.run_until_idle();
  ASSERT_EQ(observer_.held(), 1u);
  EXPECT_EQ(chat_.caches().waiting_sends, 2u);
  Json other = bob->call("message:send", Json::object({{"room", room}, {"text", "bob's"}}));
  ASSERT_EQ(other["ok"], Json(true)) << "bob's socket has its own line: " << other.dump();
  const auto first = other["message"]["seq"].as_int() + 1;
  observer_.release();
  std::vector<std::string> order;
  for (auto id : acks) {
    Json ack = ann->wait_ack(id);
    ASSERT_EQ(ack["ok"], Json(true)) << ack.dump();
    order.push_back(std::to_string(ack["message"]["seq"].as_int() - first) + " " + ack["message"]["text"].as_string());
  }
  EXPECT_EQ(order, (std::vector<std::string>{"0 hold", "1 second", "2 third"}));
  EXPECT_EQ(chat_.caches().waiting_sends, 0u);
}

TEST_F(SendLineTest, PastTheBoundASendIsRateLimitedAndTheLineGoesOn) {
  auto ann = connect("ann");
  const std::string room = create_room(*ann, "group", Json::array());
  // The head held; two wait, one of them bound to fail its checks.
  std::vector<std::uint64_t> acks{send(*ann, room, "hold"), send(*ann, room, "two"), send(*ann, "nowhere", "x")};
  Json refused = ann->wait_ack(send(*ann, room, "four"));
  EXPECT_EQ(code(refused), "rate_limited");
  EXPECT_EQ(refused["error"]["message"], Json("too many messages waiting to be stored; slow down"));
  observer_.release();
  const Json head = ann->wait_ack(acks[0]);
  ASSERT_EQ(head["ok"], Json(true)) << head.dump();
  const auto seq = head["message"]["seq"].as_int();
  EXPECT_EQ(ann->wait_ack(acks[1])["message"]["seq"], Json(seq + 1));
  EXPECT_NE(code(ann->wait_ack(acks[2])), "<none>") << "refused, and the turn passed on";
  EXPECT_EQ(ann->wait_ack(send(*ann, room, "five"))["message"]["seq"], Json(seq + 2));
  EXPECT_EQ(chat_.caches().waiting_sends, 0u);
}

// An operator who raises the burst past max_waiting_sends lets a socket
// have that many waiting: none of them is refused; one more is.
class BurstLineTest : public SendLineTest {
 protected:
  BurstLineTest() : SendLineTest(line_options(2, 6)) {}
};

TEST_F(BurstLineTest, ASocketWithinItsBurstIsNeverRefusedForWaiting) {
  auto ann = connect("ann");
  const std::string room = create_room(*ann, "group", Json::array());
  std::vector<std::uint64_t> acks;
  for (const char* text : {"hold", "2", "3", "4", "5", "6", "7"}) acks.push_back(send(*ann, room, text));
  transport_.run_until_idle();
  EXPECT_EQ(chat_.caches().waiting_sends, 6u);
  Json refused = ann->wait_ack(send(*ann, room, "8"));
  EXPECT_EQ(refused["error"]["message"], Json("too many messages waiting to be stored; slow down")) << refused.dump();
  observer_.release();
  for (auto id : acks) {
    const Json ack = ann->wait_ack(id);
    EXPECT_EQ(ack["ok"], Json(true)) << ack.dump();
  }
}

// In a cluster a send refused on a cached room runs again on the stored
// one. That second run keeps the socket's turn: the send after it waits,
// though by then the room in the cache says the sender may write.
// The bus outlives the service, which leaves the cluster when destroyed.
struct BusFirst {
  InProcessBus bus;
};
class ClusterSendLineTest : public BusFirst, public SendLineTest {
 protected:
  void SetUp() override {
    ClusterOptions node;
    node.node_id = "a";
    chat_.join_cluster(bus, node);
    transport_.run_until_idle();
  }
};

TEST_F(ClusterSendLineTest, ASendRunAgainOnTheStoredRoomKeepsItsTurn) {
  auto ann = connect("ann");
  auto bob = connect("bob");
  const std::string room = create_room(*bob, "group", Json::array());
  // Another node adds Ann; this node's cached room has not heard of it.
  bool added = false;
  store_->add_member(room, Member{"ann", "member"}, [&](Result<Room> r) { added = r.ok(); });
  transport_.run_until_idle();
  ASSERT_TRUE(added);
  std::vector<std::uint64_t> acks{send(*ann, room, "hold"), send(*ann, room, "second")};
  transport_.run_until_idle();
  ASSERT_EQ(observer_.held(), 1u) << "the first send, run again on the stored room, is held";
  EXPECT_EQ(chat_.caches().waiting_sends, 1u) << "the second waits for it";
  observer_.release();
  const Json first = ann->wait_ack(acks[0]);
  const Json second = ann->wait_ack(acks[1]);
  ASSERT_EQ(first["ok"], Json(true)) << first.dump();
  ASSERT_EQ(second["ok"], Json(true)) << second.dump();
  EXPECT_EQ(second["message"]["seq"].as_int(), first["message"]["seq"].as_int() + 1);
  EXPECT_EQ(chat_.caches().waiting_sends, 0u);
}

}  // namespace
}  // namespace realtime::testing
