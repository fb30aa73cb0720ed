// RoomCache: the rooms the chat service keeps in memory so that most events
// cost no store round trip. The store is the source of truth; this is a
// bounded copy.
//
// - Rooms that sockets have joined are pinned (kept whatever the budget):
//   their number is bounded by the connections and the rooms each socket
//   may join, and leave, presence and session:state need them at once.
// - Other rooms sit in an LRU within a byte budget (an estimate of what a
//   Room and its members take); when a room's last socket leaves, it moves
//   there, so memory goes back down once rooms empty.
// - Every write of this service's is put here
//   (put_written); a read's result only when no write completed since the
//   read was issued (put_read with the ticket taken then), so a slow read
//   never replaces a newer write with an older row. In a cluster other
//   nodes write too: their notices, and any refusal decided on a cached
//   copy, make the service read the room again (put_refreshed).
//
// Loop thread only (owned by ChatService::Impl).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "chat/lru_cache.h"
#include "core/string_map.h"
#include "realtime/room.h"

namespace realtime::chat {

class RoomCache {
 public:
  explicit RoomCache(std::size_t idle_budget_bytes) : idle_(idle_budget_bytes) {}

  // The cached room, or nullptr. The pointer is valid until the next call.
  const Room* find(std::string_view id);
  bool contains(std::string_view id) const { return pinned_.contains(id) || idle_.contains(id); }

  // A write's result: always the newest there is.
  void put_written(const Room& room);
  // Taken before a store read; put_read() caches the answer only if no
  // write completed in between (it might be older than that write).
  std::uint64_t read_ticket() const { return writes_; }
  void put_read(const Room& room, std::uint64_t ticket);
  // A read made because the cached copy may be stale (another node of a
  // cluster wrote the room): replaces it, unless this node wrote the room
  // after the read was issued. Returns the newest copy known.
  Room put_refreshed(const Room& room, std::uint64_t ticket);
  // Another node wrote the room: find() misses it until a read replaces
  // it (put_read or put_refreshed), and reads already in flight, which may
  // predate that write, are not cached.
  void mark_stale(std::string_view id);

  // Keeps the room whatever the budget (sockets are in it) / lets it go
  // back to the LRU (its last socket left).
  void pin(const Room& room);
  void unpin(std::string_view id);

  std::size_t pinned_count() const { return pinned_.size(); }
  std::size_t idle_count() const { return idle_.size(); }
  std::size_t idle_bytes() const { return idle_.cost(); }

  // Estimated bytes a room takes in memory, members included.
  static std::size_t cost(const Room& room);

 private:
  bool stale(std::string_view id) const { return !stale_.empty() && stale_.contains(id); }
  realtime::detail::StringMap<Room> pinned_;
  realtime::detail::StringSet stale_;  // ids of cached rooms another node wrote
  LruCache<Room> idle_;
  std::uint64_t writes_ = 0;
};

}  // namespace realtime::chat
