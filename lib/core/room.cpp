// Names and validation for room vocabulary.
#include "realtime/room.h"

namespace realtime {

std::string_view to_string(RoomKind k) {
  switch (k) {
    case RoomKind::direct: return "direct";
    case RoomKind::group: return "group";
    case RoomKind::session: return "session";
  }
  return "group";
}

std::string_view to_string(RoomStatus s) {
  switch (s) {
    case RoomStatus::scheduled: return "scheduled";
    case RoomStatus::active: return "active";
    case RoomStatus::ended: return "ended";
  }
  return "active";
}

std::optional<RoomKind> parse_room_kind(std::string_view s) {
  if (s == "direct") return RoomKind::direct;
  if (s == "group") return RoomKind::group;
  if (s == "session") return RoomKind::session;
  return std::nullopt;
}

std::optional<RoomStatus> parse_room_status(std::string_view s) {
  if (s == "scheduled") return RoomStatus::scheduled;
  if (s == "active") return RoomStatus::active;
  if (s == "ended") return RoomStatus::ended;
  return std::nullopt;
}

bool is_valid_room_id(std::string_view id) {
  if (id.empty() || id.size() > 128) return false;
  for (char c : id) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '_' || c == '.' || c == ':' || c == '-';
    if (!ok) return false;
  }
  return true;
}

}  // namespace realtime
