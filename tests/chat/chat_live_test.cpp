// Typing, signalling relay, sessions, rate limits and bad input through
// real sockets.
#include <algorithm>
#include <optional>
#include <stdexcept>

#include "chat_test_util.h"

namespace realtime::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

using LiveTest = RoomOfTwoTest;

TEST_F(LiveTest, TypingGoesToOthersOnChangeAndExpiresAfterSixSeconds) {
  auto ann_tab2 = connect("ann");
  ann_tab2->call("room:join", Json::object({{"room", room}}));
  bob->clear();
  ann->clear();
  EXPECT_EQ(ann->call("typing", Json::object({{"room", room}, {"typing", true}}))["ok"], Json(true));
  auto t = bob->take("typing");
  ASSERT_EQ(t.size(), 1u);
  EXPECT_EQ(t[0].dump(), R"({"room":")" + room + R"(","userId":"ann","name":"Ann","role":"owner","typing":true})");
  EXPECT_EQ(ann_tab2->take("typing").size(), 1u) << "the typist's other tabs hear it too";
  EXPECT_TRUE(ann->take("typing").empty()) << "not echoed to the typist's socket";

  transport_.advance(seconds(5));
  ann->call("typing", Json::object({{"room", room}, {"typing", true}}));
  EXPECT_TRUE(bob->take("typing").empty()) << "a refresh is not a change";
  transport_.advance(seconds(5));
  EXPECT_TRUE(bob->take("typing").empty()) << "the refresh restarted the 6 s timer";
  transport_.advance(seconds(1) + milliseconds(1));
  auto stop = bob->take("typing");
  ASSERT_EQ(stop.size(), 1u);
  EXPECT_EQ(stop[0]["typing"], Json(false));
}

TEST_F(LiveTest, TypingCarriesTheRoomRoleOrTheJwtRoleOfANonMemberAdmin) {
  auto root = connect("root", "admin");
  ASSERT_EQ(root->call("room:join", Json::object({{"room", room}}))["ok"], Json(true));
  bob->clear();
  bob->call("typing", Json::object({{"room", room}, {"typing", true}}));
  root->call("typing", Json::object({{"room", room}, {"typing", true}}));
  auto seen_by_ann = ann->take("typing");
  ASSERT_EQ(seen_by_ann.size(), 2u);
  EXPECT_EQ(seen_by_ann[0]["role"], Json("member"));
  EXPECT_EQ(seen_by_ann[1]["role"], Json("admin"));
  // The stop the server sends itself carries the role too.
  transport_.advance(seconds(7));
  auto stops = ann->take("typing");
  ASSERT_EQ(stops.size(), 2u);
  for (const auto& s : stops) {
    EXPECT_EQ(s["typing"], Json(false));
    EXPECT_EQ(s["role"], Json(s["userId"] == Json("root") ? "admin" : "member")) << s.dump();
  }
}

TEST_F(LiveTest, TypingStopsWhenTheTypistLeavesAndNeedsAJoinedSocket) {
  ann->call("typing", Json::object({{"room", room}, {"typing", true}}));
  bob->clear();
  ann->call("room:leave", Json::object({{"room", room}}));
  auto t = bob->take("typing");
  ASSERT_EQ(t.size(), 1u);
  EXPECT_EQ(t[0]["typing"], Json(false));
  EXPECT_EQ(code(ann->call("typing", Json::object({{"room", room}, {"typing", true}}))), "forbidden");
  EXPECT_EQ(code(bob->call("typing", Json::object({{"room", room}}))), "bad_request");
}

