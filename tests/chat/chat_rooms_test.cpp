// Rooms and members through real sockets: creation, notifications, direct
// room reuse, joining, membership changes and their system messages.
#include "chat_test_util.h"

namespace realtime::testing {
namespace {

using RoomsTest = ChatTest;

TEST_F(RoomsTest, UnauthenticatedClientIsRefused) {
  ChatClient c(transport_, "not-a-token");
  EXPECT_TRUE(c.sid.empty());
  ASSERT_TRUE(c.refused.has_value());
  EXPECT_EQ((*c.refused)["message"], Json("unauthorized"));
  EXPECT_EQ((*c.refused)["data"]["code"], Json("unauthorized"));
}

TEST_F(RoomsTest, CreateGroupMakesCreatorOwnerAndNotifiesMembers) {
  auto ann = connect("ann");
  auto bob = connect("bob");
  auto bob_tab2 = connect("bob");
  auto cy = connect("cy");
  Json ack = ann->call("room:create", Json::object({{"kind", "group"}, {"title", "CS101"},
                                                    {"members", Json::array({"bob", Json::object({{"userId", "cy"}, {"role", "tutor"}}), "bob"})}}));
  ASSERT_EQ(ack["ok"], Json(true)) << ack.dump();
  const Json& room = ack["room"];
  EXPECT_EQ(room["kind"], Json("group"));
  EXPECT_EQ(room["status"], Json("active"));
  EXPECT_EQ(room["createdBy"], Json("ann"));
  EXPECT_EQ(room["startedAt"], room["createdAt"]);
  EXPECT_EQ(room["members"].dump(),
            R"([{"userId":"ann","role":"owner"},{"userId":"bob","role":"member"},{"userId":"cy","role":"tutor"}])");
  for (auto* c : {bob.get(), bob_tab2.get(), cy.get(), ann.get()}) {
    auto n = c->take("notification");
    ASSERT_EQ(n.size(), 1u);
    EXPECT_EQ(n[0]["type"], Json("room-created"));
    EXPECT_EQ(n[0]["by"], Json("ann"));
    EXPECT_EQ(n[0]["room"]["id"], room["id"]);
  }
}

TEST_F(RoomsTest, CreateValidatesKindIdAndConflicts) {
  auto ann = connect("ann");
  EXPECT_EQ(code(ann->call("room:create", Json::object({{"kind", "channel"}}))), "bad_request");
  EXPECT_EQ(code(ann->call("room:create", Json::object({{"kind", "group"}, {"id", "bad id"}}))), "bad_request");
  EXPECT_EQ(code(ann->call("room:create", Json::object({{"kind", "group"}, {"members", "bob"}}))), "bad_request");
  create_room(*ann, "group", Json::array(), Json::object({{"id", "cs101"}}));
  EXPECT_EQ(code(ann->call("room:create", Json::object({{"kind", "group"}, {"id", "cs101"}}))), "conflict");
}

TEST_F(RoomsTest, DirectRoomIsReusedWithoutIdAndNeedsTwoMembers) {
  auto ann = connect("ann");
  auto bob = connect("bob");
  EXPECT_EQ(code(ann->call("room:create", Json::object({{"kind", "direct"}, {"members", Json::array({"bob", "cy"})}}))),
            "bad_request");
  const std::string first = create_room(*ann, "direct", Json::array({"bob"}));
  bob->clear();
  Json again = bob->call("room:create", Json::object({{"kind", "direct"}, {"members", Json::array({"ann"})}}));
  EXPECT_EQ(again["room"]["id"], Json(first));
  EXPECT_TRUE(bob->take("notification").empty()) << "reuse sends no notification";
  const std::string event_room = create_room(*ann, "direct", Json::array({"bob"}), Json::object({{"id", "lesson-42"}}));
  EXPECT_EQ(event_room, "lesson-42");
  EXPECT_EQ(code(ann->call("member:add", Json::object({{"room", first}, {"userId", "cy"}}))), "bad_request");
  EXPECT_EQ(code(ann->call("member:remove", Json::object({{"room", first}, {"userId", "bob"}}))), "forbidden");
  EXPECT_EQ(bob->call("member:remove", Json::object({{"room", first}, {"userId", "bob"}}))["ok"], Json(true));
}

// One direct room per tutoring event, opened by whichever side comes
// first: with reuse, a taken id answers the room when it is this pair's,
// and conflict when it is anyone else's (docs/protocol.md 8(c)).
TEST_F(RoomsTest, DirectRoomWithIdAndReuseIsFoundByTheSamePairOnly) {
  auto ann = connect("ann");
  auto bob = connect("bob");
  auto cy = connect("cy");
  auto open = [](ChatClient& c, const std::string& other) {
    return c.call("room:create", Json::object({{"kind", "direct"}, {"id", "event-7"}, {"reuse", true},
                                               {"members", Json::array({other})}}));
  };
  Json first = open(*ann, "bob");
  ASSERT_EQ(first["ok"], Json(true)) << first.dump();
  EXPECT_TRUE(first["existing"].is_null()) << "created";
  bob->clear();
  Json second = open(*bob, "ann");
  ASSERT_EQ(second["ok"], Json(true)) << second.dump();
  EXPECT_EQ(second["existing"], Json(true));
  EXPECT_EQ(second["room"], first["room"]);
  EXPECT_TRUE(bob->take("notification").empty()) << "finding it notifies nobody";
  EXPECT_EQ(code(open(*cy, "bob")), "conflict") << "another pair, even with one of the members";
  EXPECT_EQ(code(open(*ann, "cy")), "conflict");
  EXPECT_EQ(code(bob->call("room:create", Json::object({{"kind", "direct"}, {"id", "event-7"},
                                                       {"members", Json::array({"ann"})}}))),
            "conflict")
      << "without reuse a taken id is conflict, as the contract says";
  EXPECT_EQ(code(ann->call("room:create", Json::object({{"kind", "direct"}, {"id", "event-8"}, {"reuse", "yes"},
                                                       {"members", Json::array({"bob"})}}))),
            "bad_request");
  // A group room under the id is not this pair's direct room either.
  create_room(*ann, "group", Json::array({"bob"}), Json::object({{"id", "event-9"}}));
  EXPECT_EQ(code(bob->call("room:create", Json::object({{"kind", "direct"}, {"id", "event-9"}, {"reuse", true},
                                                       {"members", Json::array({"ann"})}}))),
            "conflict");
}

TEST_F(RoomsTest, OnlyMembersJoinAndJoinAckDescribesTheRoom) {
  auto ann = connect("ann");
  auto bob = connect("bob");
  auto eve = connect("eve");
  const std::string r = create_room(*ann, "group", Json::array({"bob"}));
  EXPECT_EQ(code(eve->call("room:join", Json::object({{"room", r}}))), "forbidden");
  EXPECT_EQ(code(eve->call("room:join", Json::object({{"room", "nope"}}))), "not_found");

  Json a = ann->call("room:join", Json::object({{"room", r}}));
  ASSERT_EQ(a["ok"], Json(true)) << a.dump();
  EXPECT_EQ(a["lastSeq"], Json(0));
  EXPECT_EQ(a["unread"], Json(0));
  EXPECT_EQ(a["peers"].size(), 1u);
  EXPECT_EQ(a["peers"].as_array()[0]["sid"], Json(ann->sid));

  Json b = bob->call("room:join", Json::object({{"room", r}}));
  EXPECT_EQ(b["peers"].size(), 2u);
  EXPECT_EQ(b["presence"].dump().find("\"online\":true") != std::string::npos, true);
  auto joins = ann->take("presence:join");
  ASSERT_EQ(joins.size(), 1u);
  EXPECT_EQ(joins[0]["peer"]["userId"], Json("bob"));
  EXPECT_EQ(joins[0]["peer"]["sid"], Json(bob->sid));
  EXPECT_EQ(joins[0]["online"], Json(2));

  // Joining twice is idempotent: no second presence:join.
  EXPECT_EQ(bob->call("room:join", Json::object({{"room", r}}))["ok"], Json(true));
  EXPECT_TRUE(ann->take("presence:join").empty());
}

TEST_F(RoomsTest, AdminJoinsAnyRoomWithoutBecomingMember) {
  auto ann = connect("ann");
  auto admin = connect("root", "admin");
  const std::string r = create_room(*ann, "group", Json::array());
  Json a = admin->call("room:join", Json::object({{"room", r}}));
  ASSERT_EQ(a["ok"], Json(true)) << a.dump();
  EXPECT_EQ(a["room"]["members"].size(), 1u);
  EXPECT_NE(a["presence"].dump().find("\"userId\":\"root\""), std::string::npos);
  EXPECT_NE(a["peers"].dump().find("\"role\":\"admin\""), std::string::npos);
}

TEST_F(RoomsTest, OwnerAddsMemberWithSystemMessageAndNotifications) {
  auto ann = connect("ann");
  auto bob = connect("bob");
  auto cy = connect("cy");
  const std::string r = create_room(*ann, "group", Json::array({"bob"}));
  ann->call("room:join", Json::object({{"room", r}}));
  EXPECT_EQ(code(bob->call("member:add", Json::object({{"room", r}, {"userId", "cy"}}))), "forbidden");
  ann->clear();
  bob->clear();
  cy->clear();
  Json ack = ann->call("member:add", Json::object({{"room", r}, {"userId", "cy"}, {"role", "tutor"}}));
  ASSERT_EQ(ack["ok"], Json(true)) << ack.dump();
  EXPECT_EQ(ack["room"]["members"].size(), 3u);
  auto sys = ann->take("message:new");
  ASSERT_EQ(sys.size(), 1u);
  EXPECT_EQ(sys[0]["message"]["type"], Json("system"));
  EXPECT_EQ(sys[0]["message"]["text"], Json("Ann added Cy"));
  for (auto* c : {ann.get(), bob.get(), cy.get()}) {
    auto n = c->take("notification");
    ASSERT_EQ(n.size(), 1u);
    EXPECT_EQ(n[0]["type"], Json("member-added"));
    EXPECT_EQ(n[0]["userId"], Json("cy"));
    EXPECT_EQ(n[0]["role"], Json("tutor"));
  }
  EXPECT_EQ(code(ann->call("member:add", Json::object({{"room", r}, {"userId", "cy"}}))), "conflict");
  // The new member's unread count includes the announcement of the addition.
  Json list = cy->call("rooms:list", Json::object());
  ASSERT_EQ(list["rooms"].size(), 1u);
  EXPECT_EQ(list["rooms"].as_array()[0]["unread"], Json(1));
}

TEST_F(RoomsTest, RemovalRulesAndRemovedSocketsLeaveTheRoom) {
  auto ann = connect("ann");
  auto bob = connect("bob");
  auto cy = connect("cy");
  const std::string r = create_room(*ann, "group", Json::array({"bob", "cy"}));
  for (auto* c : {ann.get(), bob.get(), cy.get()}) c->call("room:join", Json::object({{"room", r}}));
  EXPECT_EQ(code(bob->call("member:remove", Json::object({{"room", r}, {"userId", "cy"}}))), "forbidden");
  EXPECT_EQ(code(ann->call("member:remove", Json::object({{"room", r}, {"userId", "zed"}}))), "not_found");
  ann->clear();
  bob->clear();
  cy->clear();
  ASSERT_EQ(ann->call("member:remove", Json::object({{"room", r}, {"userId", "cy"}}))["ok"], Json(true));
  auto sys = bob->take("message:new");
  ASSERT_EQ(sys.size(), 1u);
  EXPECT_EQ(sys[0]["message"]["text"], Json("Ann removed Cy"));
  auto left = bob->take("presence:leave");
  ASSERT_EQ(left.size(), 1u);
  EXPECT_EQ(left[0]["userId"], Json("cy"));
  EXPECT_EQ(bob->take("rtc:peer-left").size(), 1u);
  auto n = cy->take("notification");
  ASSERT_EQ(n.size(), 1u);
  EXPECT_EQ(n[0]["type"], Json("member-removed"));
  // Cy is out: sending there is refused.
  EXPECT_EQ(code(cy->call("message:send", Json::object({{"room", r}, {"text", "hi"}}))), "forbidden");
  // Leaving oneself is "left".
  ASSERT_EQ(bob->call("member:remove", Json::object({{"room", r}, {"userId", "bob"}}))["ok"], Json(true));
  auto bye = ann->take("message:new");
  ASSERT_FALSE(bye.empty());
  EXPECT_EQ(bye.back()["message"]["text"], Json("Bob left"));
}

TEST_F(RoomsTest, RoomsListOrdersByActivityWithUnreadAndLastMessage) {
  auto ann = connect("ann");
  auto bob = connect("bob");
  const std::string older = create_room(*ann, "group", Json::array({"bob"}), Json::object({{"id", "older"}}));
  clock_.advance(std::chrono::seconds(1));
  create_room(*ann, "group", Json::array({"bob"}), Json::object({{"id", "newer"}}));
  clock_.advance(std::chrono::seconds(1));
  ann->call("message:send", Json::object({{"room", older}, {"text", "bump"}}));
  Json list = bob->call("rooms:list", Json::object());
  ASSERT_EQ(list["rooms"].size(), 2u);
  const auto& rooms = list["rooms"].as_array();
  EXPECT_EQ(rooms[0]["room"]["id"], Json("older"));
  EXPECT_EQ(rooms[0]["lastMessage"]["text"], Json("bump"));
  EXPECT_EQ(rooms[0]["unread"], Json(1));
  EXPECT_EQ(rooms[1]["room"]["id"], Json("newer"));
  EXPECT_TRUE(rooms[1]["lastMessage"].is_null());
}

// One user's entry in a presence list (null when absent).
Json presence_entry(const Json& ack, const std::string& user) {
  for (const auto& e : ack["presence"].as_array())
    if (e["userId"] == Json(user)) return e;
  return Json();
}

using LastSeenTest = RoomOfTwoTest;

TEST_F(LastSeenTest, DisconnectAnnouncesLeaveAndSetsLastSeen) {
  clock_.advance(std::chrono::seconds(5));
  bob->close();
  auto left = ann->take("presence:leave");
  ASSERT_EQ(left.size(), 1u);
  EXPECT_EQ(left[0]["online"], Json(1));
  EXPECT_EQ(ann->take("rtc:peer-left").size(), 1u);
  Json p = ann->call("presence:list", Json::object({{"room", room}}));
  ASSERT_EQ(p["ok"], Json(true)) << p.dump();
  const Json entry = presence_entry(p, "bob");
  ASSERT_FALSE(entry.is_null()) << p.dump();
  EXPECT_EQ(entry["online"], Json(false));
  EXPECT_EQ(entry["lastSeen"], Json(format_iso8601(clock_.now())));
}

// On SQLite the lastSeen write and a presence read run on different
// threads: the read can start before the write commits and answer after
// it, with the row as it was before the write.
TEST_F(LastSeenTest, PresenceReadRacingTheLastSeenWriteStillShowsIt) {
  clock_.advance(std::chrono::seconds(5));
  store_->hold = true;
  bob->close();
  ASSERT_EQ(ann->take("presence:leave").size(), 1u);
  const auto list = ann->send_call("presence:list", Json::object({{"room", room}}));
  transport_.run_until_idle();
  store_->release_writes();
  transport_.run_until_idle();
  store_->hold = false;
  store_->release_answers();
  Json p = ann->wait_ack(list);
  ASSERT_EQ(p["ok"], Json(true)) << p.dump();
  const Json entry = presence_entry(p, "bob");
  ASSERT_FALSE(entry.is_null()) << p.dump();
  EXPECT_EQ(entry["lastSeen"], Json(format_iso8601(clock_.now())));
}

}  // namespace
}  // namespace realtime::testing
