// Unit tests of the lws transport's Engine.IO session table (EioSessions)
// with fake sockets: every call it makes on libwebsockets goes through
// EioSockets, which FakeSockets records, and its time is the loop's, which
// InProcessTransport lets the test move by hand. So handshakes, held polls,
// probes, heartbeats and closes are checked here without a socket or a
// sleep; the real sockets are covered by transport.engineio_echo and the
// official Engine.IO suite.
#include <gtest/gtest.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "protocol/engineio_packet.h"
#include "realtime/in_process_transport.h"
#include "realtime/json.h"
#include "transport/lws/engineio_sessions.h"

namespace realtime::lws_detail {
namespace {

using std::chrono::milliseconds;

// libwebsockets' sockets are opaque to the table: distinct addresses do.
lws* socket_no(int n) { return reinterpret_cast<lws*>(static_cast<std::uintptr_t>(0x1000 + 16 * n)); }

class FakeSockets final : public EioSockets {
 public:
  void respond(lws* wsi, HttpResponse response) override { responses[wsi].push_back(std::move(response)); }
  void writable(lws* wsi) override { ++writable_asks[wsi]; }
  void kill(lws* wsi) override { killed[wsi] = true; }
  void timeout(lws* wsi, int seconds) override { timeouts[wsi] = seconds; }
  // Takes the whole queue, as "4hello"-style text frames (binary: raw).
  std::optional<std::size_t> write(lws* wsi, OutQueue& queue) override {
    if (fail_writes) return std::nullopt;
    std::size_t taken = 0;
    while (!queue.empty()) {
      const OutPacket& p = queue.front();
      const std::string data = p.data ? *p.data : std::string();
      written[wsi].push_back(p.binary ? data : protocol::engineio::encode_ws({p.type, data, false}));
      taken += data.size() + 1;
      queue.pop_front();
    }
    return taken;
  }

  // The one answer wsi got; fails the test if there is not exactly one.
  HttpResponse answer(lws* wsi) const {
    auto it = responses.find(wsi);
    if (it == responses.end() || it->second.size() != 1) {
      ADD_FAILURE() << "expected one answer on the socket, got "
                    << (it == responses.end() ? 0 : it->second.size());
      return {};
    }
    return it->second.front();
  }
  bool answered(lws* wsi) const { return responses.count(wsi) != 0; }

  std::map<lws*, std::vector<HttpResponse>> responses;
  std::map<lws*, int> writable_asks;
  std::map<lws*, bool> killed;
  std::map<lws*, int> timeouts;
  std::map<lws*, std::vector<std::string>> written;
  bool fail_writes = false;
};

class RecordingHandler final : public TransportHandler {
 public:
  void on_open(const std::shared_ptr<Connection>& conn, const Handshake& handshake) override {
    opened.push_back(conn);
    last_handshake = handshake;
  }
  void on_message(Connection& conn, std::string_view data, bool binary) override {
    messages.push_back({conn.id(), std::string(data), binary});
  }
  void on_close(Connection& conn, CloseReason reason) override { closed.push_back({conn.id(), reason}); }

  struct Message {
    std::string sid;
    std::string data;
    bool binary;
  };
  struct Closed {
    std::string sid;
    CloseReason reason;
  };
  std::vector<std::shared_ptr<Connection>> opened;
  Handshake last_handshake;
  std::vector<Message> messages;
  std::vector<Closed> closed;
};

class EioSessionsTest : public ::testing::Test {
 protected:
  EioSessionsTest() {
    options_.ping_interval = milliseconds(1000);
    options_.ping_timeout = milliseconds(500);
    options_.upgrade_timeout = milliseconds(800);
  }

  EioSessions& table() {
    if (!table_) {
      table_ = std::make_unique<EioSessions>(options_, loop_, sockets_);
      table_->set_handler(&handler_);
    }
    return *table_;
  }

  static HttpRequest request(std::string method, std::map<std::string, std::string, std::less<>> query,
                             std::string body = {}) {
    HttpRequest r;
    r.method = std::move(method);
    r.path = "/socket.io/";
    r.query = std::move(query);
    r.query.emplace("EIO", "4");
    r.body = std::move(body);
    r.body_size = r.body.size();
    r.remote_address = "127.0.0.1";
    return r;
  }

