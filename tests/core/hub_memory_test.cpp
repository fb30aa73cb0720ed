// What the Hub allocates per connection, counted (alloc_count.h): a bound
// that fails when a change makes every connection cost much more, without
// timing or RSS figures that would flake. The bytes are what the Hub holds
// through operator new (libstdc++'s and glibc's, Debian 12).
#include <gtest/gtest.h>

#include <string>

#include "alloc_count.h"
#include "realtime/hub.h"
#include "test_util.h"

namespace realtime {
namespace {

using testing::live_bytes;
using testing::allocations;
using testing::cat;

// Ids as long as the real ones: a 22-character sid and a user id past the
// short-string buffer, so every copy of either is an allocation.
std::string sid(int i) { return cat("sid-", 1000000 + i, "-abcdefghijk"); }
std::string user(int i) { return cat("user-", 1000000 + i, "-abcd"); }

TEST(HubMemory, OwnRoomAllocatesNothing) {
  Hub hub;
  const std::string id = sid(0);
  hub.add(testing::recording(id), user(0));
  const std::size_t before = allocations();
  EXPECT_TRUE(hub.join(id, id).changed);
  EXPECT_EQ(allocations() - before, 0u) << "Socket.IO puts every socket in its own room";
  EXPECT_TRUE(hub.in_room(id, id));
}

// A connection of its own user, in its own room and in one room of 50.
TEST(HubMemory, ConnectionInARoomOfFiftyStaysUnderItsBound) {
  constexpr int kMembers = 50;
  Hub hub;
  std::vector<std::shared_ptr<testing::RecordingConnection>> conns;
  for (int i = 0; i < kMembers; ++i) conns.push_back(testing::recording(sid(i)));
  const std::size_t before = live_bytes();
  for (int i = 0; i < kMembers; ++i) {
    hub.add(conns[static_cast<std::size_t>(i)], user(i));
    hub.join(sid(i), sid(i));
    hub.join(sid(i), "room:general");
  }
  const std::size_t per_connection = (live_bytes() - before) / kMembers;
  // 387 bytes when this was written; 907 while every map held its own copy
  // of the ids and a hash set per connection and user, 1,538 while the own
  // room was a room entry. The bound leaves room for a toolchain's
  // differences, not for another map per connection.
  EXPECT_LE(per_connection, 500u);
  EXPECT_EQ(hub.online_users("room:general"), static_cast<std::size_t>(kMembers));
}

}  // namespace
}  // namespace realtime
