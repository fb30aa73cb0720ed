// Hub: connection registry, room channels, per-user channels, fan-out.
//
// Lookups are by string id through transparent hashing, so callers pass
// string_views without allocating. A room keeps, besides its connections,
// a count of connections per user: that is what makes "distinct users
// online" and "first/last tab of this user" O(1).
#include "realtime/hub.h"

#include <algorithm>

#include "core/string_map.h"

namespace realtime {

using detail::StringMap;
using detail::StringSet;

struct Hub::Impl {
  struct ConnEntry {
    std::shared_ptr<Connection> conn;
    std::string user_id;
    StringSet rooms;
  };
  struct RoomEntry {
    // Each member's entry in `conns` (an unordered_map's nodes do not move,
    // and a connection leaves its rooms before its entry is erased), so
    // that a broadcast reaches each member without a lookup by id: that
    // lookup, a string hash and compare per delivery, was the Hub's largest
    // cost in the realistic benchmark (docs/benchmarks.md).
    StringMap<ConnEntry*> conns;
    StringMap<std::size_t> users;  // user id -> connections of that user in the room
  };

  StringMap<ConnEntry> conns;
  StringMap<RoomEntry> rooms;
  StringMap<StringSet> users;  // user id -> connection ids

  ConnEntry* find_conn(std::string_view id) {
    auto it = conns.find(id);
    return it == conns.end() ? nullptr : &it->second;
  }

