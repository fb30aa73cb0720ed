// The handler/transport lifetime that transport.h documents: the transport
// is built first and destroyed last, so the Server (its handler) goes
// first, and the transport must never call it afterwards. Events already
// queued for it, and new ones from clients still connected, are dropped.
// Under ASan a transport that still called the destroyed Server is a
// heap-use-after-free; without ASan the checks below still see the calls.
#include <gtest/gtest.h>

#include <memory>

#include "realtime/in_process_transport.h"
#include "realtime/socketio_server.h"
#include "socketio_test_util.h"

namespace realtime::socketio {
namespace {

using testing::TestClient;

// A handler that records calls after it was told it is gone.
class Recorder final : public TransportHandler {
 public:
  explicit Recorder(Transport& t) : t_(t) { t_.set_handler(*this); }
  ~Recorder() override { t_.clear_handler(); }
  void on_open(const std::shared_ptr<Connection>&, const Handshake&) override { ++opens; }
  void on_message(Connection&, std::string_view, bool) override { ++messages; }
  void on_close(Connection&, CloseReason) override { ++closes; }
  int opens = 0, messages = 0, closes = 0;

 private:
  Transport& t_;
};

TEST(SocketioLifetime, ServerDestroyedBeforeItsTransportIsNeverCalledAgain) {
  InProcessTransport transport;
  auto server = std::make_unique<Server>(transport);
  int events = 0;
  server->of("/").on_connection([&](Socket& s) { s.on("x", [&](const Json::Array&, Ack) { ++events; }); });
  TestClient client(transport);
  ASSERT_FALSE(client.connect().empty());
  client.send(R"(2["x"])");
  client.texts();
  ASSERT_EQ(events, 1);

  // Queued for the server, then the server goes: none of this reaches it.
  client.send(R"(2["x"])");
  server.reset();
  client.send(R"(2["x"])");
  client.close();
  transport.run_until_idle();
  EXPECT_EQ(events, 1);

  // A new handler on the same transport works, and sees only new clients.
  Recorder rec(transport);
  TestClient second(transport);
  second.send("0");
  second.close();
  transport.run_until_idle();
  EXPECT_EQ(rec.opens, 1);
  EXPECT_EQ(rec.messages, 1);
  EXPECT_EQ(rec.closes, 1);
}

TEST(SocketioLifetime, ClearHandlerDropsEventsAlreadyQueued) {
  InProcessTransport transport;
  Recorder rec(transport);
  auto conn = transport.connect({});
  conn->send("hello");
  transport.clear_handler();
  transport.clear_handler();  // idempotent
  conn->close();
  transport.run_until_idle();
  EXPECT_EQ(rec.opens, 0);
  EXPECT_EQ(rec.messages, 0);
  EXPECT_EQ(rec.closes, 0);
}

}  // namespace
}  // namespace realtime::socketio
