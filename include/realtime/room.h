// Room and Member: the stored shape of a chat room.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "realtime/clock.h"
#include "realtime/export.h"

namespace realtime {

enum class RoomKind : std::uint8_t { direct, group, session };
enum class RoomStatus : std::uint8_t { scheduled, active, ended };

REALTIME_EXPORT std::string_view to_string(RoomKind k);
REALTIME_EXPORT std::string_view to_string(RoomStatus s);
REALTIME_EXPORT std::optional<RoomKind> parse_room_kind(std::string_view s);
REALTIME_EXPORT std::optional<RoomStatus> parse_room_status(std::string_view s);

// True for 1-128 bytes of [A-Za-z0-9_.:-]: the id rule of the protocol.
REALTIME_EXPORT bool is_valid_room_id(std::string_view id);

struct Member {
  std::string user_id;
  std::string role;  // "owner", "member", or any free string ("tutor", ...)
  friend bool operator==(const Member&, const Member&) = default;
};

struct Room {
  std::string id;
  RoomKind kind = RoomKind::group;
  std::string title;
  RoomStatus status = RoomStatus::active;
  std::string created_by;  // empty when a service created it without createdBy
  Timestamp created_at{};
  std::optional<Timestamp> started_at;
  std::optional<Timestamp> ended_at;
  std::vector<Member> members;  // in the order they were added
  // Opaque to the store: the chat service keeps a digest of the session
  // join token here. Empty when the room has none.
  std::string join_secret;
  // When join_secret stops letting anyone in. nullopt for rooms stored
  // before tokens expired: the chat service then counts its TTL from
  // created_at.
  std::optional<Timestamp> join_expires_at;

  const Member* member(std::string_view user_id) const {
    for (const auto& m : members)
      if (m.user_id == user_id) return &m;
    return nullptr;
  }
  friend bool operator==(const Room&, const Room&) = default;
};

}  // namespace realtime
