// Roster: see roster.h.
#include "chat/roster.h"

namespace realtime::chat {

Roster::Order Roster::heard(const std::string& node, std::string_view incarnation, std::uint64_t seq,
                            std::uint64_t last_seq, Clock::time_point now, std::string_view advertise) {
  auto it = nodes_.find(node);
  if (it == nodes_.end()) {
    if (nodes_.size() >= max_nodes_) {
      ++refused_;
      return Order::refused;
    }
    nodes_.emplace(node, Node{std::string(incarnation), std::string(advertise), 0, now, {}});
    // Whatever it said before we listened is unknown: a snapshot tells.
    return (seq == 0 ? last_seq == 0 : seq == 1) ? Order::next : Order::gap;
  }
  Node& n = it->second;
  n.last_heard = now;
  if (!advertise.empty()) n.advertise = advertise;
  if (n.incarnation != incarnation) {
    // The process restarted under the same node id: its old sockets are gone.
    clear_entries(n);
    n.incarnation = std::string(incarnation);
    n.seq = 0;
    return (seq == 0 ? last_seq == 0 : seq == 1) ? Order::next : Order::gap;
  }
  if (seq == 0) return last_seq == n.seq ? Order::next : Order::gap;  // a heartbeat
  if (seq == n.seq + 1) return Order::next;
  return Order::gap;
}

void Roster::begin_snapshot(const std::string& node, std::uint64_t seq) {
  auto it = nodes_.find(node);
  if (it == nodes_.end()) return;
  clear_entries(it->second);
  it->second.seq = seq;
}

bool Roster::add(const std::string& room, RemoteSocket s) {
  auto node = nodes_.find(s.node);
  if (node == nodes_.end()) return false;
  auto& sockets = rooms_[room];
  if (auto old = sockets.find(s.sid); old != sockets.end()) {
    old->second = std::move(s);
    return true;
  }
  if (entries_ >= max_entries_) {
    ++refused_;
    if (sockets.empty()) rooms_.erase(room);
    return false;
  }
  node->second.entries.emplace(room, s.sid);
  const std::string sid = s.sid;
  sockets.emplace(sid, std::move(s));
  ++entries_;
  return true;
}

void Roster::remove(const std::string& node, const std::string& room, const std::string& sid) {
  auto r = rooms_.find(room);
  if (r == rooms_.end()) return;
  auto s = r->second.find(sid);
  if (s == r->second.end() || s->second.node != node) return;
  r->second.erase(s);
  if (r->second.empty()) rooms_.erase(r);
  --entries_;
  if (auto n = nodes_.find(node); n != nodes_.end()) n->second.entries.erase({room, sid});
}

void Roster::clear_entries(Node& n) {
  for (const auto& [room, sid] : n.entries) {
    auto r = rooms_.find(room);
    if (r == rooms_.end()) continue;
    if (r->second.erase(sid)) --entries_;
    if (r->second.empty()) rooms_.erase(r);
  }
  n.entries.clear();
}

std::vector<std::pair<std::string, RemoteSocket>> Roster::drop_node(const std::string& node) {
  std::vector<std::pair<std::string, RemoteSocket>> out;
  auto it = nodes_.find(node);
  if (it == nodes_.end()) return out;
  for (const auto& [room, sid] : it->second.entries) {
    auto r = rooms_.find(room);
    if (r == rooms_.end()) continue;
    auto s = r->second.find(sid);
    if (s == r->second.end()) continue;
    out.emplace_back(room, std::move(s->second));
    r->second.erase(s);
    --entries_;
    if (r->second.empty()) rooms_.erase(r);
  }
  nodes_.erase(it);
  return out;
}

std::vector<std::string> Roster::silent_since(Clock::time_point cutoff) const {
  std::vector<std::string> out;
  for (const auto& [id, n] : nodes_)
    if (n.last_heard < cutoff) out.push_back(id);
  return out;
}

std::string_view Roster::incarnation_of(const std::string& node) const {
  auto it = nodes_.find(node);
  return it == nodes_.end() ? std::string_view() : std::string_view(it->second.incarnation);
}

std::vector<std::string> Roster::node_ids() const {
  std::vector<std::string> out;
  for (const auto& [id, n] : nodes_) out.push_back(id);
  return out;
}

void Roster::heard_all(Clock::time_point now) {
  for (auto& [id, n] : nodes_) n.last_heard = now;
}

void Roster::applied(const std::string& node, std::uint64_t seq) {
  if (auto it = nodes_.find(node); it != nodes_.end() && seq > it->second.seq) it->second.seq = seq;
}

const std::map<std::string, RemoteSocket>* Roster::in_room(std::string_view room) const {
  auto it = rooms_.find(std::string(room));
  return it == rooms_.end() ? nullptr : &it->second;
}

const RemoteSocket* Roster::find(std::string_view room, std::string_view sid) const {
  const auto* sockets = in_room(room);
  if (!sockets) return nullptr;
  auto it = sockets->find(std::string(sid));
  return it == sockets->end() ? nullptr : &it->second;
}

bool Roster::user_in_room(std::string_view room, std::string_view user_id) const {
  const auto* sockets = in_room(room);
  if (!sockets) return false;
  for (const auto& [sid, s] : *sockets)
    if (s.user_id == user_id) return true;
  return false;
}

std::set<std::string> Roster::users_in_room(std::string_view room) const {
  std::set<std::string> users;
  if (const auto* sockets = in_room(room))
    for (const auto& [sid, s] : *sockets) users.insert(s.user_id);
  return users;
}

std::vector<std::pair<std::string, std::string>> Roster::advertised() const {
  std::vector<std::pair<std::string, std::string>> out;
  out.reserve(nodes_.size());
  for (const auto& [id, n] : nodes_) out.emplace_back(id, n.advertise);
  return out;
}

}  // namespace realtime::chat
