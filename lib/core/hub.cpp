// Hub: connection registry, room channels, per-user channels, fan-out.
//
// Lookups are by string id through transparent hashing, so callers pass
// string_views without allocating. A room keeps, besides its connections,
// a count of connections per user: that is what makes "distinct users
// online" and "first/last tab of this user" O(1).
//
// A connection's own room (the room named after its id, which Socket.IO
// joins every socket to) is a flag on the connection, not a room entry:
// as an entry it cost every connection some 700 bytes of maps and id
// copies for a room that only ever holds that one connection. Every query
// below answers for it as for any other room (self_member()).
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
    StringSet rooms;         // besides its own room
    bool own_room = false;  // in the room named after its id
  };
  struct RoomEntry {
    StringMap<Connection*> conns;
    StringMap<std::size_t> users;  // user id -> connections of that user in the room
  };

  StringMap<ConnEntry> conns;
  StringMap<RoomEntry> rooms;
  StringMap<StringSet> users;  // user id -> connection ids

  ConnEntry* find_conn(std::string_view id) {
    auto it = conns.find(id);
    return it == conns.end() ? nullptr : &it->second;
  }
  // The connection whose own room `room` is, when it is in it.
  ConnEntry* self_member(std::string_view room) {
    ConnEntry* c = find_conn(room);
    return c && c->own_room ? c : nullptr;
  }
  // Distinct users in a room, its own-room member included.
  std::size_t online_users(std::string_view room) {
    auto rit = rooms.find(room);
    std::size_t n = rit == rooms.end() ? 0 : rit->second.users.size();
    if (ConnEntry* self = self_member(room))
      if (rit == rooms.end() || !rit->second.users.contains(self->user_id)) ++n;
    return n;
  }
  // The user's connections in the room, its own-room member included.
  std::size_t user_conns_in(std::string_view room, std::string_view user_id) {
    auto rit = rooms.find(room);
    std::size_t n = 0;
    if (rit != rooms.end()) {
      auto uit = rit->second.users.find(user_id);
      if (uit != rit->second.users.end()) n = uit->second;
    }
    if (ConnEntry* self = self_member(room); self && self->user_id == user_id) ++n;
    return n;
  }

  RoomChange join_own(ConnEntry& c, std::string_view conn_id) {
    RoomChange change;
    if (!c.own_room) {
      change.user_changed = user_conns_in(conn_id, c.user_id) == 0;
      c.own_room = true;
      change.changed = true;
    }
    change.online_users = online_users(conn_id);
    return change;
  }
  RoomChange leave_own(ConnEntry& c, std::string_view conn_id) {
    RoomChange change;
    if (c.own_room) {
      c.own_room = false;
      change.changed = true;
      change.user_changed = user_conns_in(conn_id, c.user_id) == 0;
    }
    change.online_users = online_users(conn_id);
    return change;
  }

  RoomChange leave(ConnEntry& c, std::string_view conn_id, std::string_view room) {
    if (room == conn_id) return leave_own(c, conn_id);
    RoomChange change;
    auto rit = rooms.find(room);
    if (rit == rooms.end()) {
      change.online_users = online_users(room);
      return change;
    }
    RoomEntry& r = rit->second;
    auto cit = r.conns.find(conn_id);
    if (cit == r.conns.end()) {
      change.online_users = online_users(room);
      return change;
    }
    r.conns.erase(cit);
    change.changed = true;
    c.rooms.erase(c.rooms.find(room));
    auto uit = r.users.find(c.user_id);
    if (--uit->second == 0) r.users.erase(uit);
    if (r.conns.empty()) rooms.erase(rit);
    change.user_changed = user_conns_in(room, c.user_id) == 0;
    change.online_users = online_users(room);
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
  if (c.own_room) rooms.emplace_back(conn_id);
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
  if (room == conn_id) return impl_->join_own(*c, conn_id);
  auto rit = impl_->rooms.find(room);
  if (rit == impl_->rooms.end()) rit = impl_->rooms.emplace(std::string(room), Impl::RoomEntry{}).first;
  Impl::RoomEntry& r = rit->second;
  if (r.conns.emplace(std::string(conn_id), c->conn.get()).second) {
    change.changed = true;
    change.user_changed = impl_->user_conns_in(room, c->user_id) == 0;
    c->rooms.emplace(room);
    ++r.users.try_emplace(c->user_id, 0).first->second;
  }
  change.online_users = impl_->online_users(room);
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
  // A send may close a slow connection, whose close handler may leave this
  // room: iterate over a snapshot so the map can change underneath.
  std::vector<std::shared_ptr<Connection>> targets;
  auto rit = impl_->rooms.find(room);
  if (rit != impl_->rooms.end()) {
    targets.reserve(rit->second.conns.size() + 1);
    for (const auto& [id, conn] : rit->second.conns)
      if (id != except) targets.push_back(impl_->conns.find(id)->second.conn);
  }
  if (Impl::ConnEntry* self = impl_->self_member(room); self && room != except) targets.push_back(self->conn);
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
  return c && (room == conn_id ? c->own_room : c->rooms.contains(room));
}

bool Hub::user_in_room(std::string_view user_id, std::string_view room) const {
  return impl_->user_conns_in(room, user_id) != 0;
}

std::size_t Hub::online_users(std::string_view room) const { return impl_->online_users(room); }

std::vector<std::string> Hub::connections_in(std::string_view room) const {
  std::vector<std::string> ids;
  auto rit = impl_->rooms.find(room);
  if (rit != impl_->rooms.end()) {
    ids.reserve(rit->second.conns.size() + 1);
    for (const auto& [id, conn] : rit->second.conns) ids.push_back(id);
  }
  if (impl_->self_member(room)) ids.emplace_back(room);
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
  std::vector<std::string> rooms(c->rooms.begin(), c->rooms.end());
  if (c->own_room) rooms.emplace_back(conn_id);
  return rooms;
}

std::size_t Hub::connection_count() const { return impl_->conns.size(); }
std::size_t Hub::room_count() const {
  std::size_t n = impl_->rooms.size();
  for (const auto& [id, c] : impl_->conns)
    if (c.own_room && !impl_->rooms.contains(id)) ++n;
  return n;
}

}  // namespace realtime
