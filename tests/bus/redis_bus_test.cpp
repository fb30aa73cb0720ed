// RedisBus against a real redis-server that each test starts on a free
// port: two buses stand for two nodes. Covers delivery through Redis, byte
// payloads, (un)subscribing, a Redis killed and restarted, a Redis that
// stops answering, one that is not there, and the publish queue's bound.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "realtime/in_process_transport.h"
#include "realtime/redis_bus.h"
#include "redis_server.h"

namespace realtime::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

TEST(RedisUrl, HostPortPasswordAndDatabase) {
  auto plain = parse_redis_url("redis://cache.internal");
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(plain->host, "cache.internal");
  EXPECT_EQ(plain->port, 6379);
  auto full = parse_redis_url("redis://:s3cret@10.0.0.5:6380/2");
  ASSERT_TRUE(full.ok()) << full.status().to_string();
  EXPECT_EQ(full->host, "10.0.0.5");
  EXPECT_EQ(full->port, 6380);
  EXPECT_EQ(full->password, "s3cret");
  for (const char* bad : {"http://x", "redis://", "redis://h:0", "redis://h:70000", "redis://h:12ab", "redis://h/x"}) {
    auto r = parse_redis_url(bad);
    EXPECT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.status().code(), StatusCode::bad_request) << bad;
  }
}

class RedisBusTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = RedisServer::start();
    if (!s.ok()) GTEST_SKIP() << s.status().to_string();
    redis_ = std::move(*s);
  }

  RedisBusOptions options() const {
    RedisBusOptions o;
    o.port = redis_->port();
    o.io_timeout = milliseconds(500);
    o.reconnect_min = milliseconds(20);
    o.reconnect_max = milliseconds(200);
    return o;
  }

  // Runs `loop` until the bus reports `want` (through its state handler).
  static bool await_state(RedisBus& bus, InProcessTransport& loop, Bus::State want) {
    Bus::State seen = bus.state();
    const auto watch = bus.watch_state(loop, [&seen](Bus::State s) { seen = s; });
    const bool ok = loop.run_until([&] { return seen == want && bus.state() == want; }, seconds(10));
    bus.unwatch_state(watch);
    return ok;
  }

  std::unique_ptr<RedisServer> redis_;
};

TEST_F(RedisBusTest, TwoNodesExchangeMessagesInOrderOnTheSubscribersLoop) {
  InProcessTransport loop_a, loop_b;
  RedisBus a(options()), b(options());
  ASSERT_TRUE(await_state(a, loop_a, Bus::State::up));
  ASSERT_TRUE(await_state(b, loop_b, Bus::State::up));
  std::vector<std::string> got_b;
  int got_a = 0;
  b.subscribe("room:1", loop_b, [&](std::string_view ch, std::string_view p) {
    EXPECT_EQ(ch, "room:1");
    got_b.emplace_back(p);
  });
  a.subscribe("room:2", loop_a, [&](std::string_view, std::string_view) { ++got_a; });
  ASSERT_TRUE(redis_->await_subscribers("room:1", 1));
  ASSERT_TRUE(redis_->await_subscribers("room:2", 1));
  for (int i = 0; i < 200; ++i) a.publish("room:1", std::to_string(i));
  ASSERT_TRUE(loop_b.run_until([&] { return got_b.size() == 200; }, seconds(10))) << got_b.size();
  for (int i = 0; i < 200; ++i) ASSERT_EQ(got_b[static_cast<std::size_t>(i)], std::to_string(i));
  loop_a.run_until_idle();
  EXPECT_EQ(got_a, 0);
  EXPECT_EQ(a.stats().published, 200u);
  EXPECT_EQ(b.stats().delivered, 200u);
  EXPECT_EQ(a.stats().dropped + b.stats().dropped, 0u);
}

TEST_F(RedisBusTest, PayloadsAreBytesUpToAMegabyte) {
  InProcessTransport loop;
  RedisBus bus(options());
  ASSERT_TRUE(await_state(bus, loop, Bus::State::up));
  std::vector<std::string> got;
  bus.subscribe("c", loop, [&](std::string_view, std::string_view p) { got.emplace_back(p); });
  ASSERT_TRUE(redis_->await_subscribers("c", 1));
  const std::string small("a\0b\r\n\xff", 6);
  std::string big(1 << 20, 'x');
  big[12345] = '\0';
  bus.publish("c", small);
  bus.publish("c", big);
  ASSERT_TRUE(loop.run_until([&] { return got.size() == 2; }, seconds(10)));
  EXPECT_EQ(got[0], small);
  EXPECT_TRUE(got[1] == big);
}

