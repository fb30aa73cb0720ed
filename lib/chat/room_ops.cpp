// Room operations: create, join (with replay), leave, list, members, and
// ending a session. Error precedence follows the protocol: validation
// (chat::parse_*, payloads.h), then existence, then permission, then state.
// Each operation reads top to bottom: its first step parses and reads, the
// named steps after it (service_impl.h lists them in order) do the rest.
#include <algorithm>

#include "realtime/base64.h"
#include "realtime/random.h"
#include "realtime/digest.h"
#include "chat/service_impl.h"

namespace realtime {
namespace {

std::string join_token_digest(std::string_view token) { return realtime::base64url_encode(realtime::sha256(token)); }

std::string new_room_id() { return "r_" + realtime::random_token(12); }

std::int64_t activity_ms(const RoomSummary& s) {
  const Timestamp t = s.last_message ? s.last_message->created_at : s.room.created_at;
  return t.time_since_epoch().count();
}

std::string list_cursor(const RoomSummary& s) { return std::to_string(activity_ms(s)) + "." + s.room.id; }

// True for rooms that come after the cursor in the list's order.
bool after_cursor(const RoomSummary& s, const chat::ListCursor& c) {
  const std::int64_t a = activity_ms(s);
  return a < c.activity_ms || (a == c.activity_ms && s.room.id > c.room);
}

Status too_many_rooms() { return Status::bad_request("this socket has joined too many rooms"); }

// Whether `r` is the direct room of the pair `wanted` was to be for.
bool same_pair(const Room& wanted, const Room& r) {
  const std::string& a = wanted.members[0].user_id;
  const std::string& b = wanted.members[1].user_id;
  return r.kind == RoomKind::direct && r.members.size() == 2 &&
         ((r.members[0].user_id == a && r.members[1].user_id == b) ||
          (r.members[0].user_id == b && r.members[1].user_id == a));
}

// A direct room found under the requested id: this pair's conversation,
// or a conflict when it is some other room, whoever is in it.
void answer_direct_found(const ChatCall& call, const Room& wanted, const Room& found) {
  if (!same_pair(wanted, found)) return call.fail(Status::conflict("room " + found.id + " exists"));
  call.ok(Json::object({{"room", chat::to_json(found)}, {"existing", true}}));
}

}  // namespace

void ChatService::Impl::room_create(const ChatCall& call, const Json& p) {
  auto in = chat::parse_room_create(p, call.actor, options);
  if (!in.ok()) return call.fail(in.status());
  Room room;
  room.kind = in->kind;
  room.title = in->title;
  room.created_by = in->creator;
  room.created_at = clock.now();
  room.members = std::move(in->members);
  room.id = in->id.value_or(new_room_id());
  std::string join_token;
  if (room.kind == RoomKind::session) {
    room.status = RoomStatus::scheduled;
    join_token = new_join_token(room);
  } else {
    room.status = RoomStatus::active;
    room.started_at = room.created_at;
  }
  if (room.kind != RoomKind::direct) return create_room(call, std::move(room), std::move(join_token));
  // With reuse, a direct room whose id is taken by the same two users is
  // answered as found: both sides of a conversation can create it.
  if (in->id && in->reuse) return create_direct_reusing(call, std::move(room));
  if (in->id) return create_room(call, std::move(room), {});
  // Without an id, a direct room between the same two users is reused.
  const std::string a = room.members[0].user_id, b = room.members[1].user_id;
  store.find_direct_room(a, b, guard([this, call, room = std::move(room)](Result<Room> existing) mutable {
    if (existing.ok()) return call.ok(Json::object({{"room", chat::to_json(*existing)}, {"existing", true}}));
    if (existing.status().code() != StatusCode::not_found) return call.fail(existing.status());
    create_room(call, std::move(room), {});
  }));
}

void ChatService::Impl::create_room(const ChatCall& call, Room room, std::string join_token,
                                    std::function<void()> on_conflict) {
  // A user's rooms count against their quota when one is about to be
  // made (a found direct room costs nothing); services are not counted.
  if (!call.actor.service && !take_room_quota(call.actor.identity.user_id))
    return call.fail(Status::rate_limited("you created too many rooms recently; try again later"));
  store.create_room(std::move(room), guard([this, call, join_token = std::move(join_token),
                                            on_conflict = std::move(on_conflict)](Result<Room> created) {
    if (!created.ok() && created.status().code() == StatusCode::conflict && on_conflict) return on_conflict();
    if (!created.ok()) return call.fail(created.status());
    room_created(call, *created, join_token);
  }));
}

void ChatService::Impl::room_created(const ChatCall& call, const Room& room, const std::string& join_token) {
  remember(room);
  Json room_json = chat::to_json(room);
  notify(room, Json::object({{"type", "room-created"}, {"room", room_json}, {"by", by_whom(call.actor)}}), {});
  Json out = Json::object({{"room", std::move(room_json)}});
  if (!join_token.empty()) {
    out.set("joinToken", join_token);
    out.set("joinTokenExpiresAt", chat::time_json(room.join_expires_at));
  }
  call.ok(std::move(out));
}

void ChatService::Impl::create_direct_reusing(const ChatCall& call, Room room) {
  const std::string id = room.id;
  with_room_for(call, id, guard([this, call, room = std::move(room)](Result<Room> found) mutable {
    if (found.ok()) return answer_direct_found(call, room, *found);
    if (found.status().code() != StatusCode::not_found) return call.fail(found.status());
    const Room wanted = room;
    auto look_again = [this, call, wanted] {
      with_room_for(call, wanted.id, on_ok(call, [call, wanted](Room again) { answer_direct_found(call, wanted, again); }));
    };
    create_room(call, std::move(room), {}, look_again);
  }));
}

void ChatService::Impl::room_get(const ChatCall& call, const Json& p) {
  auto in = chat::parse_room_ref(p);
  if (!in.ok()) return call.fail(in.status());
  with_readable_room(call, in->room, [call](const Room& room) { call.ok(Json::object({{"room", chat::to_json(room)}})); });
}

void ChatService::Impl::room_join(const ChatCall& call, const Json& p) {
  auto in = chat::parse_room_join(p);
  if (!in.ok()) return call.fail(in.status());
  SocketState* st = state(call.socket->id());
  if (!st) return call.fail(Status::unavailable("socket is disconnected"));
  if (!room_slot_free(*st, in->room)) return call.fail(too_many_rooms());
  with_room_for(call, in->room, on_ok(call, [this, call, in = *in](Room room) { join_checked(call, in, std::move(room)); }));
}

void ChatService::Impl::join_checked(const ChatCall& call, const chat::RoomJoin& in, Room room) {
  // Again: other joins of this socket may have completed during the read.
  if (SocketState* st = state(call.socket->id()); st && !room_slot_free(*st, room.id))
    return call.fail(too_many_rooms());
  const Identity& who = call.actor.identity;
  bool by_token = false;
  if (!room.member(who.user_id) && !is_admin(call.actor)) {
    by_token = in.join_token && join_token_valid(room, *in.join_token);
    if (!by_token) return call.fail(Status::forbidden("not a member of " + room.id));
  }
  if (room.status == RoomStatus::ended) return call.fail(Status::room_ended("the session has ended"));
  if (by_token && room.members.size() >= options.max_members_per_room)
    return call.fail(Status::forbidden(room.id + " is full"));
  if (!by_token) return start_and_join(call, std::move(room), in.after_seq);
  store.add_member(room.id, Member{who.user_id, "member"}, on_ok(call, [this, call, after = in.after_seq](Room added) {
    remember(added);
    system_message(added, call.actor, call.actor.identity.name + " joined",
                   [this, call, added, after] { start_and_join(call, added, after); });
  }));
}

void ChatService::Impl::start_and_join(const ChatCall& call, Room room, std::optional<std::int64_t> after_seq) {
  if (room.kind != RoomKind::session || room.status != RoomStatus::scheduled)
    return finish_join(call, std::move(room), after_seq);
  store.update_session(room.id, RoomStatus::active, clock.now(), std::nullopt,
                       on_ok(call, [this, call, after_seq](Room active) {
                         remember(active);
                         arm_session_end(active);
                         finish_join(call, std::move(active), after_seq);
                       }));
}

void ChatService::Impl::finish_join(const ChatCall& call, Room room, std::optional<std::int64_t> after_seq) {
  SocketState* st = state(call.socket->id());
  if (!st || !call.socket->connected()) return call.fail(Status::unavailable("socket is disconnected"));
  const bool already = st->rooms.contains(room.id);
  if (!after_seq || already) return enter_room(call, room, already, std::nullopt);
  // Hold live messages of the room for this socket while the replay is read.
  auto joiner = std::make_shared<Joiner>(Joiner{call.socket->id(), {}});
  joiners[room.id].push_back(joiner);
  HistoryQuery q;
  q.after = *after_seq;
  q.limit = std::max(1, options.replay_limit);
  store.history(room.id, q, guard([this, call, room, joiner, after = *after_seq](Result<HistoryPage> page) {
    auto& list = joiners[room.id];
    std::erase(list, joiner);
    if (list.empty()) joiners.erase(room.id);
    if (!page.ok()) return call.fail(page.status());
    if (!call.socket->connected()) return call.fail(Status::unavailable("socket is disconnected"));
    // Messages published meanwhile are still held for the socket (new
    // ones: without reactions), until the replay is sent.
    joiners[room.id].push_back(joiner);
    auto ids = reaction_ids(page->messages);
    reactions_of(call, std::move(ids), [this, call, room, joiner, after, page = std::move(*page)](Result<ReactionsById> r) {
      auto& held = joiners[room.id];
      std::erase(held, joiner);
      if (held.empty()) joiners.erase(room.id);
      if (!r.ok()) return call.fail(r.status());
      if (!call.socket->connected()) return call.fail(Status::unavailable("socket is disconnected"));
      enter_room(call, room, false, replay(*call.socket, after, page, *joiner, *r));
    });
  }));
}

void ChatService::Impl::enter_room(const ChatCall& call, const Room& room, bool already, ReplayEnd replayed_to) {
  const std::string sid = call.socket->id();
  SocketState* s = state(sid);
  if (!s || !call.socket->connected()) return call.fail(Status::unavailable("socket is disconnected"));
  // The bound holds even for joins whose later steps (a token's membership,
  // a session's start, a replay) overlapped.
  if (!room_slot_free(*s, room.id)) return call.fail(too_many_rooms());
  const Identity& who = call.actor.identity;
  const std::string hub = hub_room(room.id);
  s->rooms.insert(room.id);
  call.socket->join(hub);
  rooms_cache.pin(room);
  if (cluster && replayed_to) replayed[room.id][sid] = replayed_to->first;
  if (cluster && !already) {
    if (nsp.hub().connections_in(hub).size() == 1) cluster->local_room(hub, true);
    cluster->joined(room.id, chat::RemoteSocket{{}, sid, who.user_id, who.name, who.role});
  }
  if (!already) {
    const auto online = static_cast<long long>(online_in(room.id));
    nsp.to(hub).except(sid).droppable().emit(
        "presence:join",
        Json::object({{"room", room.id},
                      {"peer", Json::object({{"sid", sid}, {"userId", who.user_id}, {"name", who.name},
                                             {"role", role_in(room, who)}})},
                      {"online", online}}));
    broadcast_session_state(room);
  }
  read_state(room.id, who.user_id, on_ok(call, [this, call, room, replayed_to](ReadState rs) {
    Json reads = Json::array();
    for (const auto& r : rs.reads) reads.push(Json::object({{"userId", r.user_id}, {"seq", static_cast<long long>(r.seq)}}));
    Json ack = Json::object({{"room", chat::to_json(room)},
                             {"peers", peers_of(room)},
                             {"presence", presence_of(room, rs)},
                             {"reads", std::move(reads)},
                             {"lastSeq", static_cast<long long>(rs.last_seq)},
                             {"unread", static_cast<long long>(rs.unread)},
                             {"replayTruncated", replayed_to && replayed_to->second}});
    // Where paging the rest starts: live messages may already have
    // overtaken this ack, so the client cannot tell it from what it got.
    if (replayed_to) ack.set("replayLastSeq", static_cast<long long>(replayed_to->first));
    call.ok(std::move(ack));
  }));
}

std::pair<std::int64_t, bool> ChatService::Impl::replay(socketio::Socket& socket, std::int64_t after_seq,
                                                         const HistoryPage& page, const Joiner& joiner,
                                                         const ReactionsById& reactions) {
  std::int64_t last = after_seq;
  std::size_t budget = options.max_answer_bytes;
  int left = options.replay_limit;
  // False once the replay must stop: the budget is spent, the connection
  // is backed up (or gone), or the replay limit is reached.
  auto send = [&](std::int64_t seq, Json message) {
    if (left <= 0 || socket.connection().backpressured()) return false;
    Json event = Json::object({{"message", std::move(message)}});
    const std::size_t size = size_of(event);
    if (size > budget) return false;
    if (socket.emit("message:new", std::move(event)) == SendStatus::dropped) return false;
    budget -= size;
    --left;
    last = seq;
    return true;
  };
  for (const auto& m : page.messages) {
    Json mj = chat::to_json(m);
    add_reactions(mj, reactions);
    if (!send(m.seq, std::move(mj))) return {last, true};
  }
  // Messages published during the read follow, unless the page stopped
  // short of them (the store had more) or too many came to hold: then
  // they are part of what the client pages.
  if (page.has_more || joiner.overflowed) return {last, true};
  for (const auto& [seq, message] : joiner.held)
    if (seq > last && !send(seq, message)) return {last, true};
  return {last, false};
}

void ChatService::Impl::room_leave(const ChatCall& call, const Json& p) {
  auto in = chat::parse_room_ref(p);
  if (!in.ok()) return call.fail(in.status());
  leave_room(call.socket->id(), call.actor.identity, in->room, true);
  call.ok(Json::object());
}

void ChatService::Impl::rooms_list(const ChatCall& call, const Json& p) {
  auto in = chat::parse_rooms_list(p);
  if (!in.ok()) return call.fail(in.status());
  if (call.actor.identity.user_id.empty()) return call.fail(Status::bad_request("userId is required"));
  store.list_rooms(call.actor.identity.user_id, on_ok(call, [this, call, in = *in](std::vector<RoomSummary> list) {
    end_overdue_then_list(call, in, list);
  }));
}

void ChatService::Impl::end_overdue_then_list(const ChatCall& call, const chat::RoomsList& in,
                                              const std::vector<RoomSummary>& list) {
  std::vector<std::string> overdue;
  for (const auto& s : list)
    if (auto due = session_end_due(s.room); due && *due <= clock.now() && !rooms_cache.contains(s.room.id))
      overdue.push_back(s.room.id);
  if (overdue.empty()) return answer_rooms(call, in, list);
  // with_room ends an overdue session it reads.
  auto left = std::make_shared<std::size_t>(overdue.size());
  for (const auto& id : overdue)
    with_room_for(call, id, [this, call, in, left](Result<Room>) {
      if (--*left > 0) return;
      store.list_rooms(call.actor.identity.user_id, on_ok(call, [this, call, in](std::vector<RoomSummary> again) {
        answer_rooms(call, in, again);
      }));
    });
}

void ChatService::Impl::answer_rooms(const ChatCall& call, const chat::RoomsList& in,
                                     const std::vector<RoomSummary>& list) {
  // The store's order (newest activity first, then id); a page starts
  // just after the cursor and stops at the count or the byte budget.
  auto first = list.begin();
  if (in.cursor)
    first = std::find_if(list.begin(), list.end(), [&](const RoomSummary& s) { return after_cursor(s, *in.cursor); });
  std::vector<Json> items;
  std::size_t used = 0;
  for (auto it = first; it != list.end() && items.size() < in.limit; ++it) {
    Json item = chat::to_json(*it);
    const std::size_t size = size_of(item);
    if (!items.empty() && used + size > options.max_answer_bytes) break;  // the first always fits
    used += size;
    items.push_back(std::move(item));
  }
  const auto last = first + static_cast<std::ptrdiff_t>(items.size());
  const bool more = last != list.end();
  Json out = Json::object({{"rooms", Json(std::move(items))}, {"hasMore", more}});
  out.set("nextCursor", more ? Json(list_cursor(*(last - 1))) : Json());
  call.ok(std::move(out));
}

void ChatService::Impl::member_add(const ChatCall& call, const Json& p) {
  auto in = chat::parse_member_add(p);
  if (!in.ok()) return call.fail(in.status());
  with_room_for(call, in->room, on_ok(call, [this, call, added = in->member](Room room) { add_member_checked(call, room, added); }));
}

void ChatService::Impl::add_member_checked(const ChatCall& call, const Room& room, const Member& added) {
  if (room.kind == RoomKind::direct) return call.fail(Status::bad_request("members of a direct room are fixed"));
  const Member* me = room.member(call.actor.identity.user_id);
  if (!call.actor.service && !is_admin(call.actor) && !(me && me->role == "owner"))
    return call.fail(Status::forbidden("only the room owner may add members"));
  if (room.status == RoomStatus::ended) return call.fail(Status::room_ended("the session has ended"));
  if (room.member(added.user_id)) return call.fail(Status::conflict(added.user_id + " is already a member"));
  if (room.members.size() >= options.max_members_per_room) return call.fail(Status::forbidden(room.id + " is full"));
  store.add_member(room.id, added, on_ok(call, [this, call, added](Room updated) { member_added(call, updated, added); }));
}

void ChatService::Impl::member_added(const ChatCall& call, const Room& room, const Member& added) {
  remember(room);
  const std::string text = call.actor.service ? name_of(added.user_id) + " was added"
                                              : call.actor.identity.name + " added " + name_of(added.user_id);
  system_message(room, call.actor, text, [this, call, room, added] {
    Json room_json = chat::to_json(room);
    notify(room, Json::object({{"type", "member-added"}, {"room", room_json}, {"userId", added.user_id},
                               {"role", added.role}, {"by", by_whom(call.actor)}}), {});
    call.ok(Json::object({{"room", std::move(room_json)}}));
  });
}

void ChatService::Impl::member_remove(const ChatCall& call, const Json& p) {
  auto in = chat::parse_member_remove(p);
  if (!in.ok()) return call.fail(in.status());
  with_room_for(call, in->room, on_ok(call, [this, call, target = in->user_id](Room room) {
    remove_member_checked(call, room, target);
  }));
}

void ChatService::Impl::remove_member_checked(const ChatCall& call, const Room& room, const std::string& target) {
  const Member* removed = room.member(target);
  if (!removed) return call.fail(Status::not_found(target + " is not a member of " + room.id));
  const bool self = !call.actor.service && call.actor.identity.user_id == target;
  const Member* me = room.member(call.actor.identity.user_id);
  const bool privileged = call.actor.service || is_admin(call.actor);
  if (!self && !privileged) {
    if (room.kind == RoomKind::direct) return call.fail(Status::forbidden("in a direct room you may only leave"));
    if (!(me && me->role == "owner")) return call.fail(Status::forbidden("only the room owner may remove members"));
  }
  store.remove_member(room.id, target, on_ok(call, [this, call, target, old_role = removed->role](Room updated) {
    member_removed(call, updated, target, old_role);
  }));
}

void ChatService::Impl::member_removed(const ChatCall& call, const Room& room, const std::string& target,
                                      const std::string& old_role) {
  remember(room);
  const bool self = !call.actor.service && call.actor.identity.user_id == target;
  const std::string text = self ? name_of(target) + " left"
                           : call.actor.service ? name_of(target) + " was removed"
                                                : call.actor.identity.name + " removed " + name_of(target);
  system_message(room, call.actor, text, [this, call, room, target, old_role] {
    Json room_json = chat::to_json(room);
    notify(room, Json::object({{"type", "member-removed"}, {"room", room_json}, {"userId", target},
                               {"role", old_role}, {"by", by_whom(call.actor)}}), {target});
    // Non-admin sockets of the removed user leave the room.
    for (const auto& sid : nsp.hub().connections_in(hub_room(room.id))) {
      socketio::Socket* s = nsp.socket(sid);
      if (s && s->identity().user_id == target && s->identity().role != "admin")
        leave_room(sid, s->identity(), room.id, true, std::nullopt, true);
    }
    call.ok(Json::object({{"room", std::move(room_json)}}));
  });
}

std::string ChatService::Impl::new_join_token(Room& room) {
  std::string token = realtime::random_token(32);
  room.join_secret = join_token_digest(token);
  room.join_expires_at = clock.now() + options.join_token_ttl;
  return token;
}

bool ChatService::Impl::join_token_valid(const Room& room, const std::string& token) const {
  if (room.kind != RoomKind::session || room.join_secret.empty()) return false;
  // Rooms stored before tokens expired have no expiry: their TTL runs from creation.
  const Timestamp expires = room.join_expires_at.value_or(room.created_at + options.join_token_ttl);
  if (clock.now() >= expires) return false;
  return realtime::constant_time_equal(join_token_digest(token), room.join_secret);
}

void ChatService::Impl::session_token(const ChatCall& call, const Json& p) {
  auto in = chat::parse_room_ref(p);
  if (!in.ok()) return call.fail(in.status());
  with_readable_room(call, in->room, [this, call](const Room& room) {
    const Member* me = room.member(call.actor.identity.user_id);
    const bool allowed = call.actor.service || is_admin(call.actor) || (me && me->role == "owner");
    if (!allowed) return call.fail(Status::forbidden("only the room owner may rotate its join token"));
    if (room.kind != RoomKind::session) return call.fail(Status::bad_request(room.id + " is not a session room"));
    if (room.status == RoomStatus::ended) return call.fail(Status::room_ended("the session has ended"));
    Room rotated = room;
    std::string token = new_join_token(rotated);
    store.set_join_secret(room.id, rotated.join_secret, rotated.join_expires_at,
                          on_ok(call, [this, call, token](Room updated) {
                            remember(updated);
                            call.ok(Json::object({{"joinToken", token},
                                                  {"expiresAt", chat::time_json(updated.join_expires_at)}}));
                          }));
  });
}

void ChatService::Impl::session_end(const ChatCall& call, const Json& p) {
  auto in = chat::parse_room_ref(p);
  if (!in.ok()) return call.fail(in.status());
  with_readable_room(call, in->room, [this, call](const Room& room) {
    if (room.kind != RoomKind::session) return call.fail(Status::bad_request(room.id + " is not a session room"));
    const auto& roles = options.session_end_roles;
    if (!roles.empty() && !call.actor.service && !is_admin(call.actor) &&
        std::find(roles.begin(), roles.end(), role_in(room, call.actor.identity)) == roles.end())
      return call.fail(Status::forbidden("your role may not end this session"));
    if (room.status == RoomStatus::ended) return call.fail(Status::room_ended("the session has already ended"));
    end_session(room, [call](Result<Room> ended) {
      if (!ended.ok()) return call.fail(ended.status());
      call.ok(Json::object({{"room", chat::to_json(*ended)}}));
    });
  });
}

}  // namespace realtime