  // A polling handshake on socket n; the new session's sid.
  std::string open_polling(int n = 1) {
    auto req = request("GET", {{"transport", "polling"}, {"t", "abc"}});
    req.headers["user-agent"] = "test";
    table().on_request(socket_no(n), req);
    HttpResponse r = sockets_.answer(socket_no(n));
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.body.substr(0, 1), "0");
    auto open = Json::parse(std::string_view(r.body).substr(1));
    if (!open.ok()) {
      ADD_FAILURE() << "open packet is not JSON: " << r.body;
      return {};
    }
    return std::string((*open)["sid"].is_string() ? (*open)["sid"].as_string() : std::string());
  }

  void poll(int n, const std::string& sid) { table().on_request(socket_no(n), request("GET", poll_query(sid))); }
  void post(int n, const std::string& sid, std::string body) {
    table().on_request(socket_no(n), request("POST", poll_query(sid), std::move(body)));
  }
  static std::map<std::string, std::string, std::less<>> poll_query(const std::string& sid) {
    return {{"transport", "polling"}, {"sid", sid}};
  }

  // A WebSocket on socket n: a new session, or a probe of sid.
  bool open_ws(int n, const std::string& sid = {}) {
    std::map<std::string, std::string, std::less<>> q{{"transport", "websocket"}};
    if (!sid.empty()) q.emplace("sid", sid);
    return table().on_ws_established(socket_no(n), request("GET", std::move(q)));
  }

