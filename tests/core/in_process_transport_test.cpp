#include "realtime/in_process_transport.h"

#include <gtest/gtest.h>

#include <thread>

namespace realtime {
namespace {

using std::chrono::milliseconds;

// Records what the transport reports and echoes every message back.
class EchoHandler final : public TransportHandler {
 public:
  void on_open(const std::shared_ptr<Connection>& conn, const Handshake& hs) override {
    opened.push_back(conn);
    last_handshake = hs;
  }
  void on_message(Connection& conn, std::string_view data, bool binary) override {
    messages.emplace_back(data);
    conn.send(binary ? Frame::blob(std::string(data)) : Frame::text(std::string(data)));
  }
  void on_close(Connection& conn, CloseReason reason) override {
    closed.emplace_back(conn.id(), reason);
  }
  std::vector<std::shared_ptr<Connection>> opened;
  std::vector<std::string> messages;
  std::vector<std::pair<std::string, CloseReason>> closed;
  Handshake last_handshake;
};

class InProcessTransportTest : public ::testing::Test {
 protected:
  void SetUp() override { transport.set_handler(handler); }
  InProcessTransport transport;
  EchoHandler handler;
};

TEST_F(InProcessTransportTest, OpenMessageEchoClose) {
  Handshake hs;
  hs.query["token"] = "t";
  auto client = transport.connect(hs);
  EXPECT_TRUE(handler.opened.empty()) << "on_open runs on the next loop turn";
  transport.run_until_idle();
  ASSERT_EQ(handler.opened.size(), 1u);
  EXPECT_EQ(handler.opened[0]->id(), client->id());
  EXPECT_EQ(handler.last_handshake.query.at("token"), "t");

  client->send("hi");
  client->send(std::string("\x00\x01", 2), true);
  transport.run_until_idle();
  EXPECT_EQ(handler.messages, (std::vector<std::string>{"hi", std::string("\x00\x01", 2)}));
  auto frames = client->take();
  ASSERT_EQ(frames.size(), 2u);
  EXPECT_EQ(frames[0].view(), "hi");
  EXPECT_TRUE(frames[1].binary);
  EXPECT_TRUE(client->received().empty());

  client->close();
  transport.run_until_idle();
  ASSERT_EQ(handler.closed.size(), 1u);
  EXPECT_EQ(handler.closed[0].second, CloseReason::client_close);
  EXPECT_FALSE(client->is_open());
}

TEST_F(InProcessTransportTest, ServerCloseIsReportedOnceAndDropsLaterSends) {
  auto client = transport.connect();
  transport.run_until_idle();
  auto conn = handler.opened.at(0);
  conn->close(CloseReason::server_close);
  conn->close(CloseReason::server_close);
  EXPECT_EQ(conn->send(Frame::text("late")), SendStatus::dropped);
  transport.run_until_idle();
  EXPECT_EQ(handler.closed.size(), 1u);
  EXPECT_EQ(client->close_reason(), CloseReason::server_close);
  client->send("ignored");
  transport.run_until_idle();
  EXPECT_TRUE(handler.messages.empty());
}

TEST(InProcessTransportLimits, ReaderThatNeverReadsIsClosedTooSlow) {
  InProcessTransport transport(InProcessTransport::Options{.max_queued_bytes = 1000});
  EchoHandler handler;
  transport.set_handler(handler);
  auto slow = transport.connect();
  auto fine = transport.connect();
  transport.run_until_idle();
  auto slow_conn = handler.opened.at(0);
  SendStatus last = SendStatus::sent;
  int sends = 0;
  for (; sends < 100 && last != SendStatus::dropped; ++sends) last = slow_conn->send(Frame::text(std::string(100, 'x')));
  EXPECT_EQ(last, SendStatus::dropped);
  EXPECT_LE(sends, 11);
  transport.run_until_idle();
  EXPECT_EQ(slow->close_reason(), CloseReason::too_slow);
  // The other client is unaffected.
  fine->send("still here");
  transport.run_until_idle();
  EXPECT_EQ(fine->take().size(), 1u);
}

TEST_F(InProcessTransportTest, TimersFireInOrderWhenTimeAdvances) {
  std::vector<int> fired;
  transport.set_timer(milliseconds(30), [&] { fired.push_back(30); });
  transport.set_timer(milliseconds(10), [&] { fired.push_back(10); });
  auto cancelled = transport.set_timer(milliseconds(20), [&] { fired.push_back(20); });
  transport.cancel_timer(cancelled);
  transport.cancel_timer(cancelled);  // no-op
  transport.advance(milliseconds(9));
  EXPECT_TRUE(fired.empty());
  transport.advance(milliseconds(25));
  EXPECT_EQ(fired, (std::vector<int>{10, 30}));
}

TEST_F(InProcessTransportTest, TimerSetFromTimerUsesTimeOfFiring) {
  std::vector<long> at;
  const auto start = transport.now();
  transport.set_timer(milliseconds(10), [&] {
    at.push_back(std::chrono::duration_cast<milliseconds>(transport.now() - start).count());
    transport.set_timer(milliseconds(10), [&] {
      at.push_back(std::chrono::duration_cast<milliseconds>(transport.now() - start).count());
    });
  });
  transport.advance(milliseconds(100));
  EXPECT_EQ(at, (std::vector<long>{10, 20}));
}

TEST_F(InProcessTransportTest, RunUntilWaitsForPostsFromOtherThreads) {
  bool done = false;
  std::thread worker([&] { transport.post([&] { done = true; }); });
  EXPECT_TRUE(transport.run_until([&] { return done; }, std::chrono::seconds(10)));
  worker.join();
}

TEST_F(InProcessTransportTest, RunUntilGivesUpAtTimeout) {
  EXPECT_FALSE(transport.run_until([] { return false; }, milliseconds(20)));
}

}  // namespace
}  // namespace realtime
