// ChatService: socket lifecycle, event dispatch, and the helpers every
// operation shares (room cache, broadcasts, system messages, leaving).
//
// Every event goes through run(): rate limit first, then the operation,
// whose answer becomes an ack ({"ok":...}) or, without an ack, an `error`
// event. Operations are asynchronous; their continuations are guarded so
// that a completion arriving after the service is destroyed is dropped.
#include "chat/service_impl.h"

#include <algorithm>
#include <memory>
#include <utility>

#include "realtime/utf8.h"

namespace realtime {
const std::map<std::string, ChatService::Impl::OpInfo, std::less<>>& ChatService::Impl::ops() {
  using I = ChatService::Impl;
  using B = OpInfo::Bucket;
  static const std::map<std::string, OpInfo, std::less<>> table{
      {"room:create", {&I::room_create, false, B::message}},
      {"room:get", {&I::room_get, false, B::message}},
      {"room:join", {&I::room_join, true, B::message}},
      {"room:leave", {&I::room_leave, true, B::message}},
      {"rooms:list", {&I::rooms_list, false, B::message}},
      {"member:add", {&I::member_add, false, B::message}},
      {"member:remove", {&I::member_remove, false, B::message}},
      {"message:send", {&I::message_send, false, B::message}},
      {"message:edit", {&I::message_edit, false, B::message}},
      {"message:delete", {&I::message_delete, false, B::message}},
      {"message:history", {&I::message_history, false, B::message}},
      {"message:read", {&I::message_read, false, B::message}},
      {"message:search", {&I::message_search, false, B::message}},
      {"reaction:add", {&I::reaction_add, false, B::message}},
      {"reaction:remove", {&I::reaction_remove, false, B::message}},
      {"typing", {&I::typing, true, B::typing}},
      {"presence:list", {&I::presence_list, false, B::message}},
      {"session:end", {&I::session_end, false, B::message}},
      {"session:token", {&I::session_token, false, B::message}},
      {"rtc:offer", {&I::rtc_offer, true, B::rtc}},
      {"rtc:answer", {&I::rtc_answer, true, B::rtc}},
      {"rtc:ice", {&I::rtc_ice, true, B::rtc}},
      {"rtc:stats", {&I::rtc_stats, true, B::rtc_stats}},
      {"rtc:quality", {&I::rtc_quality, false, B::message}},
      {"member:role", {&I::member_role, false, B::message}},
      {"member:mute", {&I::member_mute, false, B::message}},
      {"member:unmute", {&I::member_unmute, false, B::message}},
      {"room:slowmode", {&I::room_slowmode, false, B::message}},
      {"moderation:log", {&I::moderation_log, false, B::message}},
      {"moderation:state", {&I::moderation_state, false, B::message}},
      {"user:ban", {&I::user_ban, false, B::message}},
      {"user:unban", {&I::user_unban, false, B::message}},
      {"bans:list", {&I::bans_list, false, B::message}},
      {"bans:log", {&I::bans_log, false, B::message}},
  };
  return table;
}

ChatService::Impl::Impl(socketio::Namespace& n, Store& s, EventLoop& l, const Clock& c, ChatOptions o)
    : nsp(n), store(s), loop(l), clock(c), options(std::move(o)) {}

ChatService::Impl::~Impl() {
  for (auto& [sid, st] : sockets)
    for (auto& [room, typing] : st.typing_in) loop.cancel_timer(typing.timer);
  for (auto& [room, timer] : session_timers) loop.cancel_timer(timer);
}

ChatService::ChatService(socketio::Namespace& nsp, Store& store, EventLoop& loop, const Clock& clock,
                         ChatOptions options)
    : impl_(std::make_unique<Impl>(nsp, store, loop, clock, std::move(options))) {
  // Sockets per user are counted before the socket exists, so that one
  // too many is refused at CONNECT rather than dropped after.
  nsp.use([alive = std::weak_ptr<char>(impl_->alive_), impl = impl_.get()](
              socketio::Socket& s) -> std::optional<socketio::ConnectError> {
    if (alive.expired() || impl->options.max_sockets_per_user == 0) return std::nullopt;
    if (impl->nsp.hub().connections_of_user(s.identity().user_id).size() < impl->options.max_sockets_per_user)
      return std::nullopt;
    return socketio::ConnectError{"rate_limited", Json::object({{"code", "rate_limited"},
                                                                {"message", "too many connections for this user"}})};
  });
  // A banned user is refused at CONNECT, on what this loop knows (bans
  // reach every loop and node through the bus; moderation_ops.cpp).
  nsp.use([alive = std::weak_ptr<char>(impl_->alive_), impl = impl_.get()](
              socketio::Socket& s) -> std::optional<socketio::ConnectError> {
    if (alive.expired()) return std::nullopt;
    auto why = impl->banned_reason(s.identity().user_id);
    if (!why) return std::nullopt;
    return socketio::ConnectError{"forbidden", Json::object({{"code", "forbidden"}, {"message", *why}})};
  });
  nsp.on_connection(impl_->guard([impl = impl_.get()](socketio::Socket& s) { impl->on_connection(s); }));
  impl_->load_bans();
}

ChatService::~ChatService() = default;

// Embedders' callbacks are wrapped where they are registered, so that an
// exception from one ends at this layer as an `internal` answer to the one
// call, never unwinding into the Socket.IO server or the transport
// (docs/architecture.md, "Errors and exceptions").
void ChatService::set_message_filter(MessageFilter filter) {
  if (!filter) {
    impl_->filter = nullptr;
    return;
  }
  impl_->filter = [filter = std::move(filter)](const Identity& sender, NewMessage& message) -> Status {
    try {
      return filter(sender, message);
    } catch (...) {
      return Status::internal("the message filter failed");
    }
  };
}
void ChatService::set_message_observer(MessageObserver* observer) { impl_->observer = observer; }

void ChatService::add_event(std::string name, EventHandler handler) {
  if (!handler) return;
  impl_->extra_events[std::move(name)] = [handler = std::move(handler)](const Actor& actor, const Json& payload,
                                                                         Reply reply) {
    // Once only: a handler that answered and then threw is answered once.
    auto answered = std::make_shared<bool>(false);
    Reply once = [answered, reply = std::move(reply)](Result<Json> r) {
      if (std::exchange(*answered, true)) return;
      reply(std::move(r));
    };
    try {
      handler(actor, payload, once);
    } catch (...) {
      once(Status::internal("the event handler failed"));
    }
  };
}

void ChatService::call(const Actor& actor, std::string_view event, const Json& payload, Reply reply) {
  impl_->run(ChatCall{actor, nullptr, std::move(reply)}, event, payload);
}

const ChatStats& ChatService::stats() const { return impl_->stats; }
std::optional<std::string> ChatService::banned(const std::string& user_id) { return impl_->banned_reason(user_id); }

std::size_t ChatService::emit_to_room(std::string_view room, std::string_view event, const Json& payload,
                                      bool droppable) {
  auto to = impl_->nsp.to(Impl::hub_room(room));
  if (droppable) to.droppable();
  return to.emit(event, payload);
}

ChatCaches ChatService::caches() const {
  const Impl& i = *impl_;
  ChatCaches c;
  c.rooms_pinned = i.rooms_cache.pinned_count();
  c.rooms_idle = i.rooms_cache.idle_count();
  c.rooms_idle_bytes = i.rooms_cache.idle_bytes();
  c.names = i.names.size();
  c.names_bytes = i.names.cost();
  c.last_seen = i.last_seen_here.size();
  for (const auto& [room, list] : i.joiners) c.joiners += list.size();
  c.quota_buckets = i.create_quota.size();
  c.quality_rooms = i.quality.rooms();
  for (const auto& [sid, line] : i.send_lines) c.waiting_sends += line.waiting.size();
  return c;
}

void ChatService::Impl::on_connection(socketio::Socket& socket) {
  const Identity& who = socket.identity();
  const std::string* known = names.find(who.user_id);
  if (cluster && (known == nullptr || *known != who.name)) cluster->user_name(who.user_id, who.name);
  names.put(who.user_id, who.name, who.user_id.size() + who.name.size() + 128);
  const auto now = loop.now();
  const auto& o = options;
  sockets.emplace(socket.id(), SocketState{socket.weak_from_this(),
                                           TokenBucket(o.message_rate.per_second, o.message_rate.burst, now),
                                           TokenBucket(o.typing_rate.per_second, o.typing_rate.burst, now),
                                           TokenBucket(o.rtc_rate.per_second, o.rtc_rate.burst, now),
                                           TokenBucket(o.rtc_stats_rate.per_second, o.rtc_stats_rate.burst, now),
                                           {},
                                           {}});
  std::weak_ptr<socketio::Socket> weak = socket.weak_from_this();
  socket.on_any(guard([this, weak](std::string_view event, const Json::Array& args, const socketio::Ack& ack) {
    if (auto s = weak.lock()) dispatch(s, event, args, ack);
  }));
  // The socket, not copies of its sid and identity: it runs its disconnect
  // handlers while it is alive, and copies cost every idle socket ~200 bytes.
  socket.on_disconnect(guard([this, s = &socket](std::string_view) { on_disconnect(s->id(), s->identity()); }));
}

void ChatService::Impl::on_disconnect(const std::string& sid, const Identity& who) {
  auto it = sockets.find(sid);
  if (it == sockets.end()) return;
  const std::set<std::string> rooms = it->second.rooms;
  for (const auto& room : rooms) leave_room(sid, who, room, true);
  sockets.erase(sid);
}

void ChatService::Impl::dispatch(const std::shared_ptr<socketio::Socket>& socket, std::string_view event,
                                 const Json::Array& args, const socketio::Ack& ack) {
  std::weak_ptr<socketio::Socket> weak = socket;
  Reply reply = [weak, event = std::string(event), ack](Result<Json> r) {
    if (ack) {
      ack.send(r.ok() ? ok_ack(std::move(r).value()) : failed_ack(r.status()));
      return;
    }
    if (r.ok()) return;
    if (auto s = weak.lock()) {
      Json e = error_json(r.status());
      e.set("event", is_valid_utf8(event) ? event : std::string());
      s->emit("error", std::move(e));
    }
  };
  ChatCall call{Actor{socket->identity(), false}, socket, std::move(reply)};
  const Json payload = args.empty() ? Json::object() : args.front();
  run(call, event, payload);
}

void ChatService::Impl::run(const ChatCall& original, std::string_view event, const Json& payload) {
  ++stats.events;
  ChatCall call = original;
  call.reply = [this, alive = std::weak_ptr<char>(alive_), start = loop.now(), reply = original.reply](Result<Json> r) {
    if (!alive.expired()) {
      const double ms = std::chrono::duration<double, std::milli>(loop.now() - start).count();
      std::size_t b = 0;
      while (b < std::size(ChatStats::kLatencyBoundsMs) && ms > ChatStats::kLatencyBoundsMs[b]) ++b;
      ++stats.latency_buckets[b];
      stats.latency_sum_ms += ms;
      if (!r.ok()) ++stats.errors[std::string(code_name(r.status().code()))];
    }
    reply(std::move(r));
  };
  if (!is_valid_utf8(event)) return call.fail(Status::bad_request("unknown event"));
  auto op = ops().find(event);
  auto extra = op == ops().end() ? extra_events.find(event) : extra_events.end();
  if (call.socket) {
    SocketState* st = state(call.socket->id());
    if (!st) return call.fail(Status::unavailable("socket is disconnected"));
    const auto now = loop.now();
    using Bucket = OpInfo::Bucket;
    const Bucket bucket = op == ops().end() ? Bucket::message : op->second.bucket;
    TokenBucket& b = bucket == Bucket::typing      ? st->typing
                     : bucket == Bucket::rtc       ? st->rtc
                     : bucket == Bucket::rtc_stats ? st->rtc_stats
                                                   : st->message;
    if (!b.take(now)) return call.fail(Status::rate_limited("too many events; slow down"));
  }
  if (op == ops().end() && extra == extra_events.end())
    return call.fail(Status::bad_request("unknown event " + std::string(event)));
  if (!payload.is_object()) return call.fail(Status::bad_request("the payload must be an object"));
  if (!payload.valid_utf8()) return call.fail(Status::bad_request("the payload has a string that is not valid UTF-8"));
  if (extra != extra_events.end()) return extra->second(call.actor, payload, call.reply);
  if (op->second.socket_only && !call.socket)
    return call.fail(Status::bad_request(std::string(event) + " needs a socket"));
  const Op fn = op->second.op;
  if (cluster && !call.fresh) {
    // In a cluster a cached room may not have caught up with another
    // node's write yet: a refusal decided on it is not final until the
    // operation ran once more on what the store says (the refusals come
    // before any write, so running again repeats no effect).
    call.reply = [this, alive = std::weak_ptr<char>(alive_), again = call, fn, payload](Result<Json> r) mutable {
      const StatusCode c = r.ok() ? StatusCode::ok : r.status().code();
      if (alive.expired() || (c != StatusCode::forbidden && c != StatusCode::not_found && c != StatusCode::conflict))
        return again.reply(std::move(r));
      again.fresh = true;
      (this->*fn)(again, payload);
    };
  }
  (this->*fn)(call, payload);
}

ChatService::Impl::SocketState* ChatService::Impl::state(const std::string& sid) {
  auto it = sockets.find(sid);
  return it == sockets.end() ? nullptr : &it->second;
}

void ChatService::Impl::with_room(const std::string& id, std::function<void(Result<Room>)> then, bool fresh) {
  if (!fresh)
    if (const Room* cached = rooms_cache.find(id)) return then(*cached);
  store.get_room(id, guard([this, ticket = rooms_cache.read_ticket(), fresh, then = std::move(then)](Result<Room> r) mutable {
    room_read(std::move(r), ticket, fresh, std::move(then));
  }));
}

void ChatService::Impl::room_read(Result<Room> r, std::uint64_t ticket, bool fresh,
                                  std::function<void(Result<Room>)> then) {
  if (!r.ok()) return then(std::move(r));
  if (fresh) {
    r = rooms_cache.put_refreshed(*r, ticket);
  } else {
    // A write that completed during the read is newer than what it read.
    if (const Room* cached = rooms_cache.find(r->id)) r = *cached;
    rooms_cache.put_read(*r, ticket);
  }
  // A session this process has not seen may have been started before a
  // restart: its end is due from when it started, not from now.
  if (auto due = session_end_due(*r); due && *due <= clock.now() && r->status != RoomStatus::ended)
    return end_session(*r, std::move(then));
  arm_session_end(*r);
  then(std::move(r));
}

std::optional<Timestamp> ChatService::Impl::session_end_due(const Room& room) const {
  if (room.kind != RoomKind::session || room.status != RoomStatus::active || !room.started_at ||
      options.session_max.count() <= 0)
    return std::nullopt;
  return *room.started_at + options.session_max;
}

void ChatService::Impl::arm_session_end(const Room& room) {
  const auto due = session_end_due(room);
  if (!due || session_timers.contains(room.id)) return;
  const auto left = std::chrono::ceil<std::chrono::milliseconds>(*due - clock.now());
  const std::string rid = room.id;
  session_timers[rid] = loop.set_timer(std::max(left, std::chrono::milliseconds(0)), guard([this, rid] {
    session_timers.erase(rid);
    with_room(rid, [this](Result<Room> cur) {
      if (cur.ok() && cur->status != RoomStatus::ended) end_session(*cur, [](Result<Room>) {});
    });
  }));
}

void ChatService::Impl::with_readable_room(const ChatCall& call, const std::string& id,
                                           std::function<void(const Room&)> then) {
  with_room_for(call, id, on_ok(call, [this, call, then = std::move(then)](Room room) {
    if (!may_read(call.actor, room)) return call.fail(Status::forbidden("not a member of " + room.id));
    then(room);
  }));
}

std::string ChatService::Impl::name_of(const std::string& user_id) {
  const std::string* name = names.find(user_id);
  return name ? *name : user_id;
}

void ChatService::Impl::read_state(const std::string& room, const std::string& user, Completion<ReadState> done) {
  const auto ticket = last_seen_here.begin_read();
  store.read_state(room, user, [this, alive = std::weak_ptr<char>(alive_), ticket, done = std::move(done)](Result<ReadState> r) {
    if (alive.expired()) return;
    done(std::move(r));
    last_seen_here.end_read(ticket);
  });
}

bool ChatService::Impl::take_room_quota(const std::string& user_id) {
  if (options.room_create_quota == 0) return true;
  const auto now = loop.now();
  TokenBucket* bucket = create_quota.find(user_id);
  if (!bucket) {
    const double quota = static_cast<double>(options.room_create_quota);
    const double period = std::max<double>(1.0, static_cast<double>(options.room_create_period.count()));
    bucket = &create_quota.put(user_id, TokenBucket(quota / period, quota, now), 1);
  }
  return bucket->take(now);
}

std::string ChatService::Impl::role_in(const Room& room, const Identity& who) const {
  const Member* m = room.member(who.user_id);
  return m ? m->role : who.role;
}

Json ChatService::Impl::peers_of(const Room& room) {
  // Every node's sockets in the room, by sid.
  std::map<std::string, Identity> peers;
  for (const auto& sid : nsp.hub().connections_in(hub_room(room.id)))
    if (socketio::Socket* s = nsp.socket(sid)) peers.emplace(sid, s->identity());
  if (cluster)
    if (const auto* remote = cluster->roster().in_room(room.id))
      for (const auto& [sid, s] : *remote) peers.emplace(sid, Identity{s.user_id, s.name, s.role});
  Json out = Json::array();
  for (const auto& [sid, who] : peers)
    out.push(Json::object({{"sid", sid}, {"userId", who.user_id}, {"name", who.name}, {"role", role_in(room, who)}}));
  return out;
}

std::size_t ChatService::Impl::online_in(const std::string& room) {
  const std::string hub = hub_room(room);
  std::size_t n = nsp.hub().online_users(hub);
  if (cluster)
    for (const auto& user : cluster->roster().users_in_room(room))
      if (!nsp.hub().user_in_room(user, hub)) ++n;
  return n;
}

bool ChatService::Impl::user_online_in(const std::string& room, const std::string& user_id) {
  return nsp.hub().user_in_room(user_id, hub_room(room)) || (cluster && cluster->roster().user_in_room(room, user_id));
}

void ChatService::Impl::broadcast_session_state(const Room& room, bool this_node_only) {
  if (room.kind != RoomKind::session) return;
  Json state = Json::object({{"room", room.id},
                             {"status", std::string(to_string(room.status))},
                             {"startedAt", chat::time_json(room.started_at)},
                             {"participants", peers_of(room)}});
  if (!this_node_only) {
    nsp.to(hub_room(room.id)).emit("session:state", std::move(state));
    return;
  }
  nsp.deliver(socketio::RemoteEmit{{hub_room(room.id)}, {}, {}, Delivery::reliable, {Json("session:state"), std::move(state)}});
}

void ChatService::Impl::leave_room(const std::string& sid, const Identity& who, const std::string& room,
                                   bool announce, std::optional<Timestamp> last_seen, bool user_gone) {
  SocketState* st = state(sid);
  if (!st || !st->rooms.erase(room)) return;
  if (st->typing_in.contains(room)) set_typing(sid, who, room, false);
  if (auto s = st->socket.lock(); s && s->connected()) s->leave(hub_room(room));
  const std::string hub = hub_room(room);
  // A session's end takes everyone out on every node at once (each node
  // still sees the others' sockets): its time is everyone's lastSeen.
  const bool writes_last_seen = last_seen || user_gone || !user_online_in(room, who.user_id);
  const Timestamp seen_at = last_seen.value_or(clock.now());
  if (cluster) {
    if (auto r = replayed.find(room); r != replayed.end() && r->second.erase(sid) && r->second.empty()) replayed.erase(r);
    cluster->left(room, sid, writes_last_seen ? std::optional<Timestamp>(seen_at) : std::nullopt);
    if (nsp.hub().connections_in(hub).empty()) cluster->local_room(hub, false);
  }
  if (announce) {
    const bool still_counted = user_gone && user_online_in(room, who.user_id);
    const auto online = static_cast<long long>(online_in(room) - (still_counted ? 1 : 0));
    // Presence hints are volatile; rtc:peer-left and session:state are not.
    nsp.to(hub).droppable().emit("presence:leave",
                     Json::object({{"room", room}, {"sid", sid}, {"userId", who.user_id}, {"online", online}}));
    nsp.to(hub).emit("rtc:peer-left", Json::object({{"room", room}, {"sid", sid}, {"userId", who.user_id}}));
  }
  if (writes_last_seen) {
    const Timestamp at = seen_at;
    last_seen_here.set(room, who.user_id, at);
    store.set_last_seen(room, who.user_id, at, guard([this, room, user = who.user_id, at](Status) {
      last_seen_here.written(room, user, at);
    }));
  }
  if (announce)
    if (const Room* cached = rooms_cache.find(room)) broadcast_session_state(*cached);
  // The last socket gone: the room may leave memory under pressure.
  if (nsp.hub().online_users(hub) == 0) rooms_cache.unpin(room);
}

void ChatService::Impl::publish(const Message& m) {
  ++stats.messages_stored;
  stats.messages_delivered += nsp.to(hub_room(m.room)).emit("message:new", Json::object({{"message", chat::to_json(m)}}));
  hold_for_joiners(m.room, m.seq, [&] { return chat::to_json(m); },
                   m.text.size() + (m.attachment ? m.attachment->url.size() + m.attachment->name.size() : 0));
}

void ChatService::Impl::hold_for_joiners(const std::string& room, std::int64_t seq,
                                         const std::function<Json()>& message, std::size_t text_bytes) {
  auto it = joiners.find(room);
  if (it == joiners.end()) return;
  // A close estimate of the encoded size is enough to bound what is held.
  const std::size_t bytes = text_bytes + 400;
  Json json = message();
  for (auto& j : it->second) {
    if (j->overflowed) continue;
    j->held_bytes += bytes;
    if (j->held_bytes > options.max_answer_bytes) {
      j->overflowed = true;
      std::vector<std::pair<std::int64_t, Json>>().swap(j->held);
    } else {
      j->held.emplace_back(seq, json);
    }
  }
}

bool ChatService::Impl::is_joining(const std::string& room, const std::string& sid) const {
  const auto it = joiners.find(room);
  return it != joiners.end() &&
         std::any_of(it->second.begin(), it->second.end(), [&](const auto& j) { return j->sid == sid; });
}

std::size_t ChatService::Impl::size_of(const Json& value) {
  scratch_.clear();
  value.dump_to(scratch_);
  const std::size_t n = scratch_.size();
  if (scratch_.capacity() > options.max_answer_bytes) std::string().swap(scratch_);  // after one huge value
  return n;
}

void ChatService::Impl::notify(const Room& room, Json payload, const std::vector<std::string>& extra_users) {
  std::set<std::string> users(extra_users.begin(), extra_users.end());
  for (const auto& m : room.members) users.insert(m.user_id);
  if (users.empty()) return;
  auto it = users.begin();
  auto op = nsp.to_user(*it);
  for (++it; it != users.end(); ++it) op.to_user(*it);
  op.emit("notification", std::move(payload));
}

void ChatService::Impl::system_message(const Room& room, const Actor& by, std::string text,
                                       std::function<void()> then) {
  NewMessage m;
  m.room = room.id;
  m.sender_id = by.service ? "system" : by.identity.user_id;
  m.sender_name = by.service ? "system" : by.identity.name;
  m.sender_role = by.service ? "system" : role_in(room, by.identity);
  m.type = MessageType::system;
  m.text = std::move(text);
  m.created_at = clock.now();
  store.append(std::move(m), guard([this, then = std::move(then)](Result<Appended> r) {
    if (r.ok()) publish(r->message);
    then();
  }));
}

void ChatService::Impl::end_session(const Room& room, std::function<void(Result<Room>)> then) {
  const Timestamp ended = clock.now();
  store.update_session(room.id, RoomStatus::ended, room.started_at, ended,
                       guard([this, ended, then = std::move(then)](Result<Room> r) {
                         if (!r.ok()) return then(std::move(r));
                         // The other nodes hear session:ended before the notice
                         // that makes them take their sockets out of the room.
                         rooms_cache.put_written(*r);
                         if (auto t = session_timers.find(r->id); t != session_timers.end()) {
                           loop.cancel_timer(t->second);
                           session_timers.erase(t);
                         }
                         const auto duration =
                             r->started_at ? std::chrono::duration_cast<std::chrono::seconds>(ended - *r->started_at).count()
                                           : 0;
                         const std::string hub = hub_room(r->id);
                         nsp.to(hub).emit("session:ended", Json::object({{"room", r->id},
                                                                         {"endedAt", format_iso8601(ended)},
                                                                         {"durationSec", static_cast<long long>(duration)}}));
                         for (const auto& sid : nsp.hub().connections_in(hub)) {
                           socketio::Socket* s = nsp.socket(sid);
                           if (s) leave_room(sid, s->identity(), r->id, false, ended);
                         }
                         if (cluster) cluster->room_changed(r->id);
                         then(std::move(r));
                       }));
}

}  // namespace realtime
