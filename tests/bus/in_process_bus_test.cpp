// InProcessBus: delivery on the subscriber's loop, order, unsubscribe,
// the per-subscription bound, outages and publishers on many threads.
// Loops are InProcessTransports driven by hand, so "not yet delivered" is
// checked by not running a loop rather than by timing.
#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

#include "inbox.h"
#include "realtime/in_process_bus.h"
#include "realtime/in_process_transport.h"

namespace realtime {
namespace {

using testing::Inbox;

TEST(InProcessBus, DeliversToEverySubscriberOnItsOwnLoopNeverInsidePublish) {
  InProcessBus bus;
  InProcessTransport loop_a, loop_b;
  Inbox a, b, other;
  bus.subscribe("room:1", loop_a, a.handler());
  bus.subscribe("room:1", loop_b, b.handler());
  bus.subscribe("room:2", loop_b, other.handler());
  bus.publish("room:1", "hi");
  EXPECT_TRUE(a.got.empty() && b.got.empty());
  loop_a.run_until_idle();
  EXPECT_EQ(a.got, std::vector<std::string>{"room:1=hi"});
  EXPECT_TRUE(b.got.empty()) << "b's delivery waits for b's loop";
  loop_b.run_until_idle();
  EXPECT_EQ(b.got, std::vector<std::string>{"room:1=hi"});
  EXPECT_TRUE(other.got.empty());
  bus.publish("room:3", "nobody listens");
  EXPECT_EQ(bus.stats().published, 2u);
  EXPECT_EQ(bus.stats().delivered, 2u);
  EXPECT_EQ(bus.stats().dropped, 0u);
}

TEST(InProcessBus, PayloadsAreBytes) {
  InProcessBus bus;
  InProcessTransport loop;
  std::string seen;
  bus.subscribe("c", loop, [&](std::string_view, std::string_view p) { seen = p; });
  const std::string bytes("a\0b\xff", 4);
  bus.publish("c", bytes);
  loop.run_until_idle();
  EXPECT_EQ(seen, bytes);
}

TEST(InProcessBus, UnsubscribeOnTheLoopSkipsDeliveriesAlreadyPosted) {
  InProcessBus bus;
  InProcessTransport loop;
  Inbox kept, gone;
  bus.subscribe("c", loop, kept.handler());
  auto id = bus.subscribe("c", loop, gone.handler());
  bus.publish("c", "1");
  bus.unsubscribe(id);
  bus.unsubscribe(id);      // again: ignored
  bus.unsubscribe(999999);  // never existed: ignored
  bus.publish("c", "2");
  loop.run_until_idle();
  EXPECT_TRUE(gone.got.empty());
  EXPECT_EQ(kept.got, (std::vector<std::string>{"c=1", "c=2"}));
}

TEST(InProcessBus, AStuckLoopHoldsAtMostItsBoundAndOthersGetEverything) {
  InProcessBusOptions options;
  options.max_queued_bytes = 10'000;
  InProcessBus bus(options);
  InProcessTransport stuck, running;
  int stuck_got = 0, running_got = 0;
  bus.subscribe("c", stuck, [&](std::string_view, std::string_view) { ++stuck_got; });
  bus.subscribe("c", running, [&](std::string_view, std::string_view) { ++running_got; });
  const std::string payload(100, 'x');
  for (int i = 0; i < 1000; ++i) {
    bus.publish("c", payload);
    running.run_until_idle();
  }
  EXPECT_EQ(running_got, 1000);
  stuck.run_until_idle();
  // Each delivery costs 100 + 1 + the fixed overhead: 60 of them fit.
  EXPECT_EQ(stuck_got, 10'000 / (100 + 1 + 64));
  EXPECT_EQ(bus.stats().dropped, static_cast<std::uint64_t>(1000 - stuck_got));
  // Once the loop caught up, the queue has room again.
  bus.publish("c", payload);
  stuck.run_until_idle();
  running.run_until_idle();
  EXPECT_EQ(stuck_got, 61);
  EXPECT_EQ(bus.stats().delivered, 1000u + 61u + 1u);
}

TEST(InProcessBus, ADownBusDropsAndTellsTheStateHandler) {
  InProcessBus bus;
  InProcessTransport loop;
  Inbox inbox;
  std::vector<Bus::State> states;
  bus.watch_state(loop, [&](Bus::State s) { states.push_back(s); });
  bus.subscribe("c", loop, inbox.handler());
  EXPECT_EQ(bus.state(), Bus::State::up);
  bus.set_state(Bus::State::down);
  bus.set_state(Bus::State::down);  // no change: no second call
  bus.publish("c", "lost");
  loop.run_until_idle();
  EXPECT_EQ(states, std::vector<Bus::State>{Bus::State::down});
  EXPECT_TRUE(inbox.got.empty());
  EXPECT_EQ(bus.stats().dropped, 1u);
  bus.set_state(Bus::State::up);
  bus.publish("c", "back");
  loop.run_until_idle();
  EXPECT_EQ(states, (std::vector<Bus::State>{Bus::State::down, Bus::State::up}));
  EXPECT_EQ(inbox.got, std::vector<std::string>{"c=back"});
}

TEST(InProcessBus, PublishersOnManyThreadsKeepTheirOwnOrder) {
  InProcessBus bus;
  InProcessTransport loop;
  constexpr int kThreads = 4, kEach = 2000;
  std::vector<int> next(kThreads, 0);
  int out_of_order = 0, total = 0;
  bus.subscribe("c", loop, [&](std::string_view, std::string_view p) {
    const int thread = p[0] - '0';
    const int n = std::stoi(std::string(p.substr(2)));
    if (n != next[thread]) ++out_of_order;
    next[thread] = n + 1;
    ++total;
  });
  std::vector<std::thread> publishers;
  for (int t = 0; t < kThreads; ++t)
    publishers.emplace_back([&bus, t] {
      for (int i = 0; i < kEach; ++i) {
        std::string p = std::to_string(t);
        p += ':';
        p += std::to_string(i);
        bus.publish("c", p);
      }
    });
  EXPECT_TRUE(loop.run_until([&] { return total == kThreads * kEach; }, std::chrono::seconds(20)));
  for (auto& p : publishers) p.join();
  loop.run_until_idle();
  EXPECT_EQ(total, kThreads * kEach);
  EXPECT_EQ(out_of_order, 0);
}

TEST(InProcessBus, DeliveriesPostedBeforeTheBusWentAwayCallNoHandler) {
  InProcessTransport loop;
  int calls = 0;
  {
    InProcessBus bus;
    bus.subscribe("c", loop, [&](std::string_view, std::string_view) { ++calls; });
    bus.publish("c", "late");
  }
  loop.run_until_idle();
  EXPECT_EQ(calls, 0);
}

}  // namespace
}  // namespace realtime
