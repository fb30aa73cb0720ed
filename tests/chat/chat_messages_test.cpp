// Messages through real sockets: send, idempotency, edit/delete rules,
// history paging, read receipts, search, and the replay on rejoin.
#include "chat_test_util.h"

namespace realtime::testing {
namespace {

class MessagesTest : public RoomOfTwoTest {
 protected:
  Json send(ChatClient& c, const std::string& text, Json extra = Json::object()) {
    Json p = Json::object({{"room", room}, {"text", text}});
    for (auto& [k, v] : extra.as_object()) p.set(k, v);
    return c.call("message:send", p);
  }
};

TEST_F(MessagesTest, SendPersistsAcksAndBroadcastsToEveryoneInRoom) {
  Json ack = send(*ann, "hello");
  ASSERT_EQ(ack["ok"], Json(true)) << ack.dump();
  const Json& m = ack["message"];
  EXPECT_EQ(m["seq"], Json(1));
  EXPECT_EQ(m["senderId"], Json("ann"));
  EXPECT_EQ(m["senderName"], Json("Ann"));
  EXPECT_EQ(m["senderRole"], Json("owner"));
  EXPECT_EQ(m["type"], Json("text"));
  EXPECT_EQ(m["deleted"], Json(false));
  EXPECT_EQ(m["createdAt"], Json(format_iso8601(clock_.now())));
  auto to_bob = bob->take("message:new");
  ASSERT_EQ(to_bob.size(), 1u);
  EXPECT_EQ(to_bob[0]["message"], m);
  EXPECT_EQ(ann->take("message:new").size(), 1u) << "the sender's socket gets message:new too";
  EXPECT_EQ(send(*bob, "hi")["message"]["seq"], Json(2));
}

TEST_F(MessagesTest, SenderHearsOfItsMessageWithoutJoining) {
  auto ann_tab2 = connect("ann");  // a member, not joined to the room
  Json ack = ann_tab2->call("message:send", Json::object({{"room", room}, {"text", "from the list view"}}));
  ASSERT_EQ(ack["ok"], Json(true)) << ack.dump();
  auto mine = ann_tab2->take("message:new");
  ASSERT_EQ(mine.size(), 1u);
  EXPECT_EQ(mine[0]["message"]["id"], ack["message"]["id"]);
  EXPECT_EQ(ann->take("message:new").size(), 1u) << "and the joined tab once, not twice";
}

TEST_F(MessagesTest, ClientMsgIdMakesSendIdempotent) {
  Json first = send(*ann, "once", Json::object({{"clientMsgId", "c-1"}}));
  Json again = send(*ann, "once", Json::object({{"clientMsgId", "c-1"}}));
  EXPECT_EQ(again["message"]["id"], first["message"]["id"]);
  EXPECT_EQ(bob->take("message:new").size(), 1u) << "a retry is not broadcast again";
  const std::string other = create_room(*ann, "group", Json::array());
  EXPECT_EQ(code(ann->call("message:send", Json::object({{"room", other}, {"text", "x"}, {"clientMsgId", "c-1"}}))),
            "conflict");
  EXPECT_EQ(send(*bob, "mine", Json::object({{"clientMsgId", "c-1"}}))["message"]["seq"], Json(2))
      << "the id is scoped to the sender";
}

TEST_F(MessagesTest, ValidatesTextTypeAttachmentAndReply) {
  EXPECT_EQ(code(send(*ann, "   ")), "bad_request");
  EXPECT_EQ(code(send(*ann, std::string(4001, 'x'))), "payload_too_large");
  EXPECT_EQ(send(*ann, std::string(4000, 'x'))["ok"], Json(true));
  std::string emoji;
  for (int i = 0; i < 4000; ++i) emoji += "\xF0\x9F\x98\x80";
  EXPECT_EQ(send(*ann, emoji)["ok"], Json(true)) << "the limit counts code points, not bytes";
  EXPECT_EQ(code(send(*ann, "x", Json::object({{"type", "system"}}))), "bad_request");
  EXPECT_EQ(code(send(*ann, "x", Json::object({{"type", "image"}}))), "bad_request");
  EXPECT_EQ(code(send(*ann, "", Json::object({{"type", "image"}, {"attachment", Json::object({{"url", "ftp://x/y"}})}}))),
            "bad_request");
  Json img = send(*ann, "", Json::object({{"type", "image"},
                                          {"attachment", Json::object({{"url", "https://cdn.example/cat.png"},
                                                                       {"name", "cat.png"}, {"size", 1234}, {"mime", "image/png"}})}}));
  ASSERT_EQ(img["ok"], Json(true)) << img.dump();
  EXPECT_EQ(img["message"]["attachment"]["size"], Json(1234));
  EXPECT_EQ(code(send(*ann, "re", Json::object({{"replyTo", "m-missing"}}))), "bad_request");
  Json reply = send(*bob, "re", Json::object({{"replyTo", img["message"]["id"]}}));
  EXPECT_EQ(reply["message"]["replyTo"], img["message"]["id"]);
  EXPECT_EQ(code(send(*ann, "x", Json::object({{"clientMsgId", std::string(129, 'c')}}))), "bad_request");
}

TEST_F(MessagesTest, EditAndDeleteRules) {
  Json m = send(*ann, "draft")["message"];
  EXPECT_EQ(code(bob->call("message:edit", Json::object({{"id", m["id"]}, {"text", "hacked"}}))), "forbidden");
  Json edited = ann->call("message:edit", Json::object({{"id", m["id"]}, {"text", "final"}}));
  ASSERT_EQ(edited["ok"], Json(true)) << edited.dump();
  EXPECT_EQ(edited["message"]["text"], Json("final"));
  EXPECT_FALSE(edited["message"]["editedAt"].is_null());
  auto e = bob->take("message:edited");
  ASSERT_EQ(e.size(), 1u);
  EXPECT_EQ(e[0]["message"]["text"], Json("final"));

  Json theirs = send(*bob, "bob's")["message"];
  EXPECT_EQ(ann->call("message:delete", Json::object({{"id", theirs["id"]}}))["ok"], Json(true))
      << "the room owner may delete";
  EXPECT_EQ(code(bob->call("message:delete", Json::object({{"id", m["id"]}}))), "forbidden");
  auto d = bob->take("message:deleted");
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].dump(), Json::object({{"room", room}, {"id", theirs["id"]}}).dump());
  EXPECT_EQ(bob->call("message:delete", Json::object({{"id", theirs["id"]}}))["ok"], Json(true)) << "again is ok";
  EXPECT_EQ(code(bob->call("message:edit", Json::object({{"id", theirs["id"]}, {"text", "x"}}))), "not_found");
  EXPECT_EQ(code(ann->call("message:delete", Json::object({{"id", "nope"}}))), "not_found");
  ann->call("member:add", Json::object({{"room", room}, {"userId", "cy"}}));
  Json sys = ann->call("message:history", Json::object({{"room", room}, {"limit", 1}}))["messages"].as_array()[0];
  ASSERT_EQ(sys["type"], Json("system"));
  EXPECT_EQ(code(ann->call("message:edit", Json::object({{"id", sys["id"]}, {"text", "rewritten"}}))), "forbidden");

