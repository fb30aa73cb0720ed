// RoomCache: pinned rooms in a map, idle ones in a byte-bounded LRU (see
// room_cache.h). Loop thread only.
#include "chat/room_cache.h"

namespace realtime::chat {

const Room* RoomCache::find(std::string_view id) {
  if (stale(id)) return nullptr;
  if (auto it = pinned_.find(id); it != pinned_.end()) return &it->second;
  return idle_.find(id);
}

void RoomCache::put_written(const Room& room) {
  ++writes_;
  stale_.erase(room.id);
  if (auto it = pinned_.find(room.id); it != pinned_.end()) {
    it->second = room;
    return;
  }
  idle_.put(room.id, room, cost(room));
}

void RoomCache::put_read(const Room& room, std::uint64_t ticket) {
  if (ticket != writes_) return;
  if (stale(room.id)) {
    put_refreshed(room, ticket);
    return;
  }
  if (contains(room.id)) return;
  idle_.put(room.id, room, cost(room));
}

void RoomCache::mark_stale(std::string_view id) {
  ++writes_;
  if (!contains(id)) return;
  // Entries the LRU forgot meanwhile go first: the set stays within the cache's size.
  if (stale_.size() >= pinned_.size() + idle_.size())
    for (auto it = stale_.begin(); it != stale_.end();) it = contains(*it) ? std::next(it) : stale_.erase(it);
  stale_.emplace(id);
}

Room RoomCache::put_refreshed(const Room& room, std::uint64_t ticket) {
  if (ticket != writes_) {
    // Something was written since the read: a write of ours is newer; a
    // newer notice leaves the room stale for a later read to settle.
    if (const Room* newer = find(room.id)) return *newer;
    if (stale(room.id)) return room;
  }
  stale_.erase(room.id);
  if (auto it = pinned_.find(room.id); it != pinned_.end()) return it->second = room;
  return idle_.put(room.id, room, cost(room));
}

void RoomCache::pin(const Room& room) {
  if (pinned_.contains(room.id)) return;
  // The cached copy is at least as new as the caller's (writes land here).
  auto idle = idle_.take(room.id);
  pinned_.emplace(room.id, idle ? std::move(*idle) : room);
}

void RoomCache::unpin(std::string_view id) {
  auto it = pinned_.find(id);
  if (it == pinned_.end()) return;
  Room room = std::move(it->second);
  pinned_.erase(it);
  const std::size_t c = cost(room);
  std::string key = room.id;
  idle_.put(std::move(key), std::move(room), c);
}

std::size_t RoomCache::cost(const Room& room) {
  // Strings count their bytes plus a heap block's overhead; the rest is
  // the structs themselves and the hash/list entry holding them.
  constexpr std::size_t kString = 32;
  std::size_t bytes = sizeof(Room) + 128 + room.id.size() + room.title.size() + room.created_by.size() +
                      room.join_secret.size() + 4 * kString;
  for (const auto& m : room.members) bytes += sizeof(Member) + m.user_id.size() + m.role.size() + 2 * kString;
  return bytes;
}

}  // namespace realtime::chat
