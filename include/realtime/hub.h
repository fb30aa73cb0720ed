// Hub: who is connected, which rooms they are in, and fan-out to them.
//
// Rooms here are plain channels: a name and the connections in it. The Hub
// knows which user each connection belongs to, so it can count distinct
// users online in a room (one user with three tabs counts once) and reach
// every connection of one user (the private per-user channel). It knows
// nothing of messages, members or permissions; that is the chat service.
// Loop thread only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "realtime/connection.h"
#include "realtime/export.h"

namespace realtime {

// Whether a send may be skipped: `droppable` frames (typing, presence) are
// not given to a connection under backpressure (Connection::backpressured),
// `reliable` ones always are (and a connection past its cap is closed).
enum class Delivery : std::uint8_t { reliable, droppable };

// What a join or leave changed in one room.
struct RoomChange {
  bool changed = false;       // the connection entered (or left) the room now
  bool user_changed = false;  // ...and it was the user's first (or last) connection there
  std::size_t online_users = 0;  // distinct users in the room afterwards
};

class REALTIME_EXPORT Hub {
 public:
  Hub();
  ~Hub();
  Hub(const Hub&) = delete;
  Hub& operator=(const Hub&) = delete;

  // Registers a connection for user_id. A second add() of the same id
  // replaces nothing and returns false. The Hub keys the connection by its
  // id() string itself (no copy), so that id must not change while the
  // connection is registered (Connection::id() is fixed for life anyway).
  bool add(std::shared_ptr<Connection> conn, std::string user_id);
  // Takes the connection out of every room and forgets it. Returns, for
  // each room it was in, the room's name and what changed there.
  std::vector<std::pair<std::string, RoomChange>> remove(std::string_view conn_id);

  RoomChange join(std::string_view conn_id, std::string_view room);
  RoomChange leave(std::string_view conn_id, std::string_view room);

  // Sends the frames to every connection in the room except `except` (a
  // connection id, or empty). Returns how many connections were sent to
  // (those skipped under backpressure for a droppable send not counted).
  std::size_t broadcast(std::string_view room, std::span<const Frame> frames,
                        std::string_view except = {}, Delivery delivery = Delivery::reliable);
  std::size_t broadcast(std::string_view room, const Frame& frame, std::string_view except = {},
                        Delivery delivery = Delivery::reliable) {
    return broadcast(room, std::span<const Frame>(&frame, 1), except, delivery);
  }
  // Every connection of one user: the private per-user channel.
  std::size_t send_to_user(std::string_view user_id, std::span<const Frame> frames,
                           std::string_view except = {}, Delivery delivery = Delivery::reliable);
  // False when the connection is unknown or was skipped (droppable, under
  // backpressure).
  bool send_to(std::string_view conn_id, std::span<const Frame> frames, Delivery delivery = Delivery::reliable);

  Connection* find(std::string_view conn_id) const;
  // The user a connection belongs to; empty when unknown.
  std::string_view user_of(std::string_view conn_id) const;
  bool in_room(std::string_view conn_id, std::string_view room) const;
  bool user_in_room(std::string_view user_id, std::string_view room) const;
  std::size_t online_users(std::string_view room) const;
  // Connection ids in a room, in no particular order.
  std::vector<std::string> connections_in(std::string_view room) const;
  std::vector<std::string> connections_of_user(std::string_view user_id) const;
  std::vector<std::string> rooms_of(std::string_view conn_id) const;

  std::size_t connection_count() const;
  std::size_t room_count() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace realtime
