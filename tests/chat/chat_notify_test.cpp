// Away notices (realtime/notifier.h): which members the Notifier hears of
// for a new message, with what, and that a socket of the member's in the
// room anywhere (this node, or another node's, through the Roster) means
// they are not away.
#include "chat/cluster_link.h"
#include "chat_test_util.h"
#include "realtime/in_process_bus.h"
#include "realtime/utf8.h"

namespace realtime::testing {
namespace {

struct Recorder final : Notifier {
  void notify(const AwayNotice& n) override { got.push_back(n); }
  std::vector<std::string> users() const {
    std::vector<std::string> out;
    for (const auto& n : got) out.push_back(n.user_id);
    return out;
  }
  std::vector<AwayNotice> got;
};

ChatOptions with_notifier(Notifier* n) {
  ChatOptions o;
  o.notifier = n;
  return o;
}

// Constructed before the ChatTest base, which uses them, and destroyed after.
struct RecorderFirst {
  Recorder recorder;
  InProcessBus bus;
};

// Ann and Bob joined, Cat a member without a socket in the room.
class NotifyTest : public RecorderFirst, public ChatTest {
 protected:
  NotifyTest() : ChatTest(with_notifier(&recorder)) {}
  void SetUp() override {
    ann = connect("ann");
    bob = connect("bob");
    room = create_room(*ann, "group", Json::array({"bob", "cat"}), Json::object({{"title", "Algebra"}}));
    ann->call("room:join", Json::object({{"room", room}}));
    bob->call("room:join", Json::object({{"room", room}}));
    recorder.got.clear();
  }
  Json send(ChatClient& c, const std::string& text, Json extra = Json::object()) {
    Json p = Json::object({{"room", room}, {"text", text}});
    for (auto& [k, v] : extra.as_object()) p.set(k, v);
    Json ack = c.call("message:send", p);
    EXPECT_EQ(ack["ok"], Json(true)) << ack.dump();
    return ack;
  }
  std::unique_ptr<ChatClient> ann, bob;
  std::string room;
};

TEST_F(NotifyTest, AMemberWithNoSocketInTheRoomIsToldOnceWithTheMessage) {
  Json ack = send(*ann, "see you at 5");
  ASSERT_EQ(recorder.users(), std::vector<std::string>{"cat"}) << "not the sender, not Bob who is in the room";
  const AwayNotice& n = recorder.got[0];
  EXPECT_EQ(n.room, room);
  EXPECT_EQ(n.room_title, "Algebra");
  EXPECT_EQ(n.message_id, ack["message"]["id"].as_string());
  EXPECT_EQ(n.seq, 1);
  EXPECT_EQ(n.sender_id, "ann");
  EXPECT_EQ(n.sender_name, "Ann");
  EXPECT_EQ(n.preview, "see you at 5");
  EXPECT_EQ(n.at, clock_.now());
}

TEST_F(NotifyTest, ABannedMemberIsNotToldUntilUnbanned) {
  Actor service;
  service.service = true;
  const auto as_service = [&](std::string_view event) {
    std::optional<Result<Json>> got;
    chat_.call(service, event, Json::object({{"userId", "cat"}}), [&](Result<Json> r) { got = std::move(r); });
    transport_.run_until([&] { return got.has_value(); });
    ASSERT_TRUE(got && got->ok()) << event;
  };
  as_service("user:ban");
  send(*ann, "cat is banned");
  EXPECT_TRUE(recorder.got.empty()) << "a banned user gets no previews";
  as_service("user:unban");
  send(*ann, "cat is back");
  EXPECT_EQ(recorder.users(), std::vector<std::string>{"cat"});
}

TEST_F(NotifyTest, ConnectedButNotInTheRoomIsAwayAndJoiningEndsIt) {
  auto cat = connect("cat");
  send(*ann, "one");
  EXPECT_EQ(recorder.users(), std::vector<std::string>{"cat"}) << "a socket elsewhere does not see the room";
  ASSERT_EQ(cat->call("room:join", Json::object({{"room", room}}))["ok"], Json(true));
  recorder.got.clear();
  send(*ann, "two");
  EXPECT_TRUE(recorder.got.empty());
  cat->call("room:leave", Json::object({{"room", room}}));
  bob->close();
  send(*ann, "three");
  std::vector<std::string> users = recorder.users();
  std::sort(users.begin(), users.end());
  EXPECT_EQ(users, (std::vector<std::string>{"bob", "cat"}));
}

TEST_F(NotifyTest, ARetrySystemMessagesAndServiceSendsAsExpected) {
  send(*ann, "once", Json::object({{"clientMsgId", "c-1"}}));
  send(*ann, "once", Json::object({{"clientMsgId", "c-1"}}));
  EXPECT_EQ(recorder.got.size(), 1u) << "a duplicate is no new message";
  recorder.got.clear();
  ASSERT_EQ(ann->call("member:add", Json::object({{"room", room}, {"userId", "dan"}}))["ok"], Json(true));
  EXPECT_TRUE(recorder.got.empty()) << "the system message \"Ann added Dan\" notifies no one";
  // Through call() (chatd's REST API) for a user: the same notices.
  Json answer;
  chat_.call(Actor{Identity{"bob", "Bob", "user"}, true}, "message:send",
             Json::object({{"room", room}, {"text", "from the backend"}}), [&](Result<Json> r) {
               ASSERT_TRUE(r.ok());
               answer = *r;
             });
  transport_.run_until_idle();
  std::vector<std::string> users = recorder.users();
  std::sort(users.begin(), users.end());
  EXPECT_EQ(users, (std::vector<std::string>{"cat", "dan"}));
}

TEST_F(NotifyTest, ThePreviewIsBoundedOnACharacterBoundary) {
  std::string text;
  for (int i = 0; i < 150; ++i) text += "\xC3\xA9";  // é, 2 bytes: 300 bytes
  send(*ann, text);
  ASSERT_EQ(recorder.got.size(), 1u);
  const std::string& p = recorder.got[0].preview;
  EXPECT_LE(p.size(), AwayNotice::kMaxPreviewBytes);
  EXPECT_TRUE(is_valid_utf8(p));
  EXPECT_EQ(p.substr(p.size() - 3), "\xE2\x80\xA6");
  EXPECT_EQ(p.substr(0, 6), "\xC3\xA9\xC3\xA9\xC3\xA9");
}

TEST_F(NotifyTest, ASocketInTheRoomOnAnotherNodeMeansNotAway) {
  // This service is node "a"; node "b" is a ClusterLink that announces
  // Cat's socket in the room, as another chatd would.
  ClusterOptions ao;
  ao.node_id = "a";
  chat_.join_cluster(bus, ao);
  InProcessTransport other_loop;
  socketio::Server other_io(other_loop, {});
  ClusterOptions bo;
  bo.node_id = "b";
  chat::ClusterLink b(bus, other_loop, other_io.of("/"), bo, {});
  auto settle = [&] {
    for (int i = 0; i < 20; ++i)
      if (transport_.run_until_idle() + other_loop.run_until_idle() == 0) return;
  };
  settle();
  b.joined(room, chat::RemoteSocket{{}, "sid-b1", "cat", "Cat", "user"});
  settle();
  send(*ann, "cat is on node b");
  EXPECT_TRUE(recorder.got.empty()) << "Cat is in the room on node b";
  b.left(room, "sid-b1", std::nullopt);
  settle();
  send(*ann, "cat left node b");
  EXPECT_EQ(recorder.users(), std::vector<std::string>{"cat"});
}

}  // namespace
}  // namespace realtime::testing
