// Store conformance, part 1: rooms, members, receipts and the store's own
// lifecycle (flush, close, pending). Every case runs against every backend
// (store_backends.cpp), so they behave alike. Test thread only.
#include <gtest/gtest.h>

#include "store_conformance.h"

namespace realtime::testing {
namespace {

using RoomConformance = StoreConformance;

TEST_P(RoomConformance, CreateThenGetReturnsEveryField) {
  Room r = make_room("r1", {"ann", "bob"}, RoomKind::session, 5);
  r.status = RoomStatus::scheduled;
  r.started_at.reset();
  r.join_secret = "digest";
  r.join_expires_at = at_ms(86'400'005);
  r.members[1].role = "tutor";
  auto created = s().create_room(r);
  ASSERT_TRUE(created.ok()) << created.status().to_string();
  EXPECT_EQ(*created, r);
  auto got = s().get_room("r1");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(*got, r);
}

TEST_P(RoomConformance, CreateTakenIdIsConflictAndUnknownIsNotFound) {
  ASSERT_TRUE(s().create_room(make_room("r1", {"ann"})).ok());
  EXPECT_EQ(s().create_room(make_room("r1", {"bob"})).status().code(), StatusCode::conflict);
  EXPECT_EQ(s().get_room("r1")->members.front().user_id, "ann");
  EXPECT_EQ(s().get_room("nope").status().code(), StatusCode::not_found);
}

TEST_P(RoomConformance, AddMemberKeepsOrderAndStartsPointerAtLastSeq) {
  ASSERT_TRUE(s().create_room(make_room("r1", {"ann"})).ok());
  add("r1", "ann", "one");
  add("r1", "ann", "two");
  auto r = s().add_member("r1", {"bob", "student"});
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->members.size(), 2u);
  EXPECT_EQ(r->members[1], (Member{"bob", "student"}));
  auto st = s().read_state("r1", "bob");
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(st->unread, 0);
  EXPECT_EQ(st->reads, (std::vector<ReadPointer>{{"ann", 0}, {"bob", 2}}));
  add("r1", "ann", "three");
  EXPECT_EQ(s().read_state("r1", "bob")->unread, 1);
}

TEST_P(RoomConformance, AddMemberErrors) {
  ASSERT_TRUE(s().create_room(make_room("r1", {"ann"})).ok());
  EXPECT_EQ(s().add_member("r1", {"ann", "member"}).status().code(), StatusCode::conflict);
  EXPECT_EQ(s().add_member("nope", {"bob", "member"}).status().code(), StatusCode::not_found);
}

TEST_P(RoomConformance, RemoveMemberDropsPointerAndRejectsNonMembers) {
  ASSERT_TRUE(s().create_room(make_room("r1", {"ann", "bob", "cy"})).ok());
  auto r = s().remove_member("r1", "bob");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->members, (std::vector<Member>{{"ann", "owner"}, {"cy", "member"}}));
  EXPECT_EQ(s().read_state("r1", "ann")->reads, (std::vector<ReadPointer>{{"ann", 0}, {"cy", 0}}));
  EXPECT_EQ(s().remove_member("r1", "bob").status().code(), StatusCode::not_found);
  EXPECT_EQ(s().remove_member("nope", "ann").status().code(), StatusCode::not_found);
  // Re-adding is a fresh membership, appended at the end.
  auto again = s().add_member("r1", {"bob", "member"});
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->members.back().user_id, "bob");
}

TEST_P(RoomConformance, SetJoinSecretReplacesTheSecretAndItsExpiryOnly) {
  Room r = make_room("s1", {"ann", "bob"}, RoomKind::session, 5);
  r.join_secret = "old-digest";
  r.join_expires_at = at_ms(1000);
  ASSERT_TRUE(s().create_room(r).ok());
  auto rotated = s().set_join_secret("s1", "new-digest", at_ms(5000));
  ASSERT_TRUE(rotated.ok()) << rotated.status().to_string();
  r.join_secret = "new-digest";
  r.join_expires_at = at_ms(5000);
  EXPECT_EQ(*rotated, r);
  EXPECT_EQ(*s().get_room("s1"), r);
  auto cleared = s().set_join_secret("s1", "", std::nullopt);
  ASSERT_TRUE(cleared.ok());
  EXPECT_EQ(cleared->join_secret, "");
  EXPECT_FALSE(cleared->join_expires_at.has_value());
  EXPECT_EQ(s().set_join_secret("nope", "x", at_ms(1)).status().code(), StatusCode::not_found);
  // A room made without an expiry reads back without one.
  ASSERT_TRUE(s().create_room(make_room("g1", {"ann"})).ok());
  EXPECT_FALSE(s().get_room("g1")->join_expires_at.has_value());
}

