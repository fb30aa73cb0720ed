// Socket.IO server over the in-process transport: connect, auth,
// middlewares, events and acks both ways, binary both ways, disconnects.
#include <gtest/gtest.h>

#include <chrono>
#include <stdexcept>
#include <string>
#include <vector>

#include "socketio/socketio_test_util.h"

namespace realtime::socketio {
namespace {

using namespace std::chrono_literals;
using testing::TestClient;

Json bin(std::initializer_list<std::uint8_t> b) { return Json(Json::Binary(b)); }

class SocketIoServerTest : public ::testing::Test {
 protected:
  InProcessTransport transport;
  Server io{transport, Options{}};
};

TEST_F(SocketIoServerTest, ConnectAssignsSidAndRunsHandlers) {
  std::string seen_sid;
  Json seen_auth;
  io.of("/").on_connection([&](Socket& s) {
    seen_sid = s.id();
    seen_auth = s.auth();
  });
  TestClient c(transport);
  std::string sid = c.connect();
  EXPECT_FALSE(sid.empty());
  EXPECT_EQ(sid, seen_sid);
  EXPECT_NE(sid, transport.connect()->id());  // not the Engine.IO id
  EXPECT_EQ(seen_auth, Json::object());        // no payload reads as {}
  EXPECT_EQ(io.of("/").size(), 1u);
}

TEST_F(SocketIoServerTest, ConnectWithAuthPayloadReachesHandlerBeforeItsEmits) {  // suite
  io.of("/custom").on_connection([](Socket& s) { s.emit("auth", s.auth()); });
  TestClient c(transport);
  c.send(R"(0/custom,{"token":"abc"})");
  auto t = c.texts();
  ASSERT_EQ(t.size(), 2u);
  EXPECT_EQ(t[0].rfind("0/custom,{\"sid\":\"", 0), 0u) << t[0];
  EXPECT_EQ(t[1], R"(2/custom,["auth",{"token":"abc"}])");
}

TEST_F(SocketIoServerTest, UnknownNamespaceGetsConnectErrorAndStaysOpen) {  // suite
  TestClient c(transport);
  c.send("0/random");
  EXPECT_EQ(c.texts(), std::vector<std::string>{R"(4/random,{"message":"Invalid namespace"})"});
  EXPECT_TRUE(c.is_open());
}

TEST_F(SocketIoServerTest, MiddlewareMayRejectWithData) {
  bool announced = false;
  io.of("/").use([](Socket& s) -> std::optional<ConnectError> {
    if (s.auth()["token"] == Json("good")) {
      s.identity().user_id = "u1";
      return std::nullopt;
    }
    return ConnectError{"not authorized", Json::object({{"content", "retry later"}})};
  });
  io.of("/").on_connection([&](Socket& s) { announced = s.identity().user_id == "u1"; });
  TestClient bad(transport);
  bad.send(R"(0{"token":"bad"})");
  EXPECT_EQ(bad.texts(),
            std::vector<std::string>{R"(4{"message":"not authorized","data":{"content":"retry later"}})"});
  EXPECT_FALSE(announced);
  TestClient good(transport);
  EXPECT_FALSE(good.connect("/", R"({"token":"good"})").empty());
  EXPECT_TRUE(announced);
}

class TokenAuth final : public Authenticator {
 public:
  Result<Identity> authenticate(const Handshake&, const Json& auth) const override {
    const Json& token = auth["token"];
    if (!token.is_string() || token.as_string().empty()) return Status::unauthorized("no token");
    return Identity{token.as_string(), "Name " + token.as_string(), "user"};
  }
};

TEST_F(SocketIoServerTest, AuthenticatorSetsIdentityOrRefuses) {
  TokenAuth auth;
  io.set_authenticator(&auth);
  std::string user;
  io.of("/").on_connection([&](Socket& s) { user = s.identity().user_id; });
  TestClient anon(transport);
  anon.send("0");
  EXPECT_EQ(anon.texts(), std::vector<std::string>{R"(4{"message":"unauthorized","data":{"code":"unauthorized"}})"});
  TestClient ann(transport);
  EXPECT_FALSE(ann.connect("/", R"({"token":"ann"})").empty());
  EXPECT_EQ(user, "ann");
}

TEST_F(SocketIoServerTest, EventsWithAndWithoutAck) {  // suite
  int without_ack = 0;
  io.of("/").on_connection([&](Socket& s) {
    s.on("message-with-ack", [](const Json::Array& args, const Ack& ack) {
      ASSERT_TRUE(ack);
      ack(args);
      ack(args);  // a second answer is dropped
    });
    s.on("message", [&](const Json::Array& args, const Ack& ack) {
      EXPECT_FALSE(ack);
      EXPECT_EQ(args.size(), 3u);
      ++without_ack;
    });
  });
  TestClient c(transport);
  c.connect();
  c.send(R"(2456["message-with-ack",1,"2",{"3":[false]}])");
  c.send(R"(2["message",1,"2",{"3":[true]}])");
  EXPECT_EQ(c.texts(), std::vector<std::string>{R"(3456[1,"2",{"3":[false]}])"});
  EXPECT_EQ(without_ack, 1);
}

TEST_F(SocketIoServerTest, OnAnySeesEveryEvent) {
  std::vector<std::string> events;
  io.of("/").on_connection([&](Socket& s) {
    s.on_any([&](std::string_view event, const Json::Array&, const Ack&) { events.emplace_back(event); });
  });
  TestClient c(transport);
  c.connect();
  c.send(R"(2["a"])");
  c.send(R"(2["b",1])");
  c.texts();
  EXPECT_EQ(events, (std::vector<std::string>{"a", "b"}));
}

TEST_F(SocketIoServerTest, BinaryBothWays) {  // suite
  io.of("/").on_connection([](Socket& s) {
    s.on("message", [&s](const Json::Array& args, const Ack&) {
      ASSERT_EQ(args.size(), 2u);
      EXPECT_TRUE(args[0].is_binary());
      s.emit_args("message-back", args);
    });
    s.on("message-with-ack", [](const Json::Array& args, const Ack& ack) { ack(args); });
  });
  TestClient c(transport);
  c.connect();
  c.send(R"(52-["message",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}])");
  c.send_binary("\x01\x02\x03");
  c.send_binary("\x04\x05\x06");
  c.send(R"(52-789["message-with-ack",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}])");
  c.send_binary("\x01\x02\x03");
  c.send_binary("\x04\x05\x06");
  EXPECT_EQ(c.texts(), (std::vector<std::string>{
                           R"(52-["message-back",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}])",
                           "<bin:3>", "<bin:3>",
                           R"(62-789[{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}])",
                           "<bin:3>", "<bin:3>"}));
}

TEST_F(SocketIoServerTest, ServerAckResolvesOnceAndTimesOut) {
  std::vector<Result<Json::Array>> replies;
  Socket* socket = nullptr;
  io.of("/").on_connection([&](Socket& s) { socket = &s; });
  TestClient c(transport);
  c.connect();
  ASSERT_NE(socket, nullptr);
  socket->emit_with_ack("question", {1, bin({7})}, 5s, [&](Result<Json::Array> r) { replies.push_back(std::move(r)); });
  auto sent = c.packets();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].type, protocol::socketio::PacketType::binary_event);
  ASSERT_TRUE(sent[0].id);
  c.send("3" + std::to_string(*sent[0].id) + R"(["answer"])");
  c.texts();
  ASSERT_EQ(replies.size(), 1u);
  ASSERT_TRUE(replies[0].ok());
  EXPECT_EQ(*replies[0], Json::Array{"answer"});