  LwsOptions options_;
  InProcessTransport loop_;
  FakeSockets sockets_;
  RecordingHandler handler_;
  std::unique_ptr<EioSessions> table_;
};

TEST_F(EioSessionsTest, PollingHandshakeOpensASessionOnceWithItsRequest) {
  const std::string sid = open_polling();
  ASSERT_EQ(sid.size(), 20u);  // 15 random bytes, base64url
  ASSERT_EQ(handler_.opened.size(), 1u);
  EXPECT_EQ(handler_.opened[0]->id(), sid);
  EXPECT_EQ(handler_.last_handshake.headers["user-agent"], "test");
  EXPECT_EQ(handler_.last_handshake.remote_address, "127.0.0.1");
  auto open = Json::parse(std::string_view(sockets_.answer(socket_no(1)).body).substr(1));
  ASSERT_TRUE(open.ok());
  EXPECT_EQ((*open)["pingInterval"].as_int(), 1000);
  EXPECT_EQ((*open)["pingTimeout"].as_int(), 500);
  EXPECT_EQ((*open)["upgrades"].as_array().at(0).as_string(), "websocket");
}

TEST_F(EioSessionsTest, BadRequestsAreAnsweredWithEngineIoErrors) {
  auto code_of = [&](int n) {
    auto r = sockets_.answer(socket_no(n));
    EXPECT_EQ(r.status, 400);
    auto j = Json::parse(r.body);
    return j.ok() ? (*j)["code"].as_int() : -1;
  };
  table().on_request(socket_no(1), request("GET", {{"transport", "carrier-pigeon"}}));
  EXPECT_EQ(code_of(1), 0);  // unknown transport
  table().on_request(socket_no(2), request("GET", poll_query("no-such-sid")));
  EXPECT_EQ(code_of(2), 1);  // unknown sid
  table().on_request(socket_no(3), request("POST", {{"transport", "polling"}}));
  EXPECT_EQ(code_of(3), 2);  // a handshake must be a GET
  auto old = request("GET", {{"transport", "polling"}});
  old.query["EIO"] = "3";
  table().on_request(socket_no(4), old);
  EXPECT_EQ(code_of(4), 5);  // unsupported protocol version
  EXPECT_TRUE(handler_.opened.empty());
}

TEST_F(EioSessionsTest, AHeldPollIsAnsweredWhenTheServerSends) {
  const std::string sid = open_polling();
  poll(2, sid);
  EXPECT_FALSE(sockets_.answered(socket_no(2)));
  EXPECT_EQ(sockets_.timeouts[socket_no(2)], 0);  // held, no lws timeout
  ASSERT_EQ(handler_.opened[0]->send(Frame::text("hello")), SendStatus::sent);
  ASSERT_GE(sockets_.writable_asks[socket_no(2)], 1);
  ASSERT_TRUE(table().on_poll_writeable(socket_no(2)));
  EXPECT_EQ(sockets_.answer(socket_no(2)).body, "4hello");
  // The poll is answered; another writeable callback on it is not ours.
  EXPECT_FALSE(table().on_poll_writeable(socket_no(2)));
}

TEST_F(EioSessionsTest, PacketsSentBetweenPollsLeaveTogetherOnTheNextOne) {
  const std::string sid = open_polling();
  handler_.opened[0]->send(Frame::text("a"));
  handler_.opened[0]->send(Frame::text("b"));
  EXPECT_EQ(handler_.opened[0]->queued_bytes(), 4u);
  poll(2, sid);
  ASSERT_TRUE(table().on_poll_writeable(socket_no(2)));
  EXPECT_EQ(sockets_.answer(socket_no(2)).body, std::string("4a\x1e") + "4b");
  EXPECT_EQ(handler_.opened[0]->queued_bytes(), 0u);
}

TEST_F(EioSessionsTest, APostDeliversEachPacketInOrder) {
  const std::string sid = open_polling();
  post(2, sid, std::string("4first\x1e") + "4second");
  EXPECT_EQ(sockets_.answer(socket_no(2)).body, "ok");
  ASSERT_EQ(handler_.messages.size(), 2u);
  EXPECT_EQ(handler_.messages[0].data, "first");
  EXPECT_EQ(handler_.messages[1].data, "second");
  EXPECT_EQ(handler_.messages[1].sid, sid);
}

TEST_F(EioSessionsTest, AMalformedPostClosesTheSessionWithParseError) {
  const std::string sid = open_polling();
  post(2, sid, "9nonsense");
  EXPECT_EQ(sockets_.answer(socket_no(2)).status, 400);
  EXPECT_TRUE(handler_.messages.empty());
  loop_.run_until_idle();
  ASSERT_EQ(handler_.closed.size(), 1u);
  EXPECT_EQ(handler_.closed[0].reason, CloseReason::parse_error);
  // The sid is gone.
  poll(3, sid);
  EXPECT_EQ(sockets_.answer(socket_no(3)).status, 400);
}

TEST_F(EioSessionsTest, ASecondConcurrentPollIsATransportError) {
  const std::string sid = open_polling();
  poll(2, sid);
  poll(3, sid);
  EXPECT_EQ(sockets_.answer(socket_no(3)).status, 400);
  // The held poll is answered with a close packet.
  EXPECT_EQ(sockets_.answer(socket_no(2)).body, "1");
  EXPECT_TRUE(handler_.closed.empty()) << "on_close comes on the next loop turn, not inside a request";
  loop_.run_until_idle();
  ASSERT_EQ(handler_.closed.size(), 1u);
  EXPECT_EQ(handler_.closed[0].reason, CloseReason::transport_error);
}

TEST_F(EioSessionsTest, AClientThatAnswersPingsStaysAndASilentOneTimesOut) {
  const std::string quiet = open_polling(1);
  const std::string lively = open_polling(2);
  poll(3, lively);
  loop_.advance(milliseconds(1000));  // ping time for both
  ASSERT_TRUE(table().on_poll_writeable(socket_no(3)));
  EXPECT_EQ(sockets_.answer(socket_no(3)).body, "2");
  post(4, lively, "3");
  loop_.advance(milliseconds(600));  // past the pong deadline
  loop_.run_until_idle();
  ASSERT_EQ(handler_.closed.size(), 1u);
  EXPECT_EQ(handler_.closed[0].sid, quiet);
  EXPECT_EQ(handler_.closed[0].reason, CloseReason::ping_timeout);
  EXPECT_TRUE(handler_.opened[1]->is_open());
}

TEST_F(EioSessionsTest, AProbeUpgradesAPollingSessionToItsWebSocket) {
  const std::string sid = open_polling();
  poll(2, sid);
  auto probe_req = request("GET", {{"transport", "websocket"}, {"sid", sid}});
  ASSERT_EQ(table().check_upgrade(probe_req), EioSessions::Upgrade::accept);
  ASSERT_TRUE(open_ws(3, sid));
  EXPECT_EQ(table().on_ws_receive(socket_no(3), "2probe", true, true, false), WsNext::keep);
  EXPECT_EQ(table().on_ws_writeable(socket_no(3)), WsNext::keep);
  EXPECT_EQ(sockets_.written[socket_no(3)], std::vector<std::string>{"3probe"});
  // The held poll is let go with a noop so that the client can upgrade.
  EXPECT_EQ(sockets_.answer(socket_no(2)).body, "6");
  // A second probe of a session that is upgrading is refused.
  EXPECT_EQ(table().check_upgrade(probe_req), EioSessions::Upgrade::refuse);

  table().on_ws_receive(socket_no(3), "5", true, true, false);
  handler_.opened[0]->send(Frame::text("over ws"));
  table().flush();
  EXPECT_EQ(sockets_.written[socket_no(3)].back(), "4over ws");
  // Polling the upgraded session is a client bug.
  poll(4, sid);
  EXPECT_EQ(sockets_.answer(socket_no(4)).status, 400);
  EXPECT_TRUE(handler_.closed.empty());
}

TEST_F(EioSessionsTest, AProbeThatNeverUpgradesIsDroppedAndPollingGoesOn) {
  const std::string sid = open_polling();
  ASSERT_TRUE(open_ws(3, sid));
  table().on_ws_receive(socket_no(3), "2probe", true, true, false);
  loop_.advance(milliseconds(900));  // past upgrade_timeout, before ping_interval
  EXPECT_TRUE(sockets_.killed[socket_no(3)]);
  EXPECT_TRUE(handler_.opened[0]->is_open());
  handler_.opened[0]->send(Frame::text("still polling"));
  poll(4, sid);
  ASSERT_TRUE(table().on_poll_writeable(socket_no(4)));
  EXPECT_EQ(sockets_.answer(socket_no(4)).body, "4still polling");
}

TEST_F(EioSessionsTest, AWebSocketSessionGetsItsOpenPacketAndMessagesInOneFlush) {
  ASSERT_TRUE(open_ws(1));
  ASSERT_EQ(handler_.opened.size(), 1u);
  handler_.opened[0]->send(Frame::text("x"));
  handler_.opened[0]->send(Frame::blob(std::string("\x01\x02", 2)));
  EXPECT_TRUE(sockets_.written.empty()) << "written when the turn ends, not per send";
  table().flush();
  const auto& out = sockets_.written[socket_no(1)];
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[0].substr(0, 2), "0{");
  EXPECT_EQ(out[0].find("upgrades\":[\"websocket"), std::string::npos) << "no upgrade offered on a WebSocket";
  EXPECT_EQ(out[1], "4x");
  EXPECT_EQ(out[2], std::string("\x01\x02", 2));
}

