#include "realtime/hub.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "test_util.h"

namespace realtime {
namespace {

using testing::recording;
using testing::RecordingConnection;

class HubTest : public ::testing::Test {
 protected:
  std::shared_ptr<RecordingConnection> add(const std::string& id, const std::string& user) {
    auto c = recording(id);
    EXPECT_TRUE(hub.add(c, user));
    return c;
  }
  Hub hub;
};

TEST_F(HubTest, JoinAndLeaveReportChanges) {
  add("c1", "ann");
  RoomChange j = hub.join("c1", "r");
  EXPECT_TRUE(j.changed);
  EXPECT_TRUE(j.user_changed);
  EXPECT_EQ(j.online_users, 1u);

  RoomChange again = hub.join("c1", "r");
  EXPECT_FALSE(again.changed);
  EXPECT_EQ(again.online_users, 1u);

  RoomChange l = hub.leave("c1", "r");
  EXPECT_TRUE(l.changed);
  EXPECT_TRUE(l.user_changed);
  EXPECT_EQ(l.online_users, 0u);
  EXPECT_EQ(hub.room_count(), 0u) << "empty rooms are forgotten";

  RoomChange not_in = hub.leave("c1", "r");
  EXPECT_FALSE(not_in.changed);
}

TEST_F(HubTest, DroppableSendsSkipConnectionsUnderBackpressure) {
  auto a = add("a", "ann");
  auto b = add("b", "bob");
  auto b2 = add("b2", "bob");
  for (const char* id : {"a", "b", "b2"}) hub.join(id, "r");
  b->busy = true;
  const Frame f = Frame::text("typing");
  EXPECT_EQ(hub.broadcast("r", f, {}, Delivery::droppable), 2u);
  EXPECT_EQ(a->frames.size(), 1u);
  EXPECT_TRUE(b->frames.empty()) << "skipped while backed up";
  EXPECT_EQ(b2->frames.size(), 1u);
  EXPECT_EQ(hub.send_to_user("bob", std::span<const Frame>(&f, 1), {}, Delivery::droppable), 1u);
  EXPECT_FALSE(hub.send_to("b", std::span<const Frame>(&f, 1), Delivery::droppable));
  EXPECT_TRUE(b->frames.empty());
  // What must arrive is queued whatever the backpressure.
  EXPECT_EQ(hub.broadcast("r", Frame::text("message")), 3u);
  ASSERT_EQ(b->frames.size(), 1u);
  EXPECT_EQ(b->frames[0].view(), "message");
  b->busy = false;
  EXPECT_EQ(hub.broadcast("r", f, {}, Delivery::droppable), 3u);
}

TEST_F(HubTest, BroadcastReachesEveryoneInRoomOnlyAndSharesBytes) {
  auto a = add("a", "ann");
  auto b = add("b", "bob");
  auto c = add("c", "cy");
  hub.join("a", "r");
  hub.join("b", "r");
  hub.join("c", "other");

  Frame f = Frame::text("hello");
  EXPECT_EQ(hub.broadcast("r", f), 2u);
  ASSERT_EQ(a->frames.size(), 1u);
  ASSERT_EQ(b->frames.size(), 1u);
  EXPECT_TRUE(c->frames.empty());
  // Encoded once: both recipients hold the very same buffer.
  EXPECT_EQ(a->frames[0].bytes.get(), b->frames[0].bytes.get());
  EXPECT_EQ(a->frames[0].bytes.get(), f.bytes.get());
}

TEST_F(HubTest, BroadcastSkipsExceptedConnection) {
  auto a = add("a", "ann");
  auto b = add("b", "bob");
  hub.join("a", "r");
  hub.join("b", "r");
  EXPECT_EQ(hub.broadcast("r", Frame::text("x"), "a"), 1u);
  EXPECT_TRUE(a->frames.empty());
  EXPECT_EQ(b->texts(), std::vector<std::string>{"x"});
}

// A room holds its members' registry entries, not their ids: an id that
// is not a member (or not connected at all) excepts nobody, and a
// connection removed and added again under the same id is reached through
// its new entry (ASan would catch a room still pointing at the old one).
TEST_F(HubTest, ExceptNamingNoMemberSkipsNobody) {
  auto a = add("a", "ann");
  auto b = add("b", "bob");
  add("c", "cy");
  hub.join("a", "r");
  hub.join("b", "r");
  EXPECT_EQ(hub.broadcast("r", Frame::text("x"), "c"), 2u);
  EXPECT_EQ(hub.broadcast("r", Frame::text("y"), "gone"), 2u);
  EXPECT_EQ(a->texts(), (std::vector<std::string>{"x", "y"}));
  EXPECT_EQ(b->texts(), (std::vector<std::string>{"x", "y"}));
}

TEST_F(HubTest, ConnectionAddedAgainUnderSameIdIsReachedThroughItsNewEntry) {
  auto old_a = add("a", "ann");
  auto b = add("b", "bob");
  hub.join("a", "r");
  hub.join("b", "r");
  hub.remove("a");
  auto new_a = add("a", "ann");
  EXPECT_EQ(hub.broadcast("r", Frame::text("x")), 1u) << "the removed connection left the room";
  hub.join("a", "r");
  EXPECT_EQ(hub.broadcast("r", Frame::text("y"), "b"), 1u);
  EXPECT_EQ(old_a->texts(), std::vector<std::string>{});
  EXPECT_EQ(new_a->texts(), std::vector<std::string>{"y"});
  EXPECT_EQ(b->texts(), std::vector<std::string>{"x"});
}

TEST_F(HubTest, BroadcastToUnknownRoomReachesNobody) {
  add("a", "ann");
  EXPECT_EQ(hub.broadcast("nowhere", Frame::text("x")), 0u);
}

TEST_F(HubTest, MultiFramePacketsArriveInOrder) {
  auto a = add("a", "ann");
  hub.join("a", "r");
  std::vector<Frame> frames{Frame::text("451-[\"bin\",{\"_placeholder\":true,\"num\":0}]"), Frame::blob("\x01\x02")};
  hub.broadcast("r", frames);
  ASSERT_EQ(a->frames.size(), 2u);
  EXPECT_FALSE(a->frames[0].binary);
  EXPECT_TRUE(a->frames[1].binary);
}

TEST_F(HubTest, PresenceCountsDistinctUsersAcrossTabs) {
  add("ann-tab1", "ann");
  add("ann-tab2", "ann");
  add("bob-tab1", "bob");

  EXPECT_TRUE(hub.join("ann-tab1", "r").user_changed);
  RoomChange second_tab = hub.join("ann-tab2", "r");
  EXPECT_TRUE(second_tab.changed);
  EXPECT_FALSE(second_tab.user_changed) << "ann was already online in r";
  EXPECT_EQ(second_tab.online_users, 1u);
  EXPECT_EQ(hub.join("bob-tab1", "r").online_users, 2u);

  RoomChange close_one = hub.leave("ann-tab1", "r");
  EXPECT_FALSE(close_one.user_changed) << "ann still has a tab in r";
  EXPECT_EQ(close_one.online_users, 2u);
  EXPECT_TRUE(hub.user_in_room("ann", "r"));

  RoomChange close_other = hub.leave("ann-tab2", "r");
  EXPECT_TRUE(close_other.user_changed);
  EXPECT_EQ(close_other.online_users, 1u);
  EXPECT_FALSE(hub.user_in_room("ann", "r"));
}

TEST_F(HubTest, UserChannelReachesAllTabsOfOneUser) {
  auto t1 = add("t1", "ann");
  auto t2 = add("t2", "ann");
  auto other = add("o", "bob");
  Frame f = Frame::text("notification");
  EXPECT_EQ(hub.send_to_user("ann", std::span<const Frame>(&f, 1)), 2u);
  EXPECT_EQ(t1->frames.size(), 1u);
  EXPECT_EQ(t2->frames.size(), 1u);
  EXPECT_TRUE(other->frames.empty());
  EXPECT_EQ(hub.send_to_user("ann", std::span<const Frame>(&f, 1), "t1"), 1u);
  EXPECT_EQ(hub.send_to_user("nobody", std::span<const Frame>(&f, 1)), 0u);
}

TEST_F(HubTest, RemoveLeavesEveryRoomAndReportsEach) {
  add("a1", "ann");
  add("a2", "ann");
  hub.join("a1", "r1");
  hub.join("a1", "r2");
  hub.join("a2", "r2");

  auto changes = hub.remove("a1");
  ASSERT_EQ(changes.size(), 2u);
  EXPECT_EQ(changes[0].first, "r1");
  EXPECT_TRUE(changes[0].second.user_changed);
  EXPECT_EQ(changes[1].first, "r2");
  EXPECT_FALSE(changes[1].second.user_changed) << "a2 keeps ann in r2";
  EXPECT_EQ(hub.find("a1"), nullptr);
  EXPECT_EQ(hub.connections_of_user("ann"), std::vector<std::string>{"a2"});
  EXPECT_EQ(hub.connection_count(), 1u);
  EXPECT_TRUE(hub.remove("a1").empty()) << "second remove is a no-op";
}

TEST_F(HubTest, DuplicateAddIsRefused) {
  add("a", "ann");
  EXPECT_FALSE(hub.add(recording("a"), "bob"));
  EXPECT_EQ(hub.user_of("a"), "ann");
}

TEST_F(HubTest, QueriesDescribeMembership) {
  add("a", "ann");
  add("b", "bob");
  hub.join("a", "r");
  hub.join("b", "r");
  hub.join("a", "s");
  auto in_r = hub.connections_in("r");
  std::sort(in_r.begin(), in_r.end());
  EXPECT_EQ(in_r, (std::vector<std::string>{"a", "b"}));
  auto rooms = hub.rooms_of("a");
  std::sort(rooms.begin(), rooms.end());
  EXPECT_EQ(rooms, (std::vector<std::string>{"r", "s"}));
  EXPECT_TRUE(hub.in_room("b", "r"));
  EXPECT_FALSE(hub.in_room("b", "s"));
  EXPECT_EQ(hub.online_users("s"), 1u);
  EXPECT_EQ(hub.online_users("none"), 0u);
  EXPECT_EQ(hub.join("ghost", "r").online_users, 0u) << "unknown connections cannot join";
}

// A connection that refuses sends (a slow consumer being closed) must not
// stop the broadcast from reaching the others.
TEST_F(HubTest, DroppedRecipientDoesNotStopBroadcast) {
  auto slow = add("slow", "ann");
  auto fine = add("fine", "bob");
  hub.join("slow", "r");
  hub.join("fine", "r");
  slow->close(CloseReason::too_slow);
  hub.broadcast("r", Frame::text("x"));
  EXPECT_TRUE(slow->frames.empty());
  EXPECT_EQ(fine->frames.size(), 1u);
}

// The room named after a connection's id (Socket.IO's sid room) is kept
// apart from the room table; it must answer every query as a room does.
TEST_F(HubTest, OwnRoomBehavesAsARoom) {
  auto a = add("a", "ann");
  add("a2", "ann");
  RoomChange j = hub.join("a", "a");
  EXPECT_TRUE(j.changed);
  EXPECT_TRUE(j.user_changed);
  EXPECT_EQ(j.online_users, 1u);
  EXPECT_FALSE(hub.join("a", "a").changed);
  EXPECT_TRUE(hub.in_room("a", "a"));
  EXPECT_FALSE(hub.in_room("a2", "a"));
  EXPECT_TRUE(hub.user_in_room("ann", "a"));
  EXPECT_EQ(hub.online_users("a"), 1u);
  EXPECT_EQ(hub.connections_in("a"), std::vector<std::string>{"a"});
  EXPECT_EQ(hub.rooms_of("a"), std::vector<std::string>{"a"});
  EXPECT_EQ(hub.room_count(), 1u);
  const Frame f = Frame::text("to a");
  EXPECT_EQ(hub.broadcast("a", f), 1u);
  EXPECT_EQ(hub.broadcast("a", f, "a"), 0u) << "except applies";
  EXPECT_EQ(a->frames.size(), 1u);

  RoomChange l = hub.leave("a", "a");
  EXPECT_TRUE(l.changed);
  EXPECT_TRUE(l.user_changed);
  EXPECT_EQ(l.online_users, 0u);
  EXPECT_FALSE(hub.in_room("a", "a"));
  EXPECT_EQ(hub.broadcast("a", f), 0u);
  EXPECT_EQ(hub.room_count(), 0u);
  EXPECT_FALSE(hub.leave("a", "a").changed);
}

TEST_F(HubTest, OwnRoomSharedWithOthersWhoJoinItByName) {
  auto a = add("a", "ann");
  auto b = add("b", "bob");
  auto a2 = add("a2", "ann");
  hub.join("a", "a");
  RoomChange jb = hub.join("b", "a");  // a room that happens to bear a's id
  EXPECT_TRUE(jb.user_changed);
  EXPECT_EQ(jb.online_users, 2u);
  RoomChange ja2 = hub.join("a2", "a");
  EXPECT_FALSE(ja2.user_changed) << "ann is there already, through a";
  EXPECT_EQ(hub.online_users("a"), 2u);
  auto ids = hub.connections_in("a");
  std::sort(ids.begin(), ids.end());
  EXPECT_EQ(ids, (std::vector<std::string>{"a", "a2", "b"}));
  EXPECT_EQ(hub.broadcast("a", Frame::text("x"), "b"), 2u);
  EXPECT_EQ(a->frames.size(), 1u);
  EXPECT_EQ(a2->frames.size(), 1u);
  EXPECT_TRUE(b->frames.empty());
  EXPECT_EQ(hub.room_count(), 1u);

  RoomChange la = hub.leave("a", "a");
  EXPECT_FALSE(la.user_changed) << "a2 keeps ann there";
  EXPECT_EQ(la.online_users, 2u);
  hub.join("a", "a");
  auto gone = hub.remove("a");
  ASSERT_EQ(gone.size(), 1u);
  EXPECT_EQ(gone[0].first, "a");
  EXPECT_TRUE(gone[0].second.changed);
  EXPECT_FALSE(gone[0].second.user_changed);
  EXPECT_EQ(hub.connections_in("a").size(), 2u) << "the named room stays with b and a2";
}

TEST_F(HubTest, RemoveReportsTheOwnRoom) {
  add("a", "ann");
  hub.join("a", "a");
  hub.join("a", "r");
  auto changes = hub.remove("a");
  ASSERT_EQ(changes.size(), 2u);
  EXPECT_EQ(changes[0].first, "a");
  EXPECT_TRUE(changes[0].second.user_changed);
  EXPECT_EQ(changes[1].first, "r");
  EXPECT_EQ(hub.room_count(), 0u);
  EXPECT_EQ(hub.broadcast("a", Frame::text("x")), 0u);
}

}  // namespace
}  // namespace realtime