TEST_F(LiveTest, RtcSignallingIsRelayedToThePeerSid) {
  Json offer = ann->call("rtc:offer", Json::object({{"room", room}, {"to", bob->sid},
                                                    {"sdp", Json::object({{"type", "offer"}, {"sdp", "v=0..."}})}}));
  ASSERT_EQ(offer["ok"], Json(true)) << offer.dump();
  auto got = bob->take("rtc:offer");
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0]["from"], Json(ann->sid));
  EXPECT_EQ(got[0]["sdp"]["sdp"], Json("v=0..."));
  EXPECT_EQ(bob->call("rtc:answer", Json::object({{"room", room}, {"to", ann->sid}, {"sdp", "answer"}}))["ok"], Json(true));
  EXPECT_EQ(ann->take("rtc:answer").size(), 1u);
  EXPECT_EQ(bob->call("rtc:ice", Json::object({{"room", room}, {"to", ann->sid}, {"candidate", nullptr}}))["ok"], Json(true));
  auto ice = ann->take("rtc:ice");
  ASSERT_EQ(ice.size(), 1u);
  EXPECT_TRUE(ice[0].find("candidate") && ice[0]["candidate"].is_null()) << "end of candidates is relayed";

  EXPECT_EQ(code(ann->call("rtc:offer", Json::object({{"room", room}, {"to", "nobody"}, {"sdp", "x"}}))), "peer_not_found");
  EXPECT_EQ(code(ann->call("rtc:offer", Json::object({{"room", room}, {"to", bob->sid}}))), "bad_request");
  EXPECT_EQ(code(ann->call("rtc:ice", Json::object({{"room", room}, {"to", bob->sid}}))), "bad_request");
  auto eve = connect("eve");
  EXPECT_EQ(code(eve->call("rtc:offer", Json::object({{"room", room}, {"to", bob->sid}, {"sdp", "x"}}))), "forbidden");
  // A peer outside the room is not reachable through it.
  const std::string other = create_room(*ann, "group", Json::array({"eve"}));
  eve->call("room:join", Json::object({{"room", other}}));
  EXPECT_EQ(code(ann->call("rtc:offer", Json::object({{"room", room}, {"to", eve->sid}, {"sdp", "x"}}))), "peer_not_found");
}

TEST_F(LiveTest, RateLimitDropsTheEventAndKeepsTheConnection) {
  transport_.advance(seconds(10));  // refill what SetUp spent
  int limited = 0;
  for (int i = 0; i < 45; ++i) {
    Json ack = ann->call("message:send", Json::object({{"room", room}, {"text", "spam"}}));
    if (code(ack) == "rate_limited") ++limited;
  }
  EXPECT_EQ(limited, 5) << "burst of 40, then refused (time does not move)";
  EXPECT_TRUE(ann->is_open());
  transport_.advance(seconds(1));
  EXPECT_EQ(ann->call("message:send", Json::object({{"room", room}, {"text", "later"}}))["ok"], Json(true));
}

TEST_F(LiveTest, BadInputGetsErrorsWithoutDisconnecting) {
  EXPECT_EQ(code(ann->call("no:such:event", Json::object())), "bad_request");
  EXPECT_EQ(code(ann->call("message:send", Json("not an object"))), "bad_request");
  EXPECT_EQ(code(ann->call("message:send", Json::object({{"room", 42}, {"text", "x"}}))), "bad_request");
  EXPECT_EQ(code(ann->call("message:send", Json::object({{"room", "bad room!"}, {"text", "x"}}))), "bad_request");
  EXPECT_EQ(code(ann->call("message:send", Json::object({{"room", room}, {"text", Json::array()}}))), "bad_request");
  EXPECT_EQ(code(ann->call("message:send", Json::object({{"room", room}}))), "bad_request");
  EXPECT_EQ(code(ann->call("room:join", Json::object({{"room", room}, {"afterSeq", -1}}))), "bad_request");
  EXPECT_EQ(code(ann->call("message:edit", Json::object({{"id", 7}, {"text", "x"}}))), "bad_request");
  EXPECT_EQ(code(ann->call("message:read", Json::object({{"room", room}, {"seq", "1"}}))), "bad_request");
  // A lone surrogate, as JavaScript can send it: refused, socket kept.
  Json lone = ann->raw_call(R"(2999["message:send",{"room":")" + room + R"(","text":"bad \ud800"}])", 999);
  EXPECT_EQ(code(lone), "bad_request") << lone.dump();
  EXPECT_TRUE(ann->is_open());
  EXPECT_EQ(ann->call("message:history", Json::object({{"room", room}}))["messages"].size(), 0u)
      << "nothing was stored";
  EXPECT_TRUE(ann->is_open());
  // Without an ack, a failure comes back as an `error` event naming the event.
  ann->emit("message:send", Json::object({{"room", room}}));
  auto errors = ann->take("error");
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0]["code"], Json("bad_request"));
  EXPECT_EQ(errors[0]["event"], Json("message:send"));
  EXPECT_EQ(ann->call("message:send", Json::object({{"room", room}, {"text", "still fine"}}))["ok"], Json(true));
}