TEST_F(EioSessionsTest, FragmentsAreJoinedAndAnOversizedMessageCloses1009) {
  options_.max_payload = 16;
  ASSERT_TRUE(open_ws(1));
  EXPECT_EQ(table().on_ws_receive(socket_no(1), "4hel", true, false, false), WsNext::keep);
  EXPECT_EQ(table().on_ws_receive(socket_no(1), "lo", false, true, false), WsNext::keep);
  ASSERT_EQ(handler_.messages.size(), 1u);
  EXPECT_EQ(handler_.messages[0].data, "hello");

  EXPECT_EQ(table().on_ws_receive(socket_no(1), "4123456789", true, false, false), WsNext::keep);
  EXPECT_EQ(table().on_ws_receive(socket_no(1), "abcdefghij", false, true, false), WsNext::close_too_large);
  loop_.run_until_idle();
  ASSERT_EQ(handler_.closed.size(), 1u);
  EXPECT_EQ(handler_.closed[0].reason, CloseReason::transport_error);
  EXPECT_EQ(handler_.messages.size(), 1u);
}

TEST_F(EioSessionsTest, AMalformedWebSocketPacketClosesWithAProtocolError) {
  ASSERT_TRUE(open_ws(1));
  EXPECT_EQ(table().on_ws_receive(socket_no(1), "x", true, true, false), WsNext::close_protocol_error);
  loop_.run_until_idle();
  ASSERT_EQ(handler_.closed.size(), 1u);
  EXPECT_EQ(handler_.closed[0].reason, CloseReason::parse_error);
}

