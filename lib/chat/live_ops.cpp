// Live-only operations: typing indicators with server-side expiry,
// presence lists, and the rtc:* signalling relay between peer sockets.
#include "chat/service_impl.h"

namespace realtime {

void ChatService::Impl::typing(const ChatCall& call, const Json& p) {
  auto in = chat::parse_typing(p);
  if (!in.ok()) return call.fail(in.status());
  with_room_for(call, in->room, on_ok(call, [this, call, on = in->typing](Room r) {
    if (r.status == RoomStatus::ended) return call.fail(Status::room_ended("the session has ended"));
    SocketState* st = state(call.socket->id());
    if (!st || !st->rooms.contains(r.id)) return call.fail(Status::forbidden("join the room first"));
    auto go = [this, call, r, on] {
      // The mute check may have read the store: the socket may have left meanwhile.
      SocketState* now = state(call.socket->id());
      if (!now || !now->rooms.contains(r.id)) return call.fail(Status::forbidden("join the room first"));
      set_typing(call.socket->id(), call.actor.identity, r.id, on, role_in(r, call.actor.identity));
      call.ok(Json::object());
    };
    // A muted member may stop typing, not start.
    if (on) return when_not_muted(call, r, go);
    go();
  }));
}

void ChatService::Impl::set_typing(const std::string& sid, const Identity& who, const std::string& room, bool on,
                                   const std::string& role) {
  SocketState* st = state(sid);
  if (!st) return;
  auto it = st->typing_in.find(room);
  const bool was = it != st->typing_in.end();
  // The role of the typist's events: the one they started with (a stop
  // may come after the room left the cache).
  const std::string shown = was ? it->second.role : role;
  auto event = [&](bool typing) {
    return Json::object({{"room", room}, {"userId", who.user_id}, {"name", who.name}, {"role", shown}, {"typing", typing}});
  };
  if (was) loop.cancel_timer(it->second.timer);
  if (on) {
    // A refresh only restarts the expiry; the others hear of changes only.
    auto timer = loop.set_timer(options.typing_timeout, guard([this, sid, room, stop = event(false)] {
      if (SocketState* s = state(sid)) s->typing_in.erase(room);
      nsp.to(hub_room(room)).except(sid).droppable().emit("typing", stop);
    }));
    st->typing_in[room] = Typing{timer, shown};
    if (was) return;
  } else {
    if (!was) return;
    st->typing_in.erase(it);
  }
  nsp.to(hub_room(room)).except(sid).droppable().emit("typing", event(on));
}

Json ChatService::Impl::presence_of(const Room& room, const ReadState& state) {
  const std::string hub = hub_room(room.id);
  // The later of what this node wrote and what the store says (another
  // node may have written a newer time since).
  auto last_seen = [&](const std::string& user) -> Json {
    std::optional<Timestamp> at = last_seen_here.find(room.id, user);
    for (const auto& l : state.last_seen)
      if (l.user_id == user && (!at || l.at > *at)) at = l.at;
    return at ? Json(format_iso8601(*at)) : Json();
  };
  Json presence = Json::array();
  for (const auto& m : room.members)
    presence.push(Json::object({{"userId", m.user_id}, {"name", name_of(m.user_id)}, {"role", m.role},
                                {"online", user_online_in(room.id, m.user_id)}, {"lastSeen", last_seen(m.user_id)}}));
  // Admins present (on any node) without being members are listed too.
  std::map<std::string, Identity> present;
  for (const auto& sid : nsp.hub().connections_in(hub))
    if (socketio::Socket* s = nsp.socket(sid)) present.emplace(s->identity().user_id, s->identity());
  if (cluster)
    if (const auto* remote = cluster->roster().in_room(room.id))
      for (const auto& [sid, s] : *remote) present.emplace(s.user_id, Identity{s.user_id, s.name, s.role});
  for (const auto& [user, who] : present) {
    if (room.member(user)) continue;
    presence.push(Json::object({{"userId", who.user_id}, {"name", who.name}, {"role", who.role},
                                {"online", true}, {"lastSeen", last_seen(who.user_id)}}));
  }
  return presence;
}

void ChatService::Impl::presence_list(const ChatCall& call, const Json& p) {
  auto in = chat::parse_room_ref(p);
  if (!in.ok()) return call.fail(in.status());
  with_readable_room(call, in->room, [this, call](const Room& room) {
    read_state(room.id, call.actor.identity.user_id, on_ok(call, [this, call, room](ReadState rs) {
      call.ok(Json::object({{"presence", presence_of(room, rs)}}));
    }));
  });
}

void ChatService::Impl::rtc_relay(const ChatCall& call, const Json& p, std::string_view event, std::string_view key) {
  auto in = chat::parse_rtc_signal(p, key);
  if (!in.ok()) return call.fail(in.status());
  Json relayed = Json::object({{"room", in->room}, {"from", call.socket->id()}, {std::string(key), std::move(in->body)}});
  with_room_for(call, in->room, on_ok(call, [this, call, to = in->to, event = std::string(event),
                                   relayed = std::move(relayed)](Room r) mutable {
    if (r.status == RoomStatus::ended) return call.fail(Status::room_ended("the session has ended"));
    SocketState* st = state(call.socket->id());
    if (!st || !st->rooms.contains(r.id)) return call.fail(Status::forbidden("join the room first"));
    SocketState* peer = state(to);
    socketio::Socket* target = nsp.socket(to);
    if (peer && target && peer->rooms.contains(r.id)) {
      target->emit(event, std::move(relayed));
      return call.ok(Json::object());
    }
    // A peer on another node: its node checks it is still there.
    if (cluster && cluster->send_rtc(r.id, to, event, relayed)) return call.ok(Json::object());
    call.fail(Status::peer_not_found("no peer " + to + " in " + r.id));
  }));
}

}  // namespace realtime