TEST_F(LiveTest, EmbedderEventsAndMessageFilter) {
  chat_.add_event("poll:vote", [](const Actor& who, const Json& p, ChatService::Reply reply) {
    reply(Json::object({{"voter", who.identity.user_id}, {"choice", p["choice"]}}));
  });
  Json vote = bob->call("poll:vote", Json::object({{"choice", 2}}));
  EXPECT_EQ(vote["voter"], Json("bob"));
  EXPECT_EQ(vote["choice"], Json(2));
  chat_.set_message_filter([](const Identity&, NewMessage& m) {
    if (m.text.find("forbidden word") != std::string::npos) return Status::forbidden("moderated");
    m.text += " (checked)";
    return Status{};
  });
  EXPECT_EQ(code(ann->call("message:send", Json::object({{"room", room}, {"text", "a forbidden word"}}))), "forbidden");
  EXPECT_EQ(ann->call("message:send", Json::object({{"room", room}, {"text", "ok"}}))["message"]["text"], Json("ok (checked)"));
}

// emit_to_room reaches the sockets that joined the room, and no one else:
// not a member who has not joined, not another room's sockets.
TEST_F(LiveTest, EmitToRoomReachesTheSocketsThatJoinedTheRoom) {
  auto carol = connect("carol");
  auto ann_idle_tab = connect("ann");  // connected, never joined
  ann->clear();
  bob->clear();
  chat_.add_event("poll:open", [this](const Actor& who, const Json& p, ChatService::Reply reply) {
    const std::size_t n = chat_.emit_to_room(p["room"].as_string(), "poll:opened",
                                             Json::object({{"by", who.identity.user_id}}));
    reply(Json::object({{"sockets", n}}));
  });
  Json opened = bob->call("poll:open", Json::object({{"room", room}}));
  EXPECT_EQ(opened["sockets"], Json(2)) << opened.dump();
  auto ann_got = ann->take("poll:opened");
  ASSERT_EQ(ann_got.size(), 1u);
  EXPECT_EQ(ann_got[0]["by"], Json("bob"));
  EXPECT_EQ(bob->take("poll:opened").size(), 1u);
  EXPECT_TRUE(carol->take("poll:opened").empty());
  EXPECT_TRUE(ann_idle_tab->take("poll:opened").empty());
  EXPECT_EQ(chat_.emit_to_room("no-such-room", "poll:opened", Json()), 0u);
  EXPECT_EQ(chat_.emit_to_room(room, "poll:tick", Json(1), /*droppable=*/true), 2u);
}

// An embedder's callback that throws is answered `internal` at the chat
// layer; before, the exception unwound through the Socket.IO server into
// the transport's loop.
TEST_F(LiveTest, EmbedderCallbacksThatThrowAnswerInternal) {
  chat_.add_event("poll:boom", [](const Actor&, const Json&, ChatService::Reply) -> void {
    throw std::runtime_error("embedder bug");
  });
  chat_.add_event("poll:twice", [](const Actor&, const Json&, ChatService::Reply reply) -> void {
    reply(Json::object({{"first", true}}));
    throw std::runtime_error("after answering");
  });
  EXPECT_EQ(code(bob->call("poll:boom", Json::object())), "internal");
  Json twice = bob->call("poll:twice", Json::object());
  EXPECT_EQ(twice["first"], Json(true));
  EXPECT_TRUE(bob->take("error").empty());

  int answers = 0;
  std::optional<Status> answered;
  chat_.call(Actor{Identity{"bob", "Bob", ""}, false}, "poll:boom", Json::object(), [&](Result<Json> r) {
    ++answers;
    answered = r.status();
  });
  transport_.run_until_idle();
  EXPECT_EQ(answers, 1);
  ASSERT_TRUE(answered.has_value());
  EXPECT_EQ(answered->code(), StatusCode::internal);

  chat_.set_message_filter([](const Identity&, NewMessage&) -> Status { throw std::runtime_error("filter bug"); });
  EXPECT_EQ(code(ann->call("message:send", Json::object({{"room", room}, {"text", "x"}}))), "internal");
  chat_.set_message_filter(nullptr);
  Json sent = ann->call("message:send", Json::object({{"room", room}, {"text", "after"}}));
  EXPECT_EQ(sent["ok"], Json(true));
  EXPECT_EQ(sent["message"]["seq"], Json(1));  // the refused one was not stored
  EXPECT_EQ(bob->call("poll:boom", Json::object())["ok"], Json(false));  // bob's socket still serves
}

