// Hub: connection registry, room channels, per-user channels, fan-out.
//
// Lookups are by string id through transparent hashing, so callers pass
// string_views without allocating. A room keeps, besides its connections,
// a count of connections per user: that is what makes "distinct users
// online" and "first/last tab of this user" O(1).
//
// Memory per connection is most of what an idle server holds, so each id
// is stored once: the connection id is the Connection's own string (the
// entry keeps the Connection alive), a user id is the key of its users
// entry (which lives while the user has a connection), a room name the key
// of its room entry (which lives while it has a connection); every other
// map and list holds views of those. A connection's rooms and a user's
// connections are sorted vectors, not hash sets: they are few, and a hash
// set costs a bucket array and a node each.
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

using detail::StringHash;
using detail::StringMap;

namespace {
template <class V>
using ViewMap = std::unordered_map<std::string_view, V, StringHash, std::equal_to<>>;

// Sorted vectors of views: insert and erase keep the order, find is binary.
bool sorted_insert(std::vector<std::string_view>& v, std::string_view s) {
  auto it = std::lower_bound(v.begin(), v.end(), s);
  if (it != v.end() && *it == s) return false;
  v.insert(it, s);
  return true;
}
bool sorted_erase(std::vector<std::string_view>& v, std::string_view s) {
  auto it = std::lower_bound(v.begin(), v.end(), s);
  if (it == v.end() || *it != s) return false;
  v.erase(it);
  if (v.empty()) v.shrink_to_fit();
  return true;
}
bool sorted_contains(const std::vector<std::string_view>& v, std::string_view s) {
  return std::binary_search(v.begin(), v.end(), s);
}
}  // namespace

struct Hub::Impl {
  struct ConnEntry {
    std::shared_ptr<Connection> conn;     // its id() is this entry's key
    std::string_view user_id;             // the key of its users entry
    std::vector<std::string_view> rooms;  // room entry keys, sorted; besides its own room
    bool own_room = false;                // in the room named after its id
  };
  struct RoomEntry {
    // Each member's entry in Impl::conns, by connection id (an
    // unordered_map's nodes do not move, and a connection leaves its rooms
    // before its entry is erased), so that a broadcast reaches each member
    // without a lookup by id: that lookup, a string hash and compare per
    // delivery, was the Hub's largest cost in the realistic benchmark
    // (docs/benchmarks.md).
    ViewMap<ConnEntry*> conns;
    ViewMap<std::size_t> users;  // user id -> connections of that user in the room
  };

  ViewMap<ConnEntry> conns;
  StringMap<RoomEntry> rooms;
  StringMap<std::vector<std::string_view>> users;  // user id -> connection ids, sorted

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
    sorted_erase(c.rooms, room);
    auto uit = r.users.find(c.user_id);
    if (--uit->second == 0) r.users.erase(uit);
    change.user_changed = user_conns_in(room, c.user_id) == 0;
    change.online_users = online_users(room);
    if (r.conns.empty()) rooms.erase(rit);  // last: `room` may view its key
    return change;
  }
};

Hub::Hub() : impl_(std::make_unique<Impl>()) {}
Hub::~Hub() = default;

bool Hub::add(std::shared_ptr<Connection> conn, std::string user_id) {
  const std::string& id = conn->id();
  if (impl_->conns.contains(id)) return false;
  auto uit = impl_->users.try_emplace(std::move(user_id)).first;
  sorted_insert(uit->second, id);
  Impl::ConnEntry entry;
  entry.conn = std::move(conn);
  entry.user_id = uit->first;
  impl_->conns.emplace(std::string_view(id), std::move(entry));
  return true;
}

std::vector<std::pair<std::string, RoomChange>> Hub::remove(std::string_view conn_id) {
  std::vector<std::pair<std::string, RoomChange>> changes;
  auto it = impl_->conns.find(conn_id);
  if (it == impl_->conns.end()) return changes;
  Impl::ConnEntry& c = it->second;
  // Copies: leaving a room may erase the entry whose key a view points at,
  // and conn_id may be a view of the connection's own id.
  const std::shared_ptr<Connection> keep = c.conn;
  const std::string id(conn_id);
  std::vector<std::string> rooms(c.rooms.begin(), c.rooms.end());
  if (c.own_room) rooms.push_back(id);
  std::sort(rooms.begin(), rooms.end());
  for (auto& room : rooms) {
    RoomChange change = impl_->leave(c, id, room);
    changes.emplace_back(std::move(room), change);
  }
  auto uit = impl_->users.find(c.user_id);
  sorted_erase(uit->second, id);
  impl_->conns.erase(it);
  if (uit->second.empty()) impl_->users.erase(uit);
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
  const std::string_view id = c->conn->id();
  if (!r.conns.contains(id)) {
    change.changed = true;
    change.user_changed = impl_->user_conns_in(room, c->user_id) == 0;
    r.conns.emplace(id, c);
    sorted_insert(c->rooms, rit->first);
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
  // `except` is looked up once, and then compared by entry, not by id.
  const Impl::ConnEntry* skip = except.empty() ? nullptr : impl_->find_conn(except);
  std::vector<std::shared_ptr<Connection>> targets;
  auto rit = impl_->rooms.find(room);
  if (rit != impl_->rooms.end()) {
    targets.reserve(rit->second.conns.size() + 1);
    for (const auto& [id, entry] : rit->second.conns)
      if (entry != skip) targets.push_back(entry->conn);
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
  return c && (room == conn_id ? c->own_room : sorted_contains(c->rooms, room));
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
    for (const auto& [id, conn] : rit->second.conns) ids.emplace_back(id);
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
