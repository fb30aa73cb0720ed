// Rooms and broadcast through the namespace Hub: reach, except, per-user
// channel, and that one emit encodes once for every recipient.
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "socketio/socketio_test_util.h"

namespace realtime::socketio {
namespace {

using testing::TestClient;

class SocketIoRoomsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    io.of("/").use([](Socket& s) -> std::optional<ConnectError> {
      s.identity().user_id = s.auth()["user"].is_string() ? s.auth()["user"].as_string() : "";
      return std::nullopt;
    });
    io.of("/").on_connection([this](Socket& s) {
      sockets[s.id()] = &s;
      s.on("join", [&s](const Json::Array& args, const Ack&) { s.join(args.at(0).as_string()); });
      s.on("leave", [&s](const Json::Array& args, const Ack&) { s.leave(args.at(0).as_string()); });
    });
    for (int i = 0; i < 4; ++i) {
      clients.push_back(std::make_unique<TestClient>(transport));
      sids.push_back(clients.back()->connect("/", i < 2 ? R"({"user":"ann"})" : R"({"user":"bob"})"));
    }
  }
  // How many clients got exactly one frame since the last call.
  std::vector<int> reached() {
    std::vector<int> out;
    for (auto& c : clients) out.push_back(static_cast<int>(c->texts().size()));
    return out;
  }

  InProcessTransport transport;
  Server io{transport, Options{}};
  std::vector<std::unique_ptr<TestClient>> clients;
  std::vector<std::string> sids;
  std::map<std::string, Socket*> sockets;
};

TEST_F(SocketIoRoomsTest, ToRoomReachesMembersOnly) {
  clients[0]->send(R"(2["join","r"])");
  clients[2]->send(R"(2["join","r"])");
  reached();
  EXPECT_EQ(io.of("/").to("r").emit("hi", 1), 2u);
  EXPECT_EQ(reached(), (std::vector<int>{1, 0, 1, 0}));
  clients[2]->send(R"(2["leave","r"])");
  reached();
  EXPECT_EQ(io.of("/").to("r").emit("hi"), 1u);
  EXPECT_EQ(reached(), (std::vector<int>{1, 0, 0, 0}));
}

TEST_F(SocketIoRoomsTest, NamespaceEmitReachesEveryone) {
  EXPECT_EQ(io.of("/").emit("all"), 4u);
  EXPECT_EQ(reached(), (std::vector<int>{1, 1, 1, 1}));
}

TEST_F(SocketIoRoomsTest, ExceptBySidAndByRoom) {
  for (auto& c : clients) c->send(R"(2["join","r"])");
  clients[3]->send(R"(2["join","quiet"])");
  reached();
  EXPECT_EQ(io.of("/").to("r").except(sids[1]).emit("x"), 3u);
  EXPECT_EQ(reached(), (std::vector<int>{1, 0, 1, 1}));
  EXPECT_EQ(io.of("/").to("r").except("quiet").except(sids[0]).emit("x"), 2u);
  EXPECT_EQ(reached(), (std::vector<int>{0, 1, 1, 0}));
}

TEST_F(SocketIoRoomsTest, SocketToRoomSkipsTheSender) {
  for (auto& c : clients) c->send(R"(2["join","r"])");
  reached();
  EXPECT_EQ(sockets.at(sids[0])->to("r").emit("x"), 3u);
  EXPECT_EQ(reached(), (std::vector<int>{0, 1, 1, 1}));
  EXPECT_EQ(sockets.at(sids[3])->broadcast().emit("x"), 3u);
  EXPECT_EQ(reached(), (std::vector<int>{1, 1, 1, 0}));
}

TEST_F(SocketIoRoomsTest, SidIsARoomOfOne) {
  EXPECT_EQ(io.of("/").to(sids[2]).emit("direct"), 1u);
  EXPECT_EQ(reached(), (std::vector<int>{0, 0, 1, 0}));
}

TEST_F(SocketIoRoomsTest, PerUserChannelReachesEveryTabOfTheUser) {
  EXPECT_EQ(io.of("/").to_user("ann").emit("note"), 2u);
  EXPECT_EQ(reached(), (std::vector<int>{1, 1, 0, 0}));
  EXPECT_EQ(io.of("/").to_user("bob").except(sids[3]).emit("note"), 1u);
  EXPECT_EQ(reached(), (std::vector<int>{0, 0, 1, 0}));
  EXPECT_EQ(io.of("/").hub().connections_of_user("ann").size(), 2u);
}

TEST_F(SocketIoRoomsTest, BroadcastEncodesOnce) {
  io.of("/").emit("same", "payload");
  transport.run_until_idle();
  const std::string* bytes = clients[0]->raw().at(0).bytes.get();
  for (auto& c : clients) {
    ASSERT_EQ(c->raw().size(), 1u);
    EXPECT_EQ(c->raw()[0].bytes.get(), bytes);  // the very same buffer
  }
  EXPECT_EQ(*bytes, R"(2["same","payload"])");
}

TEST_F(SocketIoRoomsTest, DisconnectLeavesRooms) {
  clients[1]->send(R"(2["join","r"])");
  reached();
  EXPECT_EQ(sockets.at(sids[1])->rooms().size(), 2u);  // its sid room and "r"
  clients[1]->close();
  transport.run_until_idle();
  EXPECT_EQ(io.of("/").to("r").emit("x"), 0u);
  EXPECT_FALSE(io.of("/").socket(sids[1]));
}

TEST_F(SocketIoRoomsTest, NamespacesAreSeparate) {
  io.of("/other");
  TestClient other(transport);
  other.connect("/other");
  EXPECT_EQ(io.of("/").emit("x"), 4u);
  EXPECT_TRUE(other.texts().empty());
  EXPECT_EQ(io.of("/other").emit("y"), 1u);
  EXPECT_EQ(other.texts(), std::vector<std::string>{R"(2/other,["y"])"});
}

// droppable() is Socket.IO's volatile emit: a socket whose connection is
// under backpressure (here: an unread inbox past half of a 4 KiB cap)
// skips it; plain emits still queue for it.
TEST(SocketIoVolatileTest, DroppableEmitsSkipBackedUpSocketsOnly) {
  InProcessTransport transport(InProcessTransport::Options{4096});
  Server io{transport, Options{}};
  io.of("/").on_connection([](Socket& s) { s.join("r"); });
  TestClient slow(transport), quick(transport);
  ASSERT_FALSE(slow.connect().empty());
  ASSERT_FALSE(quick.connect().empty());
  const std::string big(1500, 'x');
  io.of("/").to("r").emit("fill", big);
  io.of("/").to("r").emit("fill", big);
  transport.run_until_idle();
  ASSERT_EQ(quick.texts().size(), 2u);  // quick reads; slow does not
  EXPECT_EQ(io.of("/").to("r").droppable().emit("typing", true), 1u);
  EXPECT_EQ(io.of("/").droppable().emit("hint"), 1u) << "the namespace-wide path skips it too";
  EXPECT_EQ(io.of("/").to("r").emit("message", "must arrive"), 2u);
  EXPECT_EQ(quick.texts(), (std::vector<std::string>{R"(2["typing",true])", R"(2["hint"])", R"(2["message","must arrive"])"}));
  auto got = slow.texts();
  ASSERT_EQ(got.size(), 3u) << "two fills and the message, no typing, no hint";
  EXPECT_EQ(got[2], R"(2["message","must arrive"])");
  EXPECT_TRUE(slow.is_open());
  // Read: volatile emits reach it again.
  EXPECT_EQ(io.of("/").to("r").droppable().emit("typing", false), 2u);
}

}  // namespace
}  // namespace realtime::socketio
