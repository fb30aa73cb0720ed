// Unit tests for the Engine.IO session state machine: heartbeat timing,
// the upgrade probe sequence, and what reaches the application.
#include "protocol/engineio_session.h"

#include <gtest/gtest.h>

namespace realtime::protocol::engineio {
namespace {

class EngineioSession : public ::testing::Test {
 protected:
  TimePoint t0_{};
  Session s_{SessionConfig{Millis(300), Millis(200), Millis(1000)}, t0_};
  TimePoint at(int ms) const { return t0_ + Millis(ms); }
};

TEST_F(EngineioSession, PingsAfterIntervalAndTimesOutWithoutPong) {
  EXPECT_EQ(s_.next_deadline(), at(300));
  EXPECT_TRUE(s_.on_timer(at(299)).to_primary.empty());
  auto out = s_.on_timer(at(300));
  ASSERT_EQ(out.to_primary.size(), 1u);
  EXPECT_EQ(out.to_primary[0].type, PacketType::ping);
  EXPECT_EQ(s_.next_deadline(), at(500));
  EXPECT_FALSE(s_.on_timer(at(499)).close);
  auto closed = s_.on_timer(at(500));
  ASSERT_TRUE(closed.close);
  EXPECT_EQ(*closed.close, CloseReason::ping_timeout);
  EXPECT_TRUE(s_.closed());
}

TEST_F(EngineioSession, PongReschedulesNextPing) {
  (void)s_.on_timer(at(300));
  (void)s_.on_packet(Packet::text(PacketType::pong), Channel::primary, at(350));
  EXPECT_EQ(s_.next_deadline(), at(650));
  EXPECT_FALSE(s_.on_timer(at(500)).close);
}

TEST_F(EngineioSession, UnsolicitedPongDoesNotMoveTheSchedule) {
  (void)s_.on_packet(Packet::text(PacketType::pong), Channel::primary, at(100));
  EXPECT_EQ(s_.next_deadline(), at(300));
}

TEST_F(EngineioSession, MessagesAreDeliveredInOrder) {
  auto out = s_.on_packet(Packet::text(PacketType::message, "hi"), Channel::primary, at(1));
  ASSERT_EQ(out.deliver.size(), 1u);
  EXPECT_EQ(out.deliver[0].data, "hi");
  auto bin = s_.on_packet(Packet::blob("\x01"), Channel::primary, at(2));
  ASSERT_EQ(bin.deliver.size(), 1u);
  EXPECT_TRUE(bin.deliver[0].binary);
}

TEST_F(EngineioSession, ClientCloseEndsSession) {
  auto out = s_.on_packet(Packet::text(PacketType::close), Channel::primary, at(1));
  ASSERT_TRUE(out.close);
  EXPECT_EQ(*out.close, CloseReason::client_close);
  EXPECT_TRUE(s_.on_packet(Packet::text(PacketType::message, "x"), Channel::primary, at(2)).deliver.empty());
}

TEST_F(EngineioSession, UpgradeProbeSequence) {
  auto probe = s_.on_packet(Packet::text(PacketType::ping, "probe"), Channel::probe, at(10));
  ASSERT_EQ(probe.to_probe.size(), 1u);
  EXPECT_EQ(encode_ws(probe.to_probe[0]), "3probe");
  EXPECT_TRUE(probe.flush_poll);
  EXPECT_TRUE(s_.upgrading());
  auto done = s_.on_packet(Packet::text(PacketType::upgrade), Channel::probe, at(20));
  EXPECT_TRUE(done.upgraded);
  EXPECT_TRUE(done.flush_poll);
  EXPECT_TRUE(s_.upgraded());
  EXPECT_FALSE(s_.upgrading());
}

TEST_F(EngineioSession, UpgradeWithoutProbeIsRefused) {
  auto out = s_.on_packet(Packet::text(PacketType::upgrade), Channel::probe, at(10));
  EXPECT_FALSE(out.upgraded);
  EXPECT_TRUE(out.drop_probe);
}

TEST_F(EngineioSession, UpgradeTimesOut) {
  (void)s_.on_packet(Packet::text(PacketType::ping, "probe"), Channel::probe, at(10));
  EXPECT_EQ(s_.next_deadline(), at(300));  // the ping comes first
  (void)s_.on_timer(at(300));
  (void)s_.on_packet(Packet::text(PacketType::pong), Channel::primary, at(310));
  auto out = s_.on_timer(at(1010));
  EXPECT_TRUE(out.drop_probe);
  EXPECT_FALSE(s_.upgrading());
  EXPECT_FALSE(out.close);
}

}  // namespace
}  // namespace realtime::protocol::engineio
