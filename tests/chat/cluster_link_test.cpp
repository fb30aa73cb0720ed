// ClusterLink between two nodes on an InProcessBus, each its own loop with
// a manual clock: emits crossing over, the roster of who is where, rtc:*
// to one node, dead and departing nodes, and repair after lost messages.
#include "chat/cluster_link.h"

#include <gtest/gtest.h>

#include <memory>
#include <vector>

#include "realtime/in_process_bus.h"
#include "realtime/in_process_transport.h"

namespace realtime::chat {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

struct Node {
  Node(InProcessBus& bus, std::string id, std::vector<std::pair<std::string, RemoteSocket>>* mine = nullptr)
      : io(transport, {}) {
    ClusterOptions o;
    o.node_id = std::move(id);
    o.node_timeout = seconds(3);
    ClusterLink::Hooks h;
    h.delivered = [this](const socketio::RemoteEmit& e) { emits.push_back(e); };
    h.remote_left = [this](const std::string& room, const RemoteSocket& s) { left.emplace_back(room, s.sid); };
    h.rtc = [this](const std::string& room, const std::string& sid, const std::string& event, Json p) {
      rtc.push_back(room + " " + sid + " " + event + " " + p.dump());
    };
    h.room_changed = [this](const std::string& room) { changed.push_back(room); };
    h.local_entries = [mine] { return mine ? *mine : std::vector<std::pair<std::string, RemoteSocket>>{}; };
    link = std::make_unique<ClusterLink>(bus, transport, io.of("/"), o, h);
  }
  InProcessTransport transport;
  socketio::Server io;
  std::unique_ptr<ClusterLink> link;
  std::vector<socketio::RemoteEmit> emits;
  std::vector<std::pair<std::string, std::string>> left;
  std::vector<std::string> rtc, changed;
};

void settle(Node& a, Node& b) {
  for (int i = 0; i < 10; ++i) {
    const auto n = a.transport.run_until_idle() + b.transport.run_until_idle();
    if (n == 0) return;
  }
}

TEST(ClusterLink, EmitsCrossToTheOtherNodeOnlyAndAreNotRelayedAgain) {
  InProcessBus bus;
  Node a(bus, "a"), b(bus, "b");
  settle(a, b);
  a.io.of("/").to("room:r1").except("sid9").droppable().emit("message:new", Json::object({{"x", 1}}));
  settle(a, b);
  ASSERT_EQ(b.emits.size(), 1u);
  EXPECT_EQ(b.emits[0].rooms, std::vector<std::string>{"room:r1"});
  EXPECT_EQ(b.emits[0].except, std::vector<std::string>{"sid9"});
  EXPECT_EQ(b.emits[0].delivery, Delivery::droppable);
  EXPECT_EQ(Json(b.emits[0].args).dump(), R"(["message:new",{"x":1}])");
  EXPECT_TRUE(a.emits.empty()) << "a node does not hear its own emits back";
  const auto published = bus.stats().published;
  settle(a, b);
  EXPECT_EQ(bus.stats().published, published) << "b delivered it without relaying it again";
}

TEST(ClusterLink, EachNodeKnowsWhoIsInARoomOnTheOtherAndRoutesRtcThere) {
  InProcessBus bus;
  Node a(bus, "a"), b(bus, "b");
  settle(a, b);
  a.link->joined("r1", RemoteSocket{{}, "sa", "ann", "Ann", "user"});
  settle(a, b);
  const RemoteSocket* s = b.link->roster().find("r1", "sa");
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->node, "a");
  EXPECT_EQ(s->user_id, "ann");
  EXPECT_EQ(a.link->roster().entries(), 0u) << "a node's own sockets are not in its roster";

  EXPECT_TRUE(b.link->send_rtc("r1", "sa", "rtc:offer", Json::object({{"sdp", "v=0"}})));
  EXPECT_FALSE(b.link->send_rtc("r1", "nobody", "rtc:offer", Json::object()));
  settle(a, b);
  EXPECT_EQ(a.rtc, std::vector<std::string>{R"(r1 sa rtc:offer {"sdp":"v=0"})"});

  a.link->left("r1", "sa");
  settle(a, b);
  EXPECT_EQ(b.link->roster().find("r1", "sa"), nullptr);
  EXPECT_TRUE(b.left.empty()) << "a socket that left is announced by its own node, not as a death";
}

TEST(ClusterLink, ASilentNodeIsDeadAfterTheTimeoutAndADepartingOneAtOnce) {
  InProcessBus bus;
  Node a(bus, "a"), b(bus, "b");
  settle(a, b);
  b.link->joined("r1", RemoteSocket{{}, "sb", "bob", "Bob", "user"});
  settle(a, b);
  ASSERT_EQ(a.link->roster().entries(), 1u);
  // b stops talking (its loop no longer runs); a's clock moves on.
  for (int i = 0; i < 4; ++i) {
    a.transport.advance(seconds(1));
    a.transport.run_until_idle();
  }
  ASSERT_EQ(a.left.size(), 1u);
  EXPECT_EQ(a.left[0], (std::pair<std::string, std::string>{"r1", "sb"}));
  EXPECT_EQ(a.link->stats().nodes_expired, 1u);
  EXPECT_EQ(a.link->roster().entries(), 0u);

  Node c(bus, "c");
  settle(a, c);
  c.link->joined("r2", RemoteSocket{{}, "sc", "cid", "Cid", "user"});
  settle(a, c);
  ASSERT_EQ(a.link->roster().entries(), 1u);
  c.link.reset();  // says bye
  a.transport.run_until_idle();
  EXPECT_EQ(a.left.back(), (std::pair<std::string, std::string>{"r2", "sc"}));
  EXPECT_EQ(a.link->stats().nodes_expired, 1u) << "a goodbye is not an expiry";
}

TEST(ClusterLink, AnnouncementsLostInAnOutageAreRepairedAndHeartbeatsKeepNodesAlive) {
  InProcessBus bus;
  std::vector<std::pair<std::string, RemoteSocket>> a_sockets;
  Node a(bus, "a", &a_sockets), b(bus, "b");
  settle(a, b);
  a.link->joined("r1", RemoteSocket{{}, "s1", "ann", "Ann", "user"});
  settle(a, b);
  // b's queue drops the next announcement (as a full subscriber queue would).
  bus.set_state(Bus::State::down);
  a.link->joined("r1", RemoteSocket{{}, "s2", "ann", "Ann", "user"});
  a_sockets = {{"r1", RemoteSocket{{}, "s1", "ann", "Ann", "user"}}, {"r1", RemoteSocket{{}, "s2", "ann", "Ann", "user"}}};
  bus.set_state(Bus::State::up);
  // Both come back up and exchange their lists: b learns s2.
  settle(a, b);
  EXPECT_NE(b.link->roster().find("r1", "s2"), nullptr);
  // Heartbeats every timeout/3 keep both alive for a long time.
  for (int i = 0; i < 20; ++i) {
    a.transport.advance(seconds(1));
    b.transport.advance(seconds(1));
    settle(a, b);
  }
  EXPECT_TRUE(b.left.empty());
  EXPECT_EQ(b.link->roster().entries(), 2u);
}

TEST(ClusterLink, RoomNoticesReachTheOtherNodes) {
  InProcessBus bus;
  Node a(bus, "a"), b(bus, "b");
  settle(a, b);
  a.link->room_changed("r7");
  settle(a, b);
  EXPECT_EQ(b.changed, std::vector<std::string>{"r7"});
  EXPECT_TRUE(a.changed.empty());
}

}  // namespace
}  // namespace realtime::chat
