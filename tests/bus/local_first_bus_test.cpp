// LocalFirstBus: two processes' buses over one shared "network" bus (an
// InProcessBus standing in for Redis). Each message reaches every
// subscriber once: this process's loops directly, the other process's
// through the network; a payload that is not ours (the stock emitter's) is
// delivered as it came; the loops of a process keep hearing each other
// while the network is down.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "inbox.h"
#include "realtime/in_process_bus.h"
#include "realtime/in_process_transport.h"
#include "realtime/local_first_bus.h"

namespace realtime {
namespace {

using testing::Inbox;

struct TwoProcesses {
  InProcessBus network;
  LocalFirstBus p1{network}, p2{network};
  InProcessTransport p1_loop_a, p1_loop_b, p2_loop;
  Inbox a, b, c;
  TwoProcesses() {
    p1.subscribe("ch", p1_loop_a, a.handler());
    p1.subscribe("ch", p1_loop_b, b.handler());
    p2.subscribe("ch", p2_loop, c.handler());
  }
  void run() {
    for (int i = 0; i < 3; ++i) {
      p1_loop_a.run_until_idle();
      p1_loop_b.run_until_idle();
      p2_loop.run_until_idle();
    }
  }
};

TEST(LocalFirstBus, EverySubscriberHearsEachMessageOnce) {
  TwoProcesses t;
  t.p1.publish("ch", "from p1");
  t.p2.publish("ch", "from p2");
  t.run();
  const std::vector<std::string> both{"ch=from p1", "ch=from p2"};
  EXPECT_EQ(t.a.got, both);
  EXPECT_EQ(t.b.got, both);
  EXPECT_EQ(t.c.got, both);
  EXPECT_EQ(t.p1.stats().published, 1u);
  // (The stand-in network bus is shared by both processes, so its
  // delivered count is theirs together; a Redis bus is per process.)
}

TEST(LocalFirstBus, SomeoneElsesPayloadArrivesAsItCame) {
  TwoProcesses t;
  const std::string msgpack("\x93\xa3" "abc", 5);
  t.network.publish("ch", msgpack);
  t.network.publish("ch", std::string("\0short", 6));  // framed, but too short to be anyone's: dropped
  t.run();
  EXPECT_EQ(t.a.got, std::vector<std::string>{"ch=" + msgpack});
  EXPECT_EQ(t.c.got, std::vector<std::string>{"ch=" + msgpack});
}

TEST(LocalFirstBus, TheLoopsOfAProcessHearEachOtherWhileTheNetworkIsDown) {
  TwoProcesses t;
  t.network.set_state(Bus::State::down);
  EXPECT_EQ(t.p1.state(), Bus::State::down);
  t.p1.publish("ch", "during the outage");
  t.run();
  EXPECT_EQ(t.a.got, std::vector<std::string>{"ch=during the outage"});
  EXPECT_EQ(t.b.got, std::vector<std::string>{"ch=during the outage"});
  EXPECT_TRUE(t.c.got.empty());
  t.network.set_state(Bus::State::up);
  EXPECT_EQ(t.p1.state(), Bus::State::up);
}

TEST(LocalFirstBus, UnsubscribeStopsBothPaths) {
  InProcessBus network;
  LocalFirstBus p1{network}, p2{network};
  InProcessTransport loop;
  Inbox a;
  const auto id = p1.subscribe("ch", loop, a.handler());
  p1.unsubscribe(id);
  p1.publish("ch", "mine");
  p2.publish("ch", "theirs");
  loop.run_until_idle();
  EXPECT_TRUE(a.got.empty());
}

}  // namespace
}  // namespace realtime
