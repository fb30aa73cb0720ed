// Moderation inside the chat service, on the manual clock: a mute ends
// when its time is up, and the bans kept in memory are bounded by
// ChatOptions::max_bans (expired ones make room). The protocol itself is
// covered end to end by e2e.moderation and e2e.cluster_moderation.
#include "chat_test_util.h"

namespace realtime::testing {
namespace {

ChatOptions two_bans() {
  ChatOptions o;
  o.max_bans = 2;
  o.slow_mode_entries = 2;
  return o;
}

class ModerationTest : public ChatTest {
 protected:
  ModerationTest() : ChatTest(two_bans()) {}
  Result<Json> service(std::string_view event, Json payload) {
    Actor a;
    a.service = true;
    std::optional<Result<Json>> got;
    chat_.call(a, event, payload, [&](Result<Json> r) { got = std::move(r); });
    transport_.run_until([&] { return got.has_value(); });
    return got ? std::move(*got) : Result<Json>(Status::internal("no answer"));
  }
  static std::string code_of(const Result<Json>& r) { return r.ok() ? "ok" : std::string(code_name(r.status().code())); }
};

TEST_F(ModerationTest, AMuteEndsWhenItsTimeIsUp) {
  auto ann = connect("ann");
  auto bob = connect("bob");
  const std::string room = create_room(*ann, "group", Json::array({"bob"}));
  EXPECT_EQ(ann->call("member:mute", Json::object({{"room", room}, {"userId", "bob"}, {"seconds", 60}}))["ok"], Json(true));
  const Json muted = bob->call("message:send", Json::object({{"room", room}, {"text", "hi"}}));
  EXPECT_EQ(code(muted), "forbidden");
  EXPECT_NE(muted["error"]["message"].as_string().find("until "), std::string::npos);
  clock_.advance(std::chrono::seconds(59));
  EXPECT_EQ(code(bob->call("message:send", Json::object({{"room", room}, {"text", "hi"}}))), "forbidden");
  clock_.advance(std::chrono::seconds(1));
  EXPECT_EQ(bob->call("message:send", Json::object({{"room", room}, {"text", "hi"}}))["ok"], Json(true));
}

// A store that refuses the audit entry does not undo the action; the
// service counts it (chatd_audit_not_kept_total).
TEST_F(ModerationTest, AnActionWhoseAuditEntryIsRefusedStandsAndIsCounted) {
  auto ann = connect("ann");
  auto bob = connect("bob");
  const std::string room = create_room(*ann, "group", Json::array({"bob"}));
  EXPECT_EQ(ann->call("member:mute", Json::object({{"room", room}, {"userId", "bob"}, {"seconds", 60}}))["ok"], Json(true));
  EXPECT_EQ(chat_.stats().audit_not_kept, 0u);
  store_->refuse_audit = true;
  EXPECT_EQ(ann->call("member:unmute", Json::object({{"room", room}, {"userId", "bob"}}))["ok"], Json(true));
  EXPECT_EQ(ann->call("room:slowmode", Json::object({{"room", room}, {"seconds", 30}}))["ok"], Json(true));
  EXPECT_EQ(chat_.stats().audit_not_kept, 2u);
  // Both actions stand: Bob may speak again, once per 30 s.
  EXPECT_EQ(bob->call("message:send", Json::object({{"room", room}, {"text", "hi"}}))["ok"], Json(true));
  EXPECT_EQ(code(bob->call("message:send", Json::object({{"room", room}, {"text", "again"}}))), "rate_limited");
  store_->refuse_audit = false;
  const Json log = ann->call("moderation:log", Json::object({{"room", room}}));
  ASSERT_EQ(log["entries"].as_array().size(), 1u) << log.dump();
  EXPECT_EQ(log["entries"].as_array()[0]["action"], Json("mute"));
}

TEST_F(ModerationTest, BansInMemoryAreBoundedAndExpiredOnesMakeRoom) {
  EXPECT_EQ(code_of(service("user:ban", Json::object({{"userId", "u1"}}))), "ok");
  EXPECT_EQ(code_of(service("user:ban", Json::object({{"userId", "u2"}, {"seconds", 10}}))), "ok");
  // The bound: a third is refused, a ban of someone banned already replaces theirs.
  EXPECT_EQ(code_of(service("user:ban", Json::object({{"userId", "u3"}}))), "unavailable");
  EXPECT_EQ(code_of(service("user:ban", Json::object({{"userId", "u1"}, {"reason", "again"}}))), "ok");
  auto refused = std::make_unique<ChatClient>(transport_, auth_.sign({"u1", "U1", "user"}, std::chrono::hours(1)));
  ASSERT_TRUE(refused->refused.has_value());
  EXPECT_EQ((*refused->refused)["data"]["message"], Json("you are banned: again"));
  // u2's ban ends; its place is free again.
  clock_.advance(std::chrono::seconds(10));
  EXPECT_EQ(code_of(service("user:ban", Json::object({{"userId", "u3"}}))), "ok");
  connect("u2");
  EXPECT_EQ(code_of(service("user:unban", Json::object({{"userId", "nobody"}}))), "not_found");
  EXPECT_EQ(code_of(service("user:unban", Json::object({{"userId", "u1"}}))), "ok");
  connect("u1");
}

TEST_F(ModerationTest, SlowModeRemembersAtMostSlowModeEntriesSenders) {
  auto ann = connect("ann");
  std::vector<std::unique_ptr<ChatClient>> users;
  for (const char* u : {"bob", "cy", "dan"}) users.push_back(connect(u));
  const std::string room = create_room(*ann, "group", Json::array({"bob", "cy", "dan"}));
  ASSERT_EQ(ann->call("room:slowmode", Json::object({{"room", room}, {"seconds", 60}}))["ok"], Json(true));
  auto send = [&](ChatClient& c) { return c.call("message:send", Json::object({{"room", room}, {"text", "hi"}})); };
  EXPECT_EQ(send(*users[0])["ok"], Json(true));
  EXPECT_EQ(code(send(*users[0])), "rate_limited");
  EXPECT_EQ(send(*users[1])["ok"], Json(true));
  EXPECT_EQ(send(*users[2])["ok"], Json(true));
  // Two pairs are kept: bob's, the least recent, was forgotten.
  EXPECT_EQ(send(*users[0])["ok"], Json(true));
  EXPECT_EQ(code(send(*users[2])), "rate_limited");
}

TEST_F(ModerationTest, OnlyTheServiceAndAdminsBan) {
  auto ann = connect("ann");
  EXPECT_EQ(code(ann->call("user:ban", Json::object({{"userId", "bob"}}))), "forbidden");
  auto admin = connect("root", "admin");
  EXPECT_EQ(admin->call("user:ban", Json::object({{"userId", "bob"}}))["ok"], Json(true));
  EXPECT_EQ(code_of(service("user:ban", Json::object({{"userId", ""}}))), "bad_request");
  EXPECT_EQ(code_of(service("user:ban", Json::object({{"userId", std::string(129, 'x')}}))), "bad_request");
}

}  // namespace
}  // namespace realtime::testing
