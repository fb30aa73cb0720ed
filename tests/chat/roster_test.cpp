// Roster: other nodes' sockets in rooms, their numbering (gaps ask for a
// snapshot), restarts, dead nodes and the bounds.
#include "chat/roster.h"

#include <gtest/gtest.h>

namespace realtime::chat {
namespace {

using Clock = Roster::Clock;
using std::chrono::seconds;

RemoteSocket sock(std::string node, std::string sid, std::string user) {
  return RemoteSocket{std::move(node), std::move(sid), std::move(user), "Name", "user"};
}

TEST(Roster, NumberedAnnouncementsApplyInOrderAndAGapAsksForASnapshot) {
  Roster r(100, 10);
  const auto now = Clock::now();
  EXPECT_EQ(r.heard("a", "run1", 1, 0, now), Roster::Order::next);
  r.applied("a", 1);
  EXPECT_TRUE(r.add("room1", sock("a", "s1", "ann")));
  EXPECT_EQ(r.heard("a", "run1", 2, 0, now), Roster::Order::next);
  r.applied("a", 2);
  EXPECT_EQ(r.heard("a", "run1", 4, 0, now), Roster::Order::gap) << "3 was lost";
  r.applied("a", 4);
  EXPECT_EQ(r.heard("a", "run1", 0, 4, now), Roster::Order::next) << "a heartbeat at the number applied";
  EXPECT_EQ(r.heard("a", "run1", 0, 6, now), Roster::Order::gap) << "a heartbeat ahead: the last ones were lost";
  EXPECT_TRUE(r.user_in_room("room1", "ann"));
}

TEST(Roster, ANodeFirstHeardMidStreamIsAGap) {
  Roster r(100, 10);
  EXPECT_EQ(r.heard("a", "run1", 7, 0, Clock::now()), Roster::Order::gap);
  EXPECT_EQ(r.heard("b", "run1", 0, 0, Clock::now()), Roster::Order::next) << "a quiet node has nothing to miss";
  EXPECT_EQ(r.heard("c", "run1", 0, 3, Clock::now()), Roster::Order::gap);
}

TEST(Roster, ASnapshotReplacesTheNodesList) {
  Roster r(100, 10);
  r.heard("a", "run1", 1, 0, Clock::now());
  r.add("room1", sock("a", "s1", "ann"));
  r.add("room2", sock("a", "s2", "ann"));
  r.begin_snapshot("a", 9);
  r.add("room2", sock("a", "s3", "bob"));
  EXPECT_FALSE(r.user_in_room("room1", "ann"));
  EXPECT_EQ(r.users_in_room("room2"), (std::set<std::string>{"bob"}));
  EXPECT_EQ(r.entries(), 1u);
  EXPECT_EQ(r.heard("a", "run1", 10, 0, Clock::now()), Roster::Order::next) << "numbering goes on from the snapshot";
}

TEST(Roster, ARestartedNodeStartsEmpty) {
  Roster r(100, 10);
  r.heard("a", "run1", 1, 0, Clock::now());
  r.add("room1", sock("a", "s1", "ann"));
  EXPECT_EQ(r.incarnation_of("a"), "run1");
  EXPECT_EQ(r.heard("a", "run2", 1, 0, Clock::now()), Roster::Order::next);
  EXPECT_EQ(r.incarnation_of("a"), "run2");
  EXPECT_EQ(r.entries(), 0u);
  EXPECT_EQ(r.in_room("room1"), nullptr);
}

TEST(Roster, ASilentNodeIsFoundAndDroppingItReturnsItsSockets) {
  Roster r(100, 10);
  const auto t0 = Clock::now();
  r.heard("a", "run1", 1, 0, t0);
  r.heard("b", "run1", 1, 0, t0 + seconds(10));
  r.add("room1", sock("a", "s1", "ann"));
  r.add("room1", sock("b", "s2", "bob"));
  r.add("room2", sock("a", "s3", "ann"));
  EXPECT_EQ(r.silent_since(t0 + seconds(5)), std::vector<std::string>{"a"});
  auto gone = r.drop_node("a");
  ASSERT_EQ(gone.size(), 2u);
  EXPECT_EQ(gone[0].second.sid == "s1" ? gone[0].first : gone[1].first, "room1");
  EXPECT_EQ(r.entries(), 1u);
  EXPECT_EQ(r.nodes(), 1u);
  EXPECT_EQ(r.users_in_room("room1"), (std::set<std::string>{"bob"}));
  EXPECT_EQ(r.in_room("room2"), nullptr) << "an emptied room is forgotten";
  r.heard_all(t0 + seconds(20));
  EXPECT_TRUE(r.silent_since(t0 + seconds(15)).empty());
}

TEST(Roster, LeavingNeedsTheRightNode) {
  Roster r(100, 10);
  r.heard("a", "run1", 1, 0, Clock::now());
  r.heard("b", "run1", 1, 0, Clock::now());
  r.add("room1", sock("a", "s1", "ann"));
  r.remove("b", "room1", "s1");
  EXPECT_NE(r.find("room1", "s1"), nullptr) << "another node cannot take a's socket out";
  r.remove("a", "room1", "s1");
  EXPECT_EQ(r.find("room1", "s1"), nullptr);
  EXPECT_EQ(r.entries(), 0u);
}

TEST(Roster, EntriesAndNodesAreBounded) {
  Roster r(2, 2);
  r.heard("a", "run1", 1, 0, Clock::now());
  EXPECT_TRUE(r.add("room1", sock("a", "s1", "ann")));
  EXPECT_TRUE(r.add("room1", sock("a", "s2", "bob")));
  EXPECT_FALSE(r.add("room2", sock("a", "s3", "cid")));
  EXPECT_TRUE(r.add("room1", sock("a", "s2", "bob"))) << "an update is not a new entry";
  EXPECT_EQ(r.entries(), 2u);
  EXPECT_EQ(r.in_room("room2"), nullptr);
  r.heard("b", "run1", 1, 0, Clock::now());
  EXPECT_EQ(r.heard("c", "run1", 1, 0, Clock::now()), Roster::Order::refused);
  EXPECT_FALSE(r.add("room1", sock("c", "s9", "eve"))) << "an unknown node's socket is not kept";
  EXPECT_EQ(r.nodes(), 2u);
  EXPECT_EQ(r.refused(), 2u);
}

}  // namespace
}  // namespace realtime::chat