TEST_P(RoomConformance, UpdateSessionSetsOnlyStatusAndTimes) {
  Room r = make_room("s1", {"ann"}, RoomKind::session);
  r.status = RoomStatus::scheduled;
  r.started_at.reset();
  ASSERT_TRUE(s().create_room(r).ok());
  auto up = s().update_session("s1", RoomStatus::active, at_ms(10), std::nullopt);
  ASSERT_TRUE(up.ok());
  r.status = RoomStatus::active;
  r.started_at = at_ms(10);
  EXPECT_EQ(*up, r);
  up = s().update_session("s1", RoomStatus::ended, at_ms(10), at_ms(20));
  ASSERT_TRUE(up.ok());
  EXPECT_EQ(up->ended_at, at_ms(20));
  EXPECT_EQ(s().get_room("s1")->status, RoomStatus::ended);
  EXPECT_EQ(s().update_session("nope", RoomStatus::ended, {}, {}).status().code(), StatusCode::not_found);
}

TEST_P(RoomConformance, FindDirectRoomNewestExactPair) {
  ASSERT_TRUE(s().create_room(make_room("d-old", {"ann", "bob"}, RoomKind::direct, 1)).ok());
  ASSERT_TRUE(s().create_room(make_room("d-new", {"bob", "ann"}, RoomKind::direct, 2)).ok());
  ASSERT_TRUE(s().create_room(make_room("g", {"ann", "bob"}, RoomKind::group, 3)).ok());
  ASSERT_TRUE(s().create_room(make_room("d3", {"ann", "bob", "cy"}, RoomKind::direct, 4)).ok());
  auto r = s().find_direct_room("ann", "bob");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->id, "d-new");
  EXPECT_EQ(s().find_direct_room("bob", "ann")->id, "d-new");
  EXPECT_EQ(s().find_direct_room("ann", "cy").status().code(), StatusCode::not_found);
  EXPECT_EQ(s().find_direct_room("ann", "ann").status().code(), StatusCode::not_found);
  // A member leaving breaks the pair.
  ASSERT_TRUE(s().remove_member("d-new", "bob").ok());
  EXPECT_EQ(s().find_direct_room("ann", "bob")->id, "d-old");
}

TEST_P(RoomConformance, ListRoomsByActivityThenIdWithSummaries) {
  ASSERT_TRUE(s().create_room(make_room("a", {"ann", "bob"}, RoomKind::group, 10)).ok());
  ASSERT_TRUE(s().create_room(make_room("b", {"ann"}, RoomKind::group, 30)).ok());
  ASSERT_TRUE(s().create_room(make_room("c", {"ann", "bob"}, RoomKind::group, 20)).ok());
  ASSERT_TRUE(s().create_room(make_room("z", {"ann"}, RoomKind::group, 30)).ok());
  ASSERT_TRUE(s().create_room(make_room("other", {"bob"}, RoomKind::group, 99)).ok());
  add("a", "bob", "hi", 40);  // a: activity 40
  add("c", "bob", "x", 25);
  const Message gone = add("c", "bob", "y", 26);  // c: activity 26, one deleted
  ASSERT_TRUE(s().delete_message(gone.id).ok());
  auto list = s().list_rooms("ann");
  ASSERT_TRUE(list.ok());
  std::vector<std::string> ids;
  for (const auto& sum : *list) ids.push_back(sum.room.id);
  EXPECT_EQ(ids, (std::vector<std::string>{"a", "b", "z", "c"}));
  EXPECT_EQ((*list)[0].unread, 1);
  ASSERT_TRUE((*list)[0].last_message.has_value());
  EXPECT_EQ((*list)[0].last_message->text, "hi");
  EXPECT_FALSE((*list)[1].last_message.has_value());
  EXPECT_EQ((*list)[3].unread, 1);  // the deleted one does not count
  ASSERT_TRUE((*list)[3].last_message.has_value());
  EXPECT_TRUE((*list)[3].last_message->deleted);
  EXPECT_TRUE(s().list_rooms("nobody")->empty());
}

TEST_P(RoomConformance, MarkReadNeverMovesBack) {
  ASSERT_TRUE(s().create_room(make_room("r1", {"ann", "bob"})).ok());
  for (int i = 0; i < 5; ++i) add("r1", "ann", cat("m", i));
  auto m = s().mark_read("r1", "bob", 3);
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->seq, 3);
  EXPECT_TRUE(m->moved);
  m = s().mark_read("r1", "bob", 2);
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->seq, 3);
  EXPECT_FALSE(m->moved);
  m = s().mark_read("r1", "bob", 3);
  ASSERT_TRUE(m.ok());
  EXPECT_FALSE(m->moved);
  EXPECT_EQ(s().read_state("r1", "bob")->reads, (std::vector<ReadPointer>{{"ann", 0}, {"bob", 3}}));
  m = s().mark_read("r1", "bob", 5);
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->seq, 5);
}

TEST_P(RoomConformance, MarkReadErrors) {
  ASSERT_TRUE(s().create_room(make_room("r1", {"ann"})).ok());
  EXPECT_TRUE(s().mark_read("r1", "ann", 0).ok());  // 0 is the last seq of an empty room
  EXPECT_EQ(s().mark_read("r1", "ann", 1).status().code(), StatusCode::bad_request);
  add("r1", "ann", "x");
  EXPECT_EQ(s().mark_read("r1", "ann", 2).status().code(), StatusCode::bad_request);
  EXPECT_EQ(s().mark_read("r1", "ann", -1).status().code(), StatusCode::bad_request);
  EXPECT_EQ(s().mark_read("nope", "ann", 0).status().code(), StatusCode::not_found);
}

