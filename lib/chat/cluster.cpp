// ChatService in a cluster: joining one, and what this node does with what
// the others tell it through the ClusterLink (cluster_link.h). The rest of
// the service asks the Roster wherever "in the room" must mean "on any
// node" (online counts, presence, peers, rtc:* targets, lastSeen).
#include <algorithm>
#include <cstdio>

#include "chat/service_impl.h"

namespace realtime {
namespace {

// How long another node's lastSeen is shown from memory: longer than its
// store write takes to land unless the store is failing.
constexpr std::chrono::seconds kRemoteLastSeenHold{10};

// The instant format_iso8601 wrote ("2026-12-03T22:42:46.164Z"), or nothing.
std::optional<Timestamp> parse_own_iso8601(const std::string& text) {
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0, ms = 0;
  char z = 0;
  if (std::sscanf(text.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d.%3d%c", &y, &mo, &d, &h, &mi, &s, &ms, &z) != 8 || z != 'Z')
    return std::nullopt;
  const std::chrono::year_month_day day{std::chrono::year(y), std::chrono::month(static_cast<unsigned>(mo)),
                                        std::chrono::day(static_cast<unsigned>(d))};
  if (!day.ok()) return std::nullopt;
  return std::chrono::sys_days(day) + std::chrono::hours(h) + std::chrono::minutes(mi) + std::chrono::seconds(s) +
         std::chrono::milliseconds(ms);
}

}  // namespace

void ChatService::join_cluster(Bus& bus, ClusterOptions options) { impl_->join_cluster(bus, std::move(options)); }

ClusterStats ChatService::cluster_stats() const {
  if (!impl_->cluster) return {};
  return impl_->cluster->stats();
}

std::vector<ClusterNode> ChatService::cluster_nodes() const {
  std::vector<ClusterNode> out;
  if (!impl_->cluster) return out;
  for (auto& [id, adv] : impl_->cluster->roster().advertised()) out.push_back(ClusterNode{id, adv});
  return out;
}

void ChatService::Impl::join_cluster(Bus& bus, ClusterOptions cluster_options) {
  if (cluster) return;
  chat::ClusterLink::Hooks hooks;
  hooks.delivering = guard([this](socketio::RemoteEmit& e) { adjust_remote_emit(e); });
  hooks.delivered = guard([this](const socketio::RemoteEmit& e) { remote_emit_delivered(e); });
  hooks.room_changed = guard([this](const std::string& room) {
    forget_moderation(room);
    remote_room_changed(room);
  });
  hooks.ban_changed = guard([this](const Json& ban) { remote_ban(ban); });
  hooks.bus_restored = guard([this] { bus_restored(); });
  hooks.remote_left = guard([this](const std::string& room, const chat::RemoteSocket& s) { remote_socket_gone(room, s); });
  hooks.rtc = guard([this](const std::string& room, const std::string& sid, const std::string& event, Json payload) {
    remote_rtc(room, sid, event, std::move(payload));
  });
  hooks.last_seen_written = guard([this](const std::string& room, const std::string& user, Timestamp at) {
    // Shown until the writer's store write has surely landed (the store's
    // reads on this node may start before it commits); then the store has it.
    last_seen_here.set(room, user, at);
    loop.set_timer(kRemoteLastSeenHold, guard([this, room, user, at] { last_seen_here.written(room, user, at); }));
  });
  hooks.name_seen = [this](const std::string& user, const std::string& name) {
    if (name.empty() || name == user) return;
    names.put(user, name, user.size() + name.size() + 128);
  };
  hooks.call_stats = guard([this](const std::string& room, const std::string& user, const std::string& peer,
                                  const Json& sample) { remote_call_stats(room, user, peer, sample); });
  hooks.local_entries = [this] { return local_entries(); };
  cluster = std::make_unique<chat::ClusterLink>(bus, loop, nsp, std::move(cluster_options), std::move(hooks));
}

std::optional<std::pair<std::string, std::string>> ChatService::Impl::chat_event_of(const socketio::RemoteEmit& e) {
  constexpr std::string_view kPrefix = "room:";  // hub_room()'s
  if (e.rooms.size() != 1 || e.args.size() != 2 || !e.args[0].is_string() || !e.args[1].is_object() ||
      !e.rooms.front().starts_with(kPrefix))
    return std::nullopt;
  return std::make_pair(e.rooms.front().substr(kPrefix.size()), e.args[0].as_string());
}

// The seq of a message:new emit to one chat room, or nothing.
std::optional<std::pair<std::string, std::int64_t>> ChatService::Impl::message_emit(const socketio::RemoteEmit& e) {
  auto ev = chat_event_of(e);
  if (!ev || ev->second != "message:new") return std::nullopt;
  const Json* message = e.args[1].find("message");
  const Json* seq = message ? message->find("seq") : nullptr;
  if (!seq || !seq->is_int()) return std::nullopt;
  return std::make_pair(std::move(ev->first), seq->as_int());
}

void ChatService::Impl::adjust_remote_emit(socketio::RemoteEmit& e) {
  if (is_shared_reactions(e)) return remote_reactions(e.args[1]);  // per socket here; the emit reaches nobody
  recount_here(e);
  skip_replayed(e);
}

void ChatService::Impl::recount_here(socketio::RemoteEmit& e) {
  // Who is in a room, as the sending node saw it, may lag what this node
  // saw (another node's join reached it first): this node's sockets get
  // this node's view, which includes everything the sender announced
  // before the event (one channel keeps a node's messages in order).
  const auto ev = chat_event_of(e);
  if (!ev) return;
  const auto& [room, event] = *ev;
  if (event == "presence:join") {
    e.args[1].set("online", static_cast<long long>(online_in(room)));
  } else if (event == "session:state") {
    if (const Room* cached = rooms_cache.find(room)) e.args[1].set("participants", peers_of(*cached));
  }
}

void ChatService::Impl::skip_replayed(socketio::RemoteEmit& e) {
  if (replayed.empty()) return;
  const auto m = message_emit(e);
  if (!m) return;
  auto room = replayed.find(m->first);
  if (room == replayed.end()) return;
  // Another node's message may reach this one after a replay that already
  // read it from the store: the replayed sockets skip it. Once the live
  // stream has passed what a socket replayed, it needs no more watching.
  for (auto it = room->second.begin(); it != room->second.end();) {
    if (m->second <= it->second) {
      e.except.push_back(it->first);
      ++it;
    } else {
      it = room->second.erase(it);
    }
  }
  if (room->second.empty()) replayed.erase(room);
}

void ChatService::Impl::remote_emit_delivered(const socketio::RemoteEmit& e) {
  if (const auto ev = chat_event_of(e); ev && ev->second == "session:ended") return remote_session_ended(e.args[1]);
  if (joiners.empty()) return;
  const auto m = message_emit(e);
  if (!m) return;
  const Json& message = e.args[1]["message"];
  const Json* text = message.find("text");
  hold_for_joiners(m->first, m->second, [&] { return message; }, text && text->is_string() ? text->as_string().size() : 0);
}

void ChatService::Impl::remote_session_ended(const Json& ended) {
  // This node's sockets heard the end: they leave the room now, as on the
  // ending node, before any of their next events (the room notice that
  // follows re-reads the room for the cache).
  const Json* room = ended.find("room");
  const Json* at = ended.find("endedAt");
  if (!room || !room->is_string() || !at || !at->is_string()) return;
  const auto ended_at = parse_own_iso8601(at->as_string());
  const std::string& id = room->as_string();
  rooms_cache.mark_stale(id);
  for (const auto& sid : nsp.hub().connections_in(hub_room(id)))
    if (socketio::Socket* s = nsp.socket(sid)) leave_room(sid, s->identity(), id, false, ended_at.value_or(clock.now()));
  if (auto t = session_timers.find(id); t != session_timers.end()) {
    loop.cancel_timer(t->second);
    session_timers.erase(t);
  }
}

void ChatService::Impl::remote_room_changed(const std::string& id) {
  // Only rooms this node holds matter: others are read when next used.
  if (!rooms_cache.contains(id)) return;
  // Until the read below answers, operations on the room read the store.
  rooms_cache.mark_stale(id);
  store.get_room(id, guard([this, ticket = rooms_cache.read_ticket()](Result<Room> r) {
    if (!r.ok()) return;
    const Room room = rooms_cache.put_refreshed(*r, ticket);
    const std::string hub = hub_room(room.id);
    for (const auto& sid : nsp.hub().connections_in(hub)) {
      socketio::Socket* s = nsp.socket(sid);
      if (!s) continue;
      const Identity& who = s->identity();
      if (room.status == RoomStatus::ended) {
        leave_room(sid, who, room.id, false, room.ended_at);
      } else if (!room.member(who.user_id) && who.role != "admin") {
        leave_room(sid, who, room.id, true, std::nullopt, true);  // removed on another node
      }
    }
    if (room.status == RoomStatus::ended)
      if (auto t = session_timers.find(room.id); t != session_timers.end()) {
        loop.cancel_timer(t->second);
        session_timers.erase(t);
      }
  }));
}

void ChatService::Impl::remote_socket_gone(const std::string& room, const chat::RemoteSocket& gone) {
  // Every live node hears of the death and tells its own sockets: these
  // emits stay on this node.
  const std::string hub = hub_room(room);
  const auto online = static_cast<long long>(online_in(room));
  auto here = [&](std::string_view event, Json payload, Delivery d) {
    nsp.deliver(socketio::RemoteEmit{{hub}, {}, {}, d, {Json(event), std::move(payload)}});
  };
  here("presence:leave", Json::object({{"room", room}, {"sid", gone.sid}, {"userId", gone.user_id}, {"online", online}}),
       Delivery::droppable);
  here("rtc:peer-left", Json::object({{"room", room}, {"sid", gone.sid}, {"userId", gone.user_id}}), Delivery::reliable);
  const Room* cached = rooms_cache.find(room);
  if (cached) broadcast_session_state(*cached, true);
  if (user_online_in(room, gone.user_id)) return;
  // Whatever the user was typing there stops with them (their node's
  // expiry timer died with it).
  const Identity who{gone.user_id, gone.name, gone.role};
  here("typing", Json::object({{"room", room}, {"userId", gone.user_id}, {"name", gone.name},
                               {"role", cached ? role_in(*cached, who) : gone.role}, {"typing", false}}),
       Delivery::droppable);
  if (!writes_for_the_dead()) return;
  const Timestamp at = clock.now();
  last_seen_here.set(room, gone.user_id, at);
  store.set_last_seen(room, gone.user_id, at, guard([this, room, user = gone.user_id, at](Status) {
    last_seen_here.written(room, user, at);
  }));
}

bool ChatService::Impl::writes_for_the_dead() const {
  const std::string& me = cluster->node_id();
  for (const auto& node : cluster->roster().node_ids())
    if (node < me) return false;
  return true;
}

void ChatService::Impl::remote_rtc(const std::string& room, const std::string& sid, const std::string& event,
                                   Json payload) {
  SocketState* st = state(sid);
  socketio::Socket* target = nsp.socket(sid);
  if (!st || !target || !st->rooms.contains(room)) return;  // gone meanwhile: the signal is lost, as on one node
  if (event != "rtc:offer" && event != "rtc:answer" && event != "rtc:ice") return;
  target->emit(event, std::move(payload));
}

std::vector<std::pair<std::string, chat::RemoteSocket>> ChatService::Impl::local_entries() const {
  std::vector<std::pair<std::string, chat::RemoteSocket>> out;
  for (const auto& [sid, st] : sockets) {
    auto s = st.socket.lock();
    if (!s) continue;
    const Identity& who = s->identity();
    for (const auto& room : st.rooms) out.emplace_back(room, chat::RemoteSocket{{}, sid, who.user_id, who.name, who.role});
  }
  return out;
}

}  // namespace realtime