  socket->emit_with_ack("slow", {}, 5s, [&](Result<Json::Array> r) { replies.push_back(std::move(r)); });
  auto slow = c.packets();
  ASSERT_EQ(slow.size(), 1u);
  transport.advance(4999ms);
  EXPECT_EQ(replies.size(), 1u);
  transport.advance(2ms);
  ASSERT_EQ(replies.size(), 2u);
  EXPECT_EQ(replies[1].status().code(), StatusCode::unavailable);
  c.send("3" + std::to_string(*slow[0].id) + "[]");  // late: ignored
  c.texts();
  EXPECT_EQ(replies.size(), 2u);
  EXPECT_TRUE(c.is_open());
}

TEST_F(SocketIoServerTest, PendingServerAcksAreBoundedAndFailOnDisconnect) {
  InProcessTransport t;
  Options o;
  o.max_pending_acks = 2;
  Server small(t, o);
  Socket* socket = nullptr;
  small.of("/").on_connection([&](Socket& s) { socket = &s; });
  TestClient c(t);
  c.connect();
  ASSERT_NE(socket, nullptr);
  std::vector<StatusCode> codes;
  for (int i = 0; i < 3; ++i)
    socket->emit_with_ack("q", {}, 10s, [&](Result<Json::Array> r) { codes.push_back(r.status().code()); });
  ASSERT_EQ(codes.size(), 1u);  // the third, refused at once
  EXPECT_EQ(codes[0], StatusCode::unavailable);
  c.close();
  t.run_until_idle();
  EXPECT_EQ(codes.size(), 3u);  // the two pending fail on disconnect
}

TEST_F(SocketIoServerTest, DisconnectReasons) {
  std::vector<std::string> reasons;
  std::vector<std::shared_ptr<Socket>> sockets;
  io.of("/").on_connection([&](Socket& s) {
    sockets.push_back(s.shared_from_this());
    s.on_disconnect([&](std::string_view r) { reasons.emplace_back(r); });
  });
  TestClient a(transport), b(transport), c(transport);
  a.connect();
  b.connect();
  c.connect();
  a.send("1");
  b.close();
  sockets[2]->disconnect();
  EXPECT_EQ(c.texts(), std::vector<std::string>{"1"});
  a.texts();
  EXPECT_EQ(reasons, (std::vector<std::string>{"server namespace disconnect", "client namespace disconnect",
                                               "transport close"}));
  EXPECT_EQ(sockets[0]->emit("late"), SendStatus::dropped);  // kept past disconnect: harmless
  EXPECT_EQ(io.of("/").size(), 0u);
}