TEST_F(EioSessionsTest, ASendPastTheQueueCapClosesTooSlow) {
  options_.max_queued_bytes = 100;
  open_polling();
  auto conn = handler_.opened[0];
  EXPECT_EQ(conn->send(Frame::text(std::string(40, 'a'))), SendStatus::sent);
  EXPECT_EQ(conn->send(Frame::text(std::string(40, 'b'))), SendStatus::backpressure);
  EXPECT_TRUE(conn->backpressured());
  EXPECT_EQ(conn->send(Frame::text(std::string(40, 'c'))), SendStatus::dropped);
  EXPECT_FALSE(conn->is_open());
  loop_.run_until_idle();
  ASSERT_EQ(handler_.closed.size(), 1u);
  EXPECT_EQ(handler_.closed[0].reason, CloseReason::too_slow);
}

TEST_F(EioSessionsTest, SocketsGoingAwayEndTheirSessions) {
  const std::string polling = open_polling(1);
  poll(2, polling);
  ASSERT_TRUE(open_ws(3));
  table().on_socket_gone(socket_no(2));  // a long-poll dropped by the client
  table().on_socket_gone(socket_no(3));  // a WebSocket closed
  table().on_socket_gone(socket_no(9));  // not ours: ignored
  loop_.run_until_idle();
  ASSERT_EQ(handler_.closed.size(), 2u);
  EXPECT_EQ(handler_.closed[0].reason, CloseReason::transport_error);
  EXPECT_EQ(handler_.closed[1].reason, CloseReason::client_close);
}

TEST_F(EioSessionsTest, AServerCloseLetsTheQueueOutBeforeTheWebSocketCloses) {
  ASSERT_TRUE(open_ws(1));
  table().flush();  // the open packet
  auto conn = handler_.opened[0];
  conn->send(Frame::text("bye"));
  conn->close(CloseReason::server_close);
  EXPECT_FALSE(sockets_.killed[socket_no(1)]);
  EXPECT_EQ(sockets_.timeouts[socket_no(1)], 5);  // gives up after a while
  EXPECT_EQ(table().on_ws_writeable(socket_no(1)), WsNext::keep);
  EXPECT_EQ(sockets_.written[socket_no(1)].back(), "4bye");
  EXPECT_EQ(table().on_ws_writeable(socket_no(1)), WsNext::close_normal);
}

TEST_F(EioSessionsTest, AFailedWebSocketWriteKillsTheSocket) {
  ASSERT_TRUE(open_ws(1));
  sockets_.fail_writes = true;
  table().flush();
  EXPECT_TRUE(sockets_.killed[socket_no(1)]);
}

TEST_F(EioSessionsTest, CloseAllEndsEverySessionAndTheHandlerHearsLater) {
  open_polling(1);
  open_polling(2);
  ASSERT_TRUE(open_ws(3));
  table().close_all(CloseReason::server_shutdown);
  EXPECT_TRUE(handler_.closed.empty());
  loop_.run_until_idle();
  ASSERT_EQ(handler_.closed.size(), 3u);
  for (const auto& c : handler_.closed) EXPECT_EQ(c.reason, CloseReason::server_shutdown);
  EXPECT_TRUE(sockets_.killed[socket_no(3)]);
}

TEST_F(EioSessionsTest, NoCallbackAfterTheHandlerIsCleared) {
  open_polling(1);
  table().set_handler(nullptr);
  table().close_all(CloseReason::server_shutdown);
  loop_.run_until_idle();
  EXPECT_TRUE(handler_.closed.empty());
}

}  // namespace
}  // namespace realtime::lws_detail
