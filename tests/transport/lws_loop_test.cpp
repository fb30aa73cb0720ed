// Tests of LwsTransport as an EventLoop and as a Transport in-process:
// post() from other threads, timers, stop(), and the close reasons the
// handler sees (too_slow when the queue cap is passed, ping_timeout).
#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <future>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <thread>
#include <vector>

#include "http_test_client.h"
#include "lws_test_server.h"

namespace realtime {
namespace {

using namespace std::chrono_literals;

TEST(LwsLoop, EphemeralPortIsBound) {
  testing::LwsTestServer s(LwsOptions{});
  ASSERT_TRUE(s.ok());
  EXPECT_GT(s.port(), 0);
}

TEST(LwsLoop, PostRunsTasksOnTheLoopThreadInOrder) {
  testing::LwsTestServer s(LwsOptions{});
  ASSERT_TRUE(s.ok());
  s.start();
  constexpr int kPerThread = 500;
  std::mutex mu;
  std::vector<std::pair<int, int>> seen;
  std::set<std::thread::id> loop_threads;
  std::promise<void> done;
  std::atomic<int> count{0};
  auto producer = [&](int who) {
    for (int i = 0; i < kPerThread; ++i) {
      s.transport().post([&, who, i] {
        std::lock_guard<std::mutex> lock(mu);
        seen.emplace_back(who, i);
        loop_threads.insert(std::this_thread::get_id());
        if (++count == 2 * kPerThread) done.set_value();
      });
    }
  };
  std::thread a(producer, 0), b(producer, 1);
  a.join();
  b.join();
  ASSERT_EQ(done.get_future().wait_for(5s), std::future_status::ready);
  std::lock_guard<std::mutex> lock(mu);
  EXPECT_EQ(loop_threads.size(), 1u);
  EXPECT_EQ(loop_threads.count(std::this_thread::get_id()), 0u);
  int next[2] = {0, 0};
  for (auto [who, i] : seen) EXPECT_EQ(i, next[who]++);
}

TEST(LwsLoop, TimersFireInDeadlineOrderAndCancelWorks) {
  testing::LwsTestServer s(LwsOptions{});
  ASSERT_TRUE(s.ok());
  s.start();
  std::vector<int> order;  // touched on the loop thread only
  std::promise<std::vector<int>> done;
  auto start = std::chrono::steady_clock::now();
  s.transport().post([&] {
    auto& loop = s.transport();
    loop.set_timer(30ms, [&] { order.push_back(30); });
    loop.set_timer(10ms, [&] { order.push_back(10); });
    auto id = loop.set_timer(20ms, [&] { order.push_back(20); });
    EXPECT_NE(id, 0u);
    loop.cancel_timer(id);
    loop.cancel_timer(id);  // twice is a no-op
    loop.set_timer(40ms, [&] { done.set_value(order); });
  });
  auto f = done.get_future();
  ASSERT_EQ(f.wait_for(5s), std::future_status::ready);
  EXPECT_EQ(f.get(), (std::vector<int>{10, 30}));
  EXPECT_GE(std::chrono::steady_clock::now() - start, 40ms);
}

TEST(LwsLoop, StopFromAnotherThreadEndsRun) {
  testing::LwsTestServer s(LwsOptions{});
  ASSERT_TRUE(s.ok());
  std::promise<void> returned;
  std::thread loop([&] {
    s.transport().run();
    returned.set_value();
  });
  std::thread([&] { s.transport().stop(); }).join();
  EXPECT_EQ(returned.get_future().wait_for(5s), std::future_status::ready);
  loop.join();
}

// Records what the transport reports, for the test thread to wait on.
class Recorder final : public TransportHandler {
 public:
  std::function<void(const std::shared_ptr<Connection>&)> on_open_hook;
  void on_open(const std::shared_ptr<Connection>& conn, const Handshake& hs) override {
    std::lock_guard<std::mutex> lock(mu_);
    query_ = hs.query;
    if (on_open_hook) on_open_hook(conn);
  }
  void on_message(Connection&, std::string_view, bool) override {}
  void on_close(Connection&, CloseReason reason) override {
    std::lock_guard<std::mutex> lock(mu_);
    reasons_.push_back(reason);
    cv_.notify_all();
  }
  std::optional<CloseReason> wait_close(std::chrono::milliseconds within) {
    std::unique_lock<std::mutex> lock(mu_);
    if (!cv_.wait_for(lock, within, [&] { return !reasons_.empty(); })) return std::nullopt;
    return reasons_.front();
  }
  std::map<std::string, std::string, std::less<>> query() {
    std::lock_guard<std::mutex> lock(mu_);
    return query_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<CloseReason> reasons_;
  std::map<std::string, std::string, std::less<>> query_;
};

TEST(LwsSession, QueuePastTheCapClosesWithTooSlow) {
  LwsOptions opt;
  opt.max_queued_bytes = 4096;
  testing::LwsTestServer s(opt);
  ASSERT_TRUE(s.ok());
  Recorder rec;
  std::vector<SendStatus> statuses;  // loop thread, read after the close
  rec.on_open_hook = [&](const std::shared_ptr<Connection>& conn) {
    // The client never polls, so nothing drains.
    for (int i = 0; i < 8; ++i) statuses.push_back(conn->send(Frame::text(std::string(1000, 'q'))));
  };
  s.transport().set_handler(rec);
  s.start();
  auto r = testing::http(s.port(), "GET", "/socket.io/?EIO=4&transport=polling&token=abc");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  auto reason = rec.wait_close(5s);
  ASSERT_TRUE(reason);
  EXPECT_EQ(*reason, CloseReason::too_slow);
  EXPECT_EQ(rec.query()["token"], "abc");
  s.stop();
  ASSERT_EQ(statuses.size(), 8u);
  EXPECT_EQ(statuses[0], SendStatus::sent);
  EXPECT_EQ(statuses[3], SendStatus::backpressure);
  EXPECT_EQ(statuses[4], SendStatus::dropped);
  EXPECT_EQ(statuses[7], SendStatus::dropped);
}

TEST(LwsSession, NoPongClosesWithPingTimeout) {
  LwsOptions opt;
  opt.ping_interval = 50ms;
  opt.ping_timeout = 50ms;
  testing::LwsTestServer s(opt);
  ASSERT_TRUE(s.ok());
  Recorder rec;
  s.transport().set_handler(rec);
  s.start();
  auto start = std::chrono::steady_clock::now();
  auto r = testing::http(s.port(), "GET", "/socket.io/?EIO=4&transport=polling");
  ASSERT_TRUE(r);
  auto reason = rec.wait_close(5s);
  ASSERT_TRUE(reason);
  EXPECT_EQ(*reason, CloseReason::ping_timeout);
  EXPECT_GE(std::chrono::steady_clock::now() - start, 100ms);
}

TEST(LwsSession, ShutdownClosesOpenSessions) {
  testing::LwsTestServer s(LwsOptions{});
  ASSERT_TRUE(s.ok());
  Recorder rec;
  s.transport().set_handler(rec);
  s.start();
  auto r = testing::http(s.port(), "GET", "/socket.io/?EIO=4&transport=polling");
  ASSERT_TRUE(r);
  s.stop();
  auto reason = rec.wait_close(1s);
  ASSERT_TRUE(reason);
  EXPECT_EQ(*reason, CloseReason::server_shutdown);
}

}  // namespace
}  // namespace realtime