  RoomChange leave(ConnEntry& c, std::string_view conn_id, std::string_view room) {
    RoomChange change;
    auto rit = rooms.find(room);
    if (rit == rooms.end()) return change;
    RoomEntry& r = rit->second;
    auto cit = r.conns.find(conn_id);
    if (cit == r.conns.end()) {
      change.online_users = r.users.size();
      return change;
    }
    r.conns.erase(cit);
    change.changed = true;
    c.rooms.erase(c.rooms.find(room));
    auto uit = r.users.find(c.user_id);
    if (--uit->second == 0) {
      r.users.erase(uit);
      change.user_changed = true;
    }
    change.online_users = r.users.size();
    if (r.conns.empty()) rooms.erase(rit);
    return change;
  }
};

Hub::Hub() : impl_(std::make_unique<Impl>()) {}
Hub::~Hub() = default;

bool Hub::add(std::shared_ptr<Connection> conn, std::string user_id) {
  const std::string& id = conn->id();
  if (impl_->conns.contains(id)) return false;
  impl_->users[user_id].insert(id);
  impl_->conns.emplace(id, Impl::ConnEntry{std::move(conn), std::move(user_id), {}});
  return true;
}

std::vector<std::pair<std::string, RoomChange>> Hub::remove(std::string_view conn_id) {
  std::vector<std::pair<std::string, RoomChange>> changes;
  auto it = impl_->conns.find(conn_id);
  if (it == impl_->conns.end()) return changes;
  Impl::ConnEntry& c = it->second;
  std::vector<std::string> rooms(c.rooms.begin(), c.rooms.end());
  std::sort(rooms.begin(), rooms.end());
  for (auto& room : rooms) {
    RoomChange change = impl_->leave(c, conn_id, room);
    changes.emplace_back(std::move(room), change);
  }
  auto uit = impl_->users.find(c.user_id);
  uit->second.erase(uit->second.find(conn_id));
  if (uit->second.empty()) impl_->users.erase(uit);
  impl_->conns.erase(it);
  return changes;
}

RoomChange Hub::join(std::string_view conn_id, std::string_view room) {
  RoomChange change;
  Impl::ConnEntry* c = impl_->find_conn(conn_id);
  if (!c) return change;
  auto rit = impl_->rooms.find(room);
  if (rit == impl_->rooms.end()) rit = impl_->rooms.emplace(std::string(room), Impl::RoomEntry{}).first;
  Impl::RoomEntry& r = rit->second;
  if (r.conns.emplace(std::string(conn_id), c).second) {
    change.changed = true;
    c->rooms.emplace(room);
    auto [uit, inserted] = r.users.try_emplace(c->user_id, 0);
    ++uit->second;
    change.user_changed = inserted;
  }
  change.online_users = r.users.size();
  return change;
}

RoomChange Hub::leave(std::string_view conn_id, std::string_view room) {
  Impl::ConnEntry* c = impl_->find_conn(conn_id);
  if (!c) return {};
  return impl_->leave(*c, conn_id, room);
}

namespace {
// False when the send was skipped: droppable frames for a connection
// under backpressure. A frame of a packet is never sent without the rest.
bool send_all(Connection& c, std::span<const Frame> frames, Delivery delivery) {
  if (delivery == Delivery::droppable && c.backpressured()) return false;
  for (const Frame& f : frames)
    if (c.send(f) == SendStatus::dropped) break;
  return true;
}

std::size_t send_each(const std::vector<std::shared_ptr<Connection>>& targets, std::span<const Frame> frames,
                      Delivery delivery) {
  std::size_t sent = 0;
  for (const auto& c : targets)
    if (send_all(*c, frames, delivery)) ++sent;
  return sent;
}
}  // namespace

std::size_t Hub::broadcast(std::string_view room, std::span<const Frame> frames, std::string_view except,
                           Delivery delivery) {
  auto rit = impl_->rooms.find(room);
  if (rit == impl_->rooms.end()) return 0;
  // A send may close a slow connection, whose close handler may leave this
  // room: iterate over a snapshot so the map can change underneath.
  // `except` is looked up once, and then compared by entry, not by id.
  const Impl::ConnEntry* skip = except.empty() ? nullptr : impl_->find_conn(except);
  std::vector<std::shared_ptr<Connection>> targets;
  targets.reserve(rit->second.conns.size());
  for (const auto& [id, entry] : rit->second.conns)
    if (entry != skip) targets.push_back(entry->conn);
  return send_each(targets, frames, delivery);
}

std::size_t Hub::send_to_user(std::string_view user_id, std::span<const Frame> frames,
                              std::string_view except, Delivery delivery) {
  auto uit = impl_->users.find(user_id);
  if (uit == impl_->users.end()) return 0;
  std::vector<std::shared_ptr<Connection>> targets;
  for (const auto& id : uit->second)
    if (id != except) targets.push_back(impl_->conns.find(id)->second.conn);
  return send_each(targets, frames, delivery);
}

bool Hub::send_to(std::string_view conn_id, std::span<const Frame> frames, Delivery delivery) {
  Impl::ConnEntry* c = impl_->find_conn(conn_id);
  if (!c) return false;
  auto keep = c->conn;
  return send_all(*keep, frames, delivery);
}

Connection* Hub::find(std::string_view conn_id) const {
  Impl::ConnEntry* c = impl_->find_conn(conn_id);
  return c ? c->conn.get() : nullptr;
}

std::string_view Hub::user_of(std::string_view conn_id) const {
  Impl::ConnEntry* c = impl_->find_conn(conn_id);
  return c ? std::string_view(c->user_id) : std::string_view();
}

bool Hub::in_room(std::string_view conn_id, std::string_view room) const {
  Impl::ConnEntry* c = impl_->find_conn(conn_id);
  return c && c->rooms.contains(room);
}

bool Hub::user_in_room(std::string_view user_id, std::string_view room) const {
  auto rit = impl_->rooms.find(room);
  return rit != impl_->rooms.end() && rit->second.users.contains(user_id);
}

std::size_t Hub::online_users(std::string_view room) const {
  auto rit = impl_->rooms.find(room);
  return rit == impl_->rooms.end() ? 0 : rit->second.users.size();
}

std::vector<std::string> Hub::connections_in(std::string_view room) const {
  std::vector<std::string> ids;
  auto rit = impl_->rooms.find(room);
  if (rit == impl_->rooms.end()) return ids;
  ids.reserve(rit->second.conns.size());
  for (const auto& [id, conn] : rit->second.conns) ids.push_back(id);
  return ids;
}

std::vector<std::string> Hub::connections_of_user(std::string_view user_id) const {
  auto uit = impl_->users.find(user_id);
  if (uit == impl_->users.end()) return {};
  return {uit->second.begin(), uit->second.end()};
}

std::vector<std::string> Hub::rooms_of(std::string_view conn_id) const {
  Impl::ConnEntry* c = impl_->find_conn(conn_id);
  if (!c) return {};
  return {c->rooms.begin(), c->rooms.end()};
}

std::size_t Hub::connection_count() const { return impl_->conns.size(); }
std::size_t Hub::room_count() const { return impl_->rooms.size(); }

}  // namespace realtime
