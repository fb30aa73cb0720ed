// Session join tokens: what they grant (membership, once per user), that
// they expire after ChatOptions::join_token_ttl, and that session:token
// rotates them (owner, admin, service) so the old one stops working.
#include "chat_test_util.h"
#include "realtime/digest.h"
#include "realtime/base64.h"

namespace realtime::testing {
namespace {

using std::chrono::hours;
using std::chrono::minutes;

class SessionTokenTest : public ChatTest {
 protected:
  SessionTokenTest() : ChatTest([] { ChatOptions o; o.join_token_ttl = hours(1); return o; }()) {}
  void SetUp() override {
    tutor = connect("tutor");
    Json created = tutor->call("room:create", Json::object({{"kind", "session"}, {"members", Json::array({"assistant"})}}));
    ASSERT_EQ(created["ok"], Json(true)) << created.dump();
    room = created["room"]["id"].as_string();
    token = created["joinToken"].as_string();
    expires_at = created["joinTokenExpiresAt"];
  }
  Json join(ChatClient& c, const std::string& with_token) {
    return c.call("room:join", Json::object({{"room", room}, {"joinToken", with_token}}));
  }
  Result<Json> as_service(std::string_view event, Json payload) {
    Actor service;
    service.service = true;
    std::optional<Result<Json>> got;
    chat_.call(service, event, payload, [&](Result<Json> r) { got = std::move(r); });
    transport_.run_until([&] { return got.has_value(); });
    return got ? std::move(*got) : Result<Json>(Status::internal("no answer"));
  }
  std::unique_ptr<ChatClient> tutor;
  std::string room, token;
  Json expires_at;
};

TEST_F(SessionTokenTest, TokenLetsPeopleInUntilItExpires) {
  EXPECT_EQ(expires_at, Json(format_iso8601(clock_.now() + hours(1))));
  clock_.advance(minutes(59));
  auto early = connect("early");
  Json in = join(*early, token);
  ASSERT_EQ(in["ok"], Json(true)) << in.dump();
  clock_.advance(minutes(2));
  auto late = connect("late");
  EXPECT_EQ(code(join(*late, token)), "forbidden") << "expired";
  // Membership, once granted, does not expire with the token.
  early->call("room:leave", Json::object({{"room", room}}));
  EXPECT_EQ(early->call("room:join", Json::object({{"room", room}}))["ok"], Json(true));
}

TEST_F(SessionTokenTest, ATokenMakesEachUserAMemberOnce) {
  auto student = connect("student");
  ASSERT_EQ(join(*student, token)["ok"], Json(true));
  student->call("room:leave", Json::object({{"room", room}}));
  Json again = join(*student, token);
  ASSERT_EQ(again["ok"], Json(true)) << again.dump();
  EXPECT_EQ(again["room"]["members"].size(), 3u) << "tutor, assistant, student: no second entry";
  Json history = tutor->call("message:history", Json::object({{"room", room}}));
  ASSERT_EQ(history["messages"].size(), 1u) << "one \"Student joined\", not two: " << history.dump();
  EXPECT_EQ(history["messages"].as_array()[0]["text"], Json("Student joined"));
}

TEST_F(SessionTokenTest, OwnerRotatesTheTokenAndTheOldOneStopsWorking) {
  clock_.advance(minutes(50));
  Json rotated = tutor->call("session:token", Json::object({{"room", room}}));
  ASSERT_EQ(rotated["ok"], Json(true)) << rotated.dump();
  const std::string fresh = rotated["joinToken"].as_string();
  EXPECT_EQ(fresh.size(), 43u);
  EXPECT_NE(fresh, token);
  EXPECT_EQ(rotated["expiresAt"], Json(format_iso8601(clock_.now() + hours(1)))) << "a full TTL from now";
  auto student = connect("student");
  EXPECT_EQ(code(join(*student, token)), "forbidden") << "the old token is gone";
  clock_.advance(minutes(30));  // past the first token's expiry, within the new one's
  EXPECT_EQ(join(*student, fresh)["ok"], Json(true));

  // Who may rotate: the owner, admins and the service; not members, not outsiders.
  auto assistant = connect("assistant");
  EXPECT_EQ(code(assistant->call("session:token", Json::object({{"room", room}}))), "forbidden");
  auto outsider = connect("outsider");
  EXPECT_EQ(code(outsider->call("session:token", Json::object({{"room", room}}))), "forbidden");
  auto root = connect("root", "admin");
  EXPECT_EQ(root->call("session:token", Json::object({{"room", room}}))["ok"], Json(true));
  auto by_service = as_service("session:token", Json::object({{"room", room}}));
  ASSERT_TRUE(by_service.ok()) << by_service.status().to_string();
  EXPECT_EQ((*by_service)["joinToken"].as_string().size(), 43u);

  EXPECT_EQ(code(tutor->call("session:token", Json::object({{"room", "no-such-room"}}))), "not_found");
  EXPECT_EQ(code(tutor->call("session:token", Json::object())), "bad_request");
  const std::string group = create_room(*tutor, "group", Json::array());
  EXPECT_EQ(code(tutor->call("session:token", Json::object({{"room", group}}))), "bad_request");
  ASSERT_EQ(tutor->call("session:end", Json::object({{"room", room}}))["ok"], Json(true));
  EXPECT_EQ(code(tutor->call("session:token", Json::object({{"room", room}}))), "room_ended");
}

// A session stored before tokens expired has no expiry in the store: its
// token counts its TTL from the room's creation.
TEST_F(SessionTokenTest, ARoomWithoutAStoredExpiryCountsFromCreation) {
  const std::string old_token = "an-old-token-from-before-expiry-existed";
  auto put = [&](const std::string& id, std::chrono::minutes age) {
    Room r;
    r.id = id;
    r.kind = RoomKind::session;
    r.status = RoomStatus::scheduled;
    r.created_at = clock_.now() - age;
    r.members = {Member{"tutor", "owner"}};
    r.join_secret = realtime::base64url_encode(realtime::sha256(old_token));
    bool stored = false;
    store_->create_room(r, [&](Result<Room> created) { stored = created.ok(); });
    transport_.run_until_idle();
    ASSERT_TRUE(stored);
  };
  put("old-fresh", minutes(30));
  put("old-stale", minutes(61));
  auto student = connect("student");
  EXPECT_EQ(student->call("room:join", Json::object({{"room", "old-fresh"}, {"joinToken", old_token}}))["ok"], Json(true));
  EXPECT_EQ(code(student->call("room:join", Json::object({{"room", "old-stale"}, {"joinToken", old_token}}))),
            "forbidden");
}

}  // namespace
}  // namespace realtime::testing