TEST_F(RedisBusTest, TheChannelIsLeftWithItsLastSubscription) {
  InProcessTransport loop;
  RedisBus bus(options());
  ASSERT_TRUE(await_state(bus, loop, Bus::State::up));
  auto first = bus.subscribe("c", loop, [](std::string_view, std::string_view) {});
  auto second = bus.subscribe("c", loop, [](std::string_view, std::string_view) {});
  ASSERT_TRUE(redis_->await_subscribers("c", 1)) << "one Redis subscription per channel and node";
  bus.unsubscribe(first);
  bus.subscribe("other", loop, [](std::string_view, std::string_view) {});
  ASSERT_TRUE(redis_->await_subscribers("other", 1));
  EXPECT_EQ(redis_->subscribers("c"), 1);
  bus.unsubscribe(second);
  EXPECT_TRUE(redis_->await_subscribers("c", 0));
}

TEST_F(RedisBusTest, ARedisKilledAndRestartedIsRiddenOut) {
  InProcessTransport loop;
  RedisBus bus(options());
  ASSERT_TRUE(await_state(bus, loop, Bus::State::up));
  std::vector<std::string> got;
  bus.subscribe("c", loop, [&](std::string_view, std::string_view p) { got.emplace_back(p); });
  ASSERT_TRUE(redis_->await_subscribers("c", 1));

  redis_->kill();
  ASSERT_TRUE(await_state(bus, loop, Bus::State::down));
  bus.publish("c", "while down");
  EXPECT_EQ(bus.stats().dropped, 1u);

  ASSERT_TRUE(redis_->start_again().ok());
  ASSERT_TRUE(await_state(bus, loop, Bus::State::up));
  ASSERT_TRUE(redis_->await_subscribers("c", 1)) << "resubscribed by itself";
  bus.publish("c", "after");
  ASSERT_TRUE(loop.run_until([&] { return !got.empty(); }, seconds(10)));
  EXPECT_EQ(got, std::vector<std::string>{"after"});
}

TEST_F(RedisBusTest, ARedisThatStopsAnsweringIsNoticed) {
  InProcessTransport loop;
  RedisBus bus(options());
  ASSERT_TRUE(await_state(bus, loop, Bus::State::up));
  redis_->pause();  // connections stay open; nothing answers
  const auto paused_at = std::chrono::steady_clock::now();
  ASSERT_TRUE(await_state(bus, loop, Bus::State::down));
  // io_timeout is 500 ms: an idle link is PINGed after it and declared
  // dead after another.
  EXPECT_LT(std::chrono::steady_clock::now() - paused_at, seconds(5));
  redis_->resume();
  EXPECT_TRUE(await_state(bus, loop, Bus::State::up));
}

TEST_F(RedisBusTest, NoRedisAtAllIsDownDropsAndStopsPromptly) {
  InProcessTransport loop;
  auto o = options();
  redis_->kill();  // nothing listens on its port now
  const auto begin = std::chrono::steady_clock::now();
  {
    RedisBus bus(o);
    EXPECT_EQ(bus.state(), Bus::State::down);
    int got = 0;
    bus.subscribe("c", loop, [&](std::string_view, std::string_view) { ++got; });
    bus.publish("c", "nowhere");
    loop.run_until_idle();
    EXPECT_EQ(got, 0);
    EXPECT_EQ(bus.stats().dropped, 1u);
  }
  EXPECT_LT(std::chrono::steady_clock::now() - begin, seconds(5));
}

TEST_F(RedisBusTest, ThePublishQueueIsBoundedWhileRedisIsStuck) {
  InProcessTransport loop;
  auto o = options();
  o.io_timeout = seconds(20);  // stays up while stuck: only the queue bound can save memory
  o.max_publish_queue_bytes = 64 * 1024;
  RedisBus bus(o);
  ASSERT_TRUE(await_state(bus, loop, Bus::State::up));
  redis_->pause();
  const std::string payload(1024, 'p');
  constexpr int kCount = 20'000;  // 20 MiB: more than loopback's socket buffers take
  for (int i = 0; i < kCount; ++i) bus.publish("c", payload);
  const auto s = bus.stats();
  EXPECT_EQ(s.published, static_cast<std::uint64_t>(kCount));
  EXPECT_GT(s.dropped, 0u);
  redis_->resume();
}

}  // namespace
}  // namespace realtime::testing