TEST_F(SocketIoServerTest, LeavingOneNamespaceKeepsTheOthers) {  // suite
  io.of("/custom");
  io.of("/").on_connection([](Socket& s) {
    s.on("message", [&s](const Json::Array& args, const Ack&) { s.emit_args("message-back", args); });
  });
  TestClient c(transport);
  c.connect();
  c.connect("/custom");
  c.send("1/custom");
  c.send(R"(2["message","message to main namespace"])");
  EXPECT_EQ(c.texts(), std::vector<std::string>{R"(2["message-back","message to main namespace"])"});
  EXPECT_EQ(io.of("/custom").size(), 0u);
}

TEST_F(SocketIoServerTest, DisconnectWithCloseEndsTheConnection) {
  io.of("/").on_connection([](Socket& s) {
    s.on("bye", [&s](const Json::Array&, const Ack&) { s.disconnect(true); });
  });
  TestClient c(transport);
  c.connect();
  c.send(R"(2["bye"])");
  c.texts();
  EXPECT_FALSE(c.is_open());
  EXPECT_EQ(io.connection_count(), 0u);
}

TEST_F(SocketIoServerTest, ShutdownDisconnectsEveryone) {
  std::vector<std::string> reasons;
  io.of("/").on_connection([&](Socket& s) { s.on_disconnect([&](std::string_view r) { reasons.emplace_back(r); }); });
  TestClient a(transport), b(transport);
  a.connect();
  b.connect();
  io.shutdown();
  transport.run_until_idle();
  EXPECT_FALSE(a.is_open());
  EXPECT_FALSE(b.is_open());
  EXPECT_EQ(reasons, (std::vector<std::string>{"server shutting down", "server shutting down"}));
}

TEST_F(SocketIoServerTest, TypedDataSetByMiddlewareReachesHandlers) {
  struct Session {
    int level = 0;
  };
  io.of("/").use([](Socket& s) -> std::optional<ConnectError> {
    s.data() = Session{7};
    return std::nullopt;
  });
  int level = -1;
  bool wrong_type_is_null = false;
  io.of("/").on_connection([&](Socket& s) {
    level = s.data_as<Session>()->level;
    wrong_type_is_null = s.data_as<std::string>() == nullptr;
  });
  TestClient c(transport);
  c.connect();
  EXPECT_EQ(level, 7);
  EXPECT_TRUE(wrong_type_is_null);
}

TEST_F(SocketIoServerTest, AckAfterDisconnectIsDropped) {
  Ack kept;
  io.of("/").on_connection([&](Socket& s) {
    s.on("later", [&](const Json::Array&, const Ack& ack) { kept = ack; });
  });
  TestClient c(transport), other(transport);
  c.connect();
  c.send(R"(25["later"])");
  c.texts();
  ASSERT_TRUE(kept);
  c.close();
  transport.run_until_idle();
  kept.send("too late");  // must not crash nor reach anyone
  EXPECT_TRUE(other.texts().empty());
}

TEST_F(SocketIoServerTest, HandlerMayDisconnectDuringConnection) {
  int events = 0;
  io.of("/").on_connection([](Socket& s) { s.disconnect(); });
  io.of("/").on_connection([&](Socket&) { ++events; });  // not reached: the socket is gone
  TestClient c(transport);
  c.send("0");
  auto t = c.texts();
  ASSERT_EQ(t.size(), 2u);
  EXPECT_EQ(t[1], "1");
  EXPECT_EQ(events, 0);
  EXPECT_TRUE(c.is_open());
  EXPECT_EQ(io.of("/").size(), 0u);
}

// An application handler that throws costs its own connection and nothing
// else: the exception stops at the Socket.IO server's transport boundary
// (before, it unwound into the transport's loop and out of run()).
TEST_F(SocketIoServerTest, ThrowingHandlerClosesOnlyItsConnection) {
  int served = 0;
  bool disconnect_threw = false;
  io.of("/").on_connection([&](Socket& s) {
    s.on("boom", [](const Json::Array&, Ack) { throw std::runtime_error("application bug"); });
    s.on("ping", [&](const Json::Array&, Ack ack) {
      ++served;
      ack.send(std::string("pong"));
    });
    s.on_disconnect([&](std::string_view) {
      disconnect_threw = true;
      throw std::runtime_error("bug in a disconnect handler");
    });
  });
  TestClient bad(transport);
  TestClient good(transport);
  ASSERT_FALSE(bad.connect().empty());
  ASSERT_FALSE(good.connect().empty());
  bad.send(R"(2["boom"])");
  bad.texts();
  EXPECT_FALSE(bad.is_open());
  EXPECT_EQ(bad.close_reason(), CloseReason::server_close);
  EXPECT_TRUE(disconnect_threw);  // and that throw stopped too
  good.send(R"(21["ping"])");
  auto texts = good.texts();
  ASSERT_EQ(texts.size(), 1u);
  EXPECT_EQ(texts[0], R"(31["pong"])");
  EXPECT_EQ(served, 1);
  EXPECT_EQ(io.of("/").size(), 1u);
}

}  // namespace
}  // namespace realtime::socketio