// Sockets whose send queue is backed up (past half of a 64 KiB cap here):
// typing and presence are volatile and skip them; messages still queue.
class BackpressureTest : public ChatTest {
 protected:
  BackpressureTest() : ChatTest({}, InProcessTransport::Options{64 * 1024}) {}
  void SetUp() override {
    ann = connect("ann");
    bob = connect("bob");
    cy = connect("cy");
    room = create_room(*ann, "group", Json::array({"bob", "cy"}));
    for (auto* c : {ann.get(), bob.get(), cy.get()}) c->call("room:join", Json::object({{"room", room}}));
    for (auto* c : {ann.get(), bob.get(), cy.get()}) c->clear();
  }
  // Messages that Bob does not read: ann and cy read theirs (call pumps the
  // caller, cy->clear() pumps cy), Bob's inbox only grows.
  void back_up_bob() {
    for (int i = 0; i < 10; ++i) {
      ASSERT_EQ(ann->call("message:send", Json::object({{"room", room}, {"text", std::string(4000, 'x')}}))["ok"], Json(true));
      cy->clear();
    }
    ASSERT_TRUE(bob->is_open()) << "40 KB is over the soft limit, under the cap";
  }
  std::unique_ptr<ChatClient> ann, bob, cy;
  std::string room;
};

TEST_F(BackpressureTest, TypingAndPresenceSkipABackedUpSocketWhileMessagesStillQueue) {
  back_up_bob();
  ann->call("typing", Json::object({{"room", room}, {"typing", true}}));
  auto dan = connect("dan", "admin");
  dan->call("room:join", Json::object({{"room", room}}));
  ann->call("message:send", Json::object({{"room", room}, {"text", "must arrive"}}));
  EXPECT_EQ(cy->take("typing").size(), 1u) << "a socket keeping up gets typing";
  EXPECT_EQ(cy->take("presence:join").size(), 1u) << "and presence";
  auto names = bob->names();
  EXPECT_EQ(std::count(names.begin(), names.end(), "typing"), 0) << "skipped while backed up";
  EXPECT_EQ(std::count(names.begin(), names.end(), "presence:join"), 0);
  EXPECT_EQ(std::count(names.begin(), names.end(), "message:new"), 11) << "messages are never skipped";
  EXPECT_TRUE(bob->is_open());
  // Once Bob has read his queue, volatile events reach him again.
  bob->clear();
  ann->call("typing", Json::object({{"room", room}, {"typing", false}}));
  EXPECT_EQ(bob->take("typing").size(), 1u);
}

class SessionTest : public ChatTest {
 protected:
  SessionTest() : ChatTest([] { ChatOptions o; o.session_max = std::chrono::minutes(60); return o; }()) {}
};

TEST_F(SessionTest, JoinTokenLifecycleAndEnd) {
  auto tutor = connect("tutor");
  auto student = connect("student");
  Json created = tutor->call("room:create", Json::object({{"kind", "session"}, {"title", "Algebra"}, {"members", Json::array()}}));
  ASSERT_EQ(created["ok"], Json(true)) << created.dump();
  const std::string room = created["room"]["id"].as_string();
  const std::string token = created["joinToken"].as_string();
  EXPECT_EQ(token.size(), 43u);
  EXPECT_EQ(created["room"]["status"], Json("scheduled"));

  EXPECT_EQ(code(student->call("room:join", Json::object({{"room", room}}))), "forbidden");
  EXPECT_EQ(code(student->call("room:join", Json::object({{"room", room}, {"joinToken", "wrong"}}))), "forbidden");
  clock_.advance(seconds(10));
  Json t = tutor->call("room:join", Json::object({{"room", room}}));
  EXPECT_EQ(t["room"]["status"], Json("active"));
  EXPECT_EQ(t["room"]["startedAt"], Json(format_iso8601(clock_.now())));
  tutor->clear();
  Json s = student->call("room:join", Json::object({{"room", room}, {"joinToken", token}}));
  ASSERT_EQ(s["ok"], Json(true)) << s.dump();
  EXPECT_EQ(s["room"]["members"].size(), 2u) << "the token made the student a member";
  auto sys = tutor->take("message:new");
  ASSERT_EQ(sys.size(), 1u);
  EXPECT_EQ(sys[0]["message"]["text"], Json("Student joined"));
  auto state = tutor->take("session:state");
  ASSERT_EQ(state.size(), 1u);
  EXPECT_EQ(state[0]["participants"].size(), 2u);

  clock_.advance(seconds(90));
  student->clear();
  Json ended = student->call("session:end", Json::object({{"room", room}}));
  ASSERT_EQ(ended["ok"], Json(true)) << ended.dump();
  auto over = tutor->take("session:ended");
  ASSERT_EQ(over.size(), 1u);
  EXPECT_EQ(over[0]["durationSec"], Json(90));
  EXPECT_EQ(code(student->call("message:send", Json::object({{"room", room}, {"text", "x"}}))), "room_ended");
  EXPECT_EQ(code(tutor->call("room:join", Json::object({{"room", room}}))), "room_ended");
  EXPECT_EQ(code(tutor->call("typing", Json::object({{"room", room}, {"typing", true}}))), "room_ended");
  EXPECT_EQ(code(tutor->call("rtc:offer", Json::object({{"room", room}, {"to", student->sid}, {"sdp", "x"}}))), "room_ended");
  EXPECT_EQ(code(tutor->call("session:end", Json::object({{"room", room}}))), "room_ended");
  Json history = tutor->call("message:history", Json::object({{"room", room}}));
  EXPECT_EQ(history["ok"], Json(true)) << "history stays readable";
  const std::string group = create_room(*tutor, "group", Json::array());
  EXPECT_EQ(code(tutor->call("session:end", Json::object({{"room", group}}))), "bad_request");
}