  Json page = ann->call("message:history", Json::object({{"room", room}}));
  const Json& gone = page["messages"].as_array()[1];
  EXPECT_EQ(gone["deleted"], Json(true));
  EXPECT_EQ(gone["text"], Json(""));
}

TEST_F(MessagesTest, HistoryPagesBySeqAndClampsLimit) {
  for (int i = 1; i <= 7; ++i) send(*ann, testing::cat("m", i));
  Json newest = bob->call("message:history", Json::object({{"room", room}, {"limit", 3}}));
  ASSERT_EQ(newest["messages"].size(), 3u);
  EXPECT_EQ(newest["messages"].as_array()[0]["seq"], Json(5));
  EXPECT_EQ(newest["hasMore"], Json(true));
  Json before = bob->call("message:history", Json::object({{"room", room}, {"before", 5}, {"limit", 3}}));
  EXPECT_EQ(before["messages"].as_array()[0]["seq"], Json(2));
  Json after = bob->call("message:history", Json::object({{"room", room}, {"after", 5}, {"limit", 3}}));
  EXPECT_EQ(after["messages"].size(), 2u);
  EXPECT_EQ(after["hasMore"], Json(false));
  Json zero = bob->call("message:history", Json::object({{"room", room}, {"limit", 0}}));
  EXPECT_EQ(zero["messages"].size(), 1u) << "limit is clamped to at least 1";
  EXPECT_EQ(code(bob->call("message:history", Json::object({{"room", room}, {"limit", "ten"}}))), "bad_request");
  EXPECT_EQ(code(bob->call("message:history", Json::object({{"room", room}, {"limit", 2.5}}))), "bad_request");
  auto eve = connect("eve");
  EXPECT_EQ(code(eve->call("message:history", Json::object({{"room", room}}))), "forbidden");
}

