#include "realtime/message.h"
#include "realtime/room.h"

#include <gtest/gtest.h>

namespace realtime {
namespace {

TEST(Room, ValidIds) {
  EXPECT_TRUE(is_valid_room_id("course:cs101.week-2_a"));
  EXPECT_TRUE(is_valid_room_id(std::string(128, 'a')));
  EXPECT_FALSE(is_valid_room_id(""));
  EXPECT_FALSE(is_valid_room_id(std::string(129, 'a')));
  EXPECT_FALSE(is_valid_room_id("has space"));
  EXPECT_FALSE(is_valid_room_id("slash/no"));
  EXPECT_FALSE(is_valid_room_id("é"));
}

TEST(Room, KindAndStatusNamesRoundTrip) {
  for (auto k : {RoomKind::direct, RoomKind::group, RoomKind::session})
    EXPECT_EQ(parse_room_kind(to_string(k)), k);
  for (auto s : {RoomStatus::scheduled, RoomStatus::active, RoomStatus::ended})
    EXPECT_EQ(parse_room_status(to_string(s)), s);
  EXPECT_FALSE(parse_room_kind("channel"));
  for (auto t : {MessageType::text, MessageType::image, MessageType::file, MessageType::system})
    EXPECT_EQ(parse_message_type(to_string(t)), t);
  EXPECT_FALSE(parse_message_type("video"));
}

TEST(Room, FindsMembers) {
  Room r;
  r.members = {{"ann", "owner"}, {"bob", "member"}};
  ASSERT_NE(r.member("bob"), nullptr);
  EXPECT_EQ(r.member("bob")->role, "member");
  EXPECT_EQ(r.member("cy"), nullptr);
}

}  // namespace
}  // namespace realtime