TEST_F(SessionTest, SessionEndsByItselfAfterTheMaximum) {
  auto tutor = connect("tutor");
  const std::string room = create_room(*tutor, "session", Json::array());
  tutor->call("room:join", Json::object({{"room", room}}));
  clock_.advance(std::chrono::minutes(60));  // wall clock for the timestamps
  transport_.advance(std::chrono::minutes(60));  // loop time for the timer
  auto over = tutor->take("session:ended");
  ASSERT_EQ(over.size(), 1u);
  EXPECT_EQ(over[0]["durationSec"], Json(3600));
}

// A session started by an earlier chatd process: this one has never seen
// the room, so it has no timer for it. The end is due from startedAt.
class SessionFromBeforeARestartTest : public SessionTest {
 protected:
  void put_active_session(const std::string& id, std::chrono::minutes started_ago) {
    Room r;
    r.id = id;
    r.kind = RoomKind::session;
    r.status = RoomStatus::active;
    r.created_at = clock_.now() - started_ago;
    r.started_at = clock_.now() - started_ago;
    r.members = {Member{"tutor", "tutor"}};
    bool stored = false;
    store_->create_room(r, [&](Result<Room> created) { stored = created.ok(); });
    transport_.run_until_idle();
    ASSERT_TRUE(stored);
  }
};

TEST_F(SessionFromBeforeARestartTest, OverdueSessionEndsWhenFirstTouched) {
  put_active_session("old-session", std::chrono::minutes(61));
  auto tutor = connect("tutor");
  EXPECT_EQ(code(tutor->call("room:join", Json::object({{"room", "old-session"}}))), "room_ended");
  Json got = tutor->call("room:get", Json::object({{"room", "old-session"}}));
  ASSERT_EQ(got["ok"], Json(true)) << got.dump();
  EXPECT_EQ(got["room"]["status"], Json("ended"));
}

TEST_F(SessionFromBeforeARestartTest, RoomListShowsAnOverdueSessionEnded) {
  put_active_session("old-session", std::chrono::minutes(90));
  auto tutor = connect("tutor");
  Json list = tutor->call("rooms:list", Json::object());
  ASSERT_EQ(list["ok"], Json(true)) << list.dump();
  ASSERT_EQ(list["rooms"].size(), 1u);
  EXPECT_EQ(list["rooms"].as_array()[0]["room"]["status"], Json("ended"));
}

TEST_F(SessionFromBeforeARestartTest, RunningSessionEndsAtItsOriginalDeadline) {
  put_active_session("running-session", std::chrono::minutes(30));
  auto tutor = connect("tutor");
  Json joined = tutor->call("room:join", Json::object({{"room", "running-session"}}));
  ASSERT_EQ(joined["ok"], Json(true)) << joined.dump();
  clock_.advance(std::chrono::minutes(29));
  transport_.advance(std::chrono::minutes(29));
  EXPECT_TRUE(tutor->take("session:ended").empty()) << "not yet: one minute left";
  clock_.advance(std::chrono::minutes(1));
  transport_.advance(std::chrono::minutes(1));
  auto over = tutor->take("session:ended");
  ASSERT_EQ(over.size(), 1u);
  EXPECT_EQ(over[0]["durationSec"], Json(3600));
}

}  // namespace
}  // namespace realtime::testing