TEST_P(RoomConformance, UnreadExcludesOwnAndDeleted) {
  ASSERT_TRUE(s().create_room(make_room("r1", {"ann", "bob"})).ok());
  add("r1", "ann", "a1");
  add("r1", "bob", "b1");
  const Message b2 = add("r1", "bob", "b2");
  add("r1", "bob", "b3");
  ASSERT_TRUE(s().delete_message(b2.id).ok());
  auto st = s().read_state("r1", "ann");
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(st->last_seq, 4);
  EXPECT_EQ(st->unread, 2);
  EXPECT_EQ(s().read_state("r1", "bob")->unread, 1);
  ASSERT_TRUE(s().mark_read("r1", "ann", 2).ok());
  EXPECT_EQ(s().read_state("r1", "ann")->unread, 1);
  EXPECT_EQ(s().read_state("nope", "ann").status().code(), StatusCode::not_found);
}

TEST_P(RoomConformance, ReadStateListsMembersOnly) {
  ASSERT_TRUE(s().create_room(make_room("r1", {"bob", "ann"})).ok());
  add("r1", "bob", "x");
  // An admin who is not a member may read; the room's state lists members.
  ASSERT_TRUE(s().mark_read("r1", "admin", 1).ok());
  auto st = s().read_state("r1", "admin");
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(st->unread, 0);
  EXPECT_EQ(st->reads, (std::vector<ReadPointer>{{"ann", 0}, {"bob", 0}}));
}

TEST_P(RoomConformance, LastSeenPerUserSortedAndOverwritten) {
  ASSERT_TRUE(s().create_room(make_room("r1", {"ann", "bob"})).ok());
  EXPECT_TRUE(s().read_state("r1", "ann")->last_seen.empty());
  EXPECT_TRUE(s().set_last_seen("r1", "bob", at_ms(5)).ok());
  EXPECT_TRUE(s().set_last_seen("r1", "ann", at_ms(6)).ok());
  EXPECT_TRUE(s().set_last_seen("r1", "bob", at_ms(7)).ok());
  EXPECT_EQ(s().read_state("r1", "ann")->last_seen,
            (std::vector<LastSeen>{{"ann", at_ms(6)}, {"bob", at_ms(7)}}));
  EXPECT_EQ(s().set_last_seen("nope", "ann", at_ms(1)).code(), StatusCode::not_found);
}

// Several nodes write lastSeen; a write that arrives late with an older
// time (a node's slower writer) must not take it back.
TEST_P(RoomConformance, LastSeenNeverMovesBack) {
  ASSERT_TRUE(s().create_room(make_room("r1", {"ann"})).ok());
  EXPECT_TRUE(s().set_last_seen("r1", "ann", at_ms(9)).ok());
  EXPECT_TRUE(s().set_last_seen("r1", "ann", at_ms(4)).ok());
  EXPECT_EQ(s().read_state("r1", "ann")->last_seen, (std::vector<LastSeen>{{"ann", at_ms(9)}}));
}

TEST_P(RoomConformance, FlushCompletesAndPendingDrains) {
  ASSERT_TRUE(s().create_room(make_room("r1", {"ann"})).ok());
  int done = 0;
  for (int i = 0; i < 20; ++i) {
    store_->append(make_msg("r1", "ann", "x"), [&](Result<Appended> r) { done += r.ok() ? 1 : 0; });
  }
  EXPECT_GT(store_->pending(), 0u);
  EXPECT_TRUE(s().flush().ok());
  EXPECT_TRUE(loop_.run_until([&] { return done == 20; }, kWaitLimit));
  EXPECT_EQ(store_->pending(), 0u);
}

TEST_P(RoomConformance, CallsAfterCloseAreUnavailable) {
  ASSERT_TRUE(s().create_room(make_room("r1", {"ann"})).ok());
  store_->close();
  store_->close();  // idempotent
  EXPECT_EQ(s().get_room("r1").status().code(), StatusCode::unavailable);
  EXPECT_EQ(s().create_room(make_room("r2", {"ann"})).status().code(), StatusCode::unavailable);
  EXPECT_EQ(s().append(make_msg("r1", "ann", "x")).status().code(), StatusCode::unavailable);
  EXPECT_EQ(s().history("r1", {}).status().code(), StatusCode::unavailable);
  EXPECT_EQ(s().set_last_seen("r1", "ann", at_ms(1)).code(), StatusCode::unavailable);
  EXPECT_EQ(s().flush().code(), StatusCode::unavailable);
}

INSTANTIATE_TEST_SUITE_P(Backends, RoomConformance, ::testing::ValuesIn(all_backends()), backend_name);

}  // namespace
}  // namespace realtime::testing