TEST_F(MessagesTest, ReadPointerMovesForwardOnlyAndCountsUnread) {
  for (int i = 0; i < 3; ++i) send(*ann, "x");
  send(*bob, "own");
  Json list = bob->call("rooms:list", Json::object());
  EXPECT_EQ(list["rooms"].as_array()[0]["unread"], Json(3)) << "own messages are not unread";
  EXPECT_EQ(bob->call("message:read", Json::object({{"room", room}, {"seq", 2}}))["ok"], Json(true));
  auto r = ann->take("message:read");
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].dump(), R"({"room":")" + room + R"(","userId":"bob","seq":2})");
  EXPECT_EQ(bob->call("message:read", Json::object({{"room", room}, {"seq", 1}}))["ok"], Json(true));
  EXPECT_TRUE(ann->take("message:read").empty()) << "a lower pointer changes nothing";
  EXPECT_EQ(code(bob->call("message:read", Json::object({{"room", room}, {"seq", 99}}))), "bad_request");
  EXPECT_EQ(bob->call("rooms:list", Json::object())["rooms"].as_array()[0]["unread"], Json(1));
  Json join = bob->call("room:join", Json::object({{"room", room}}));
  EXPECT_NE(join["reads"].dump().find(R"({"userId":"bob","seq":2})"), std::string::npos);
}

TEST_F(MessagesTest, SearchFindsWordPrefixesAndSkipsDeleted) {
  send(*ann, "Photosynthesis homework due Friday");
  Json gone = send(*ann, "photo of the board")["message"];
  send(*ann, "unrelated");
  ann->call("message:delete", Json::object({{"id", gone["id"]}}));
  Json found = bob->call("message:search", Json::object({{"room", room}, {"q", "PHOTO"}}));
  ASSERT_EQ(found["messages"].size(), 1u) << found.dump();
  EXPECT_EQ(found["messages"].as_array()[0]["seq"], Json(1));
  Json none = bob->call("message:search", Json::object({{"room", room}, {"q", "\"*) OR ("}}));
  EXPECT_EQ(none["ok"], Json(true));
  EXPECT_EQ(code(bob->call("message:search", Json::object({{"room", room}}))), "bad_request");
}

TEST_F(MessagesTest, RejoinWithAfterSeqReplaysMissedMessagesBeforeAck) {
  for (int i = 1; i <= 3; ++i) send(*ann, testing::cat("m", i));
  bob->close();
  for (int i = 4; i <= 6; ++i) send(*ann, testing::cat("m", i));
  auto back = connect("bob");
  Json ack = back->call("room:join", Json::object({{"room", room}, {"afterSeq", 3}}));
  ASSERT_EQ(ack["ok"], Json(true)) << ack.dump();
  EXPECT_EQ(ack["replayTruncated"], Json(false));
  auto replay = back->take("message:new");
  ASSERT_EQ(replay.size(), 3u);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(replay[static_cast<std::size_t>(i)]["message"]["seq"], Json(4 + i));
  send(*ann, "live");
  auto live = back->take("message:new");
  ASSERT_EQ(live.size(), 1u);
  EXPECT_EQ(live[0]["message"]["seq"], Json(7));
}

class ReplayCapTest : public ChatTest {
 protected:
  ReplayCapTest() : ChatTest([] { ChatOptions o; o.replay_limit = 2; return o; }()) {}
};

TEST_F(ReplayCapTest, ReplayStopsAtTheCapAndSaysSo) {
  auto ann = connect("ann");
  const std::string room = create_room(*ann, "group", Json::array({"bob"}));
  for (int i = 1; i <= 5; ++i) ann->call("message:send", Json::object({{"room", room}, {"text", "m"}}));
  auto bob = connect("bob");
  Json ack = bob->call("room:join", Json::object({{"room", room}, {"afterSeq", 0}}));
  EXPECT_EQ(ack["replayTruncated"], Json(true));
  auto replay = bob->take("message:new");
  ASSERT_EQ(replay.size(), 2u);
  EXPECT_EQ(replay[0]["message"]["seq"], Json(1)) << "the oldest missed messages come first";
  EXPECT_EQ(replay[1]["message"]["seq"], Json(2));
}

}  // namespace
}  // namespace realtime::testing
