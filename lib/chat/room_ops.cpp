// Room operations: create, join (with replay), leave, list, members, and
// ending a session. Error precedence follows the protocol: validation,
// then existence, then permission, then state.
#include <algorithm>
#include <charconv>

#include "realtime/base64.h"
#include "realtime/random.h"
#include "realtime/digest.h"
#include "chat/service_impl.h"

namespace realtime {
namespace {

constexpr std::size_t kMaxTitleBytes = 200;
constexpr std::size_t kMaxUserIdBytes = 128;
constexpr std::size_t kMaxRoleBytes = 64;

std::string join_token_digest(std::string_view token) { return realtime::base64url_encode(realtime::sha256(token)); }

bool valid_user_id(const std::string& id) { return !id.empty() && id.size() <= kMaxUserIdBytes; }

// members: ["id", ...] or [{"userId","role"}, ...]; duplicates keep the
// first. At most max_entries entries, and max_members once merged.
Result<std::vector<Member>> parse_members(const Json& value, std::vector<Member> members, std::size_t max_entries,
                                          std::size_t max_members) {
  if (value.is_null()) return members;
  if (!value.is_array()) return Status::bad_request("members must be an array");
  if (value.size() > max_entries)
    return Status::payload_too_large("members has more than " + std::to_string(max_entries) + " entries");
  for (const Json& item : value.as_array()) {
    Member m;
    if (item.is_string()) {
      m.user_id = item.as_string();
    } else if (item.is_object() && item["userId"].is_string()) {
      m.user_id = item["userId"].as_string();
      if (!item["role"].is_null()) {
        if (!item["role"].is_string()) return Status::bad_request("member role must be a string");
        m.role = item["role"].as_string();
      }
    } else {
      return Status::bad_request("members entries are user ids or {userId, role}");
    }
    if (!valid_user_id(m.user_id)) return Status::bad_request("member user ids are 1 to 128 bytes");
    if (m.role.size() > kMaxRoleBytes) return Status::bad_request("member role too long");
    if (m.role.empty()) m.role = "member";
    const bool seen = std::any_of(members.begin(), members.end(), [&](const Member& x) { return x.user_id == m.user_id; });
    if (!seen) members.push_back(std::move(m));
  }
  if (members.size() > max_members)
    return Status::payload_too_large("a room has at most " + std::to_string(max_members) + " members");
  return members;
}

std::string new_room_id() { return "r_" + realtime::random_token(12); }

// rooms:list pages: at most this many rooms, and max_answer_bytes.
constexpr std::int64_t kMaxRoomsPerPage = 1000;

// Where a rooms:list page ended: the last room's activity time and id, in
// the store's order (activity descending, then id ascending). On the wire
// it is "<milliseconds>.<room id>", which clients treat as opaque.
struct ListCursor {
  std::int64_t activity_ms = 0;
  std::string room;
};

std::int64_t activity_ms(const RoomSummary& s) {
  const Timestamp t = s.last_message ? s.last_message->created_at : s.room.created_at;
  return t.time_since_epoch().count();
}

std::string list_cursor(const RoomSummary& s) { return std::to_string(activity_ms(s)) + "." + s.room.id; }

std::optional<ListCursor> parse_list_cursor(std::string_view text) {
  const auto dot = text.find('.');
  if (dot == std::string_view::npos) return std::nullopt;
  ListCursor c;
  const char* end = text.data() + dot;
  auto [p, ec] = std::from_chars(text.data(), end, c.activity_ms);
  if (ec != std::errc{} || p != end) return std::nullopt;
  c.room = std::string(text.substr(dot + 1));
  if (!is_valid_room_id(c.room)) return std::nullopt;
  return c;
}

// True for rooms that come after the cursor in the list's order.
bool after_cursor(const RoomSummary& s, const ListCursor& c) {
  const std::int64_t a = activity_ms(s);
  return a < c.activity_ms || (a == c.activity_ms && s.room.id > c.room);
}

}  // namespace

void ChatService::Impl::room_create(const ChatCall& call, const Json& p) {
  auto kind_name = chat::required_string(p, "kind");
  if (!kind_name.ok()) return call.fail(kind_name.status());
  auto kind = parse_room_kind(*kind_name);
  if (!kind) return call.fail(Status::bad_request("kind must be direct, group or session"));
  auto title = chat::optional_string(p, "title");
  if (!title.ok()) return call.fail(title.status());
  if (title->value_or("").size() > kMaxTitleBytes) return call.fail(Status::bad_request("title too long"));
  auto id = chat::optional_string(p, "id");
  if (!id.ok()) return call.fail(id.status());
  if (*id && !is_valid_room_id(**id)) return call.fail(Status::bad_request("id is not a valid room id"));
  // With reuse, a direct room whose id is taken by the same two users is
  // answered as found: both sides of a conversation can create it.
  auto reuse = chat::optional_bool(p, "reuse");
  if (!reuse.ok()) return call.fail(reuse.status());

  std::string creator;
  if (call.actor.service) {
    auto by = chat::optional_string(p, "createdBy");
    if (!by.ok()) return call.fail(by.status());
    creator = by->value_or("");
    if (!creator.empty() && !valid_user_id(creator)) return call.fail(Status::bad_request("createdBy is invalid"));
  } else {
    creator = call.actor.identity.user_id;
  }
  std::vector<Member> initial;
  if (!creator.empty()) initial.push_back({creator, "owner"});
  auto members = parse_members(p["members"], std::move(initial), options.max_members_per_create,
                               options.max_members_per_room);
  if (!members.ok()) return call.fail(members.status());

  Room room;
  room.kind = *kind;
  room.title = title->value_or("");
  room.created_by = creator;
  room.created_at = clock.now();
  room.members = std::move(members).value();
  room.id = id->value_or(new_room_id());
  std::string join_token;
  if (room.kind == RoomKind::session) {
    room.status = RoomStatus::scheduled;
    join_token = new_join_token(room);
  } else {
    room.status = RoomStatus::active;
    room.started_at = room.created_at;
  }
  const std::string by = call.actor.service ? "system" : call.actor.identity.user_id;

  // on_conflict, when given, runs instead of failing a taken id.
  auto create = [this, call, by, join_token](Room r, std::function<void()> on_conflict = nullptr) {
    // A user's rooms count against their quota when one is about to be
    // made (a found direct room costs nothing); services are not counted.
    if (!call.actor.service && !take_room_quota(call.actor.identity.user_id))
      return call.fail(Status::rate_limited("you created too many rooms recently; try again later"));
    store.create_room(std::move(r), guard([this, call, by, join_token, on_conflict](Result<Room> created) {
      if (!created.ok() && created.status().code() == StatusCode::conflict && on_conflict) return on_conflict();
      if (!created.ok()) return call.fail(created.status());
      remember(*created);
      Json room_json = chat::to_json(*created);
      notify(*created, Json::object({{"type", "room-created"}, {"room", room_json}, {"by", by}}), {});
      Json out = Json::object({{"room", std::move(room_json)}});
      if (!join_token.empty()) {
        out.set("joinToken", join_token);
        out.set("joinTokenExpiresAt", chat::time_json(created->join_expires_at));
      }
      call.ok(std::move(out));
    }));
  };

  if (room.kind != RoomKind::direct) return create(std::move(room));
  if (room.members.size() != 2) return call.fail(Status::bad_request("a direct room has exactly two members"));
  if (*id && reuse->value_or(false)) {
    // Look first, create if free, look again if someone created it in
    // between. A room of other members under that id stays a conflict:
    // it is not this pair's conversation, whoever is in it.
    auto same_pair = [a = room.members[0].user_id, b = room.members[1].user_id](const Room& r) {
      return r.kind == RoomKind::direct && r.members.size() == 2 &&
             ((r.members[0].user_id == a && r.members[1].user_id == b) ||
              (r.members[0].user_id == b && r.members[1].user_id == a));
    };
    auto found = [call, same_pair](const Room& r) {
      if (!same_pair(r)) return call.fail(Status::conflict("room " + r.id + " exists"));
      call.ok(Json::object({{"room", chat::to_json(r)}, {"existing", true}}));
    };
    const std::string rid = room.id;
    return with_room(rid, [this, call, create, found, rid, room = std::move(room)](Result<Room> r) mutable {
      if (r.ok()) return found(*r);
      if (r.status().code() != StatusCode::not_found) return call.fail(r.status());
      create(std::move(room), [this, call, found, rid] {
        with_room(rid, [call, found](Result<Room> again) {
          if (!again.ok()) return call.fail(again.status());
          found(*again);
        });
      });
    });
  }
  if (*id) return create(std::move(room));
  // Without an id, a direct room between the same two users is reused.
  const std::string a = room.members[0].user_id, b = room.members[1].user_id;
  store.find_direct_room(a, b, guard([call, create, room = std::move(room)](Result<Room> existing) mutable {
    if (existing.ok()) {
      return call.ok(Json::object({{"room", chat::to_json(*existing)}, {"existing", true}}));
    }
    if (existing.status().code() != StatusCode::not_found) return call.fail(existing.status());
    create(std::move(room));
  }));
}

void ChatService::Impl::room_get(const ChatCall& call, const Json& p) {
  with_readable_room(call, p, [call](const Room& room) { call.ok(Json::object({{"room", chat::to_json(room)}})); });
}

void ChatService::Impl::room_join(const ChatCall& call, const Json& p) {
  auto id = chat::required_room_id(p);
  if (!id.ok()) return call.fail(id.status());
  auto token = chat::optional_string(p, "joinToken");
  if (!token.ok()) return call.fail(token.status());
  auto after = chat::optional_int(p, "afterSeq");
  if (!after.ok()) return call.fail(after.status());
  if (*after && **after < 0) return call.fail(Status::bad_request("afterSeq must not be negative"));
  SocketState* st = state(call.socket->id());
  if (!st) return call.fail(Status::unavailable("socket is disconnected"));
  if (!st->rooms.contains(*id) && st->rooms.size() >= options.max_rooms_per_socket)
    return call.fail(Status::bad_request("this socket has joined too many rooms"));

  with_room(*id, [this, call, token = *token, after_seq = *after](Result<Room> r) {
    if (!r.ok()) return call.fail(r.status());
    Room room = std::move(r).value();
    const Identity& who = call.actor.identity;
    bool by_token = false;
    if (!room.member(who.user_id) && !is_admin(call.actor)) {
      by_token = token && join_token_valid(room, *token);
      if (!by_token) return call.fail(Status::forbidden("not a member of " + room.id));
    }
    if (room.status == RoomStatus::ended) return call.fail(Status::room_ended("the session has ended"));
    if (by_token && room.members.size() >= options.max_members_per_room)
      return call.fail(Status::forbidden(room.id + " is full"));

    auto activate = [this, call, after_seq](Room rm) {
      if (rm.kind != RoomKind::session || rm.status != RoomStatus::scheduled) return finish_join(call, std::move(rm), after_seq);
      const Timestamp now = clock.now();
      store.update_session(rm.id, RoomStatus::active, now, std::nullopt,
                           guard([this, call, after_seq](Result<Room> active) {
                             if (!active.ok()) return call.fail(active.status());
                             remember(*active);
                             arm_session_end(*active);
                             finish_join(call, std::move(active).value(), after_seq);
                           }));
    };
    if (!by_token) return activate(std::move(room));
    store.add_member(room.id, Member{who.user_id, "member"}, guard([this, call, activate](Result<Room> added) {
      if (!added.ok()) return call.fail(added.status());
      remember(*added);
      Room rm = *added;
      system_message(rm, call.actor, call.actor.identity.name + " joined", [activate, rm] { activate(rm); });
    }));
  });
}

void ChatService::Impl::finish_join(const ChatCall& call, Room room, std::optional<std::int64_t> after_seq) {
  const std::string sid = call.socket->id();
  SocketState* st = state(sid);
  if (!st || !call.socket->connected()) return call.fail(Status::unavailable("socket is disconnected"));
  const std::string hub = hub_room(room.id);
  const bool already = st->rooms.contains(room.id);

  // replayed: {last seq replayed, cut short} when this join replayed.
  auto enter = [this, call, room, sid, hub, already](std::optional<std::pair<std::int64_t, bool>> replayed) {
    SocketState* s = state(sid);
    if (!s || !call.socket->connected()) return call.fail(Status::unavailable("socket is disconnected"));
    const Identity& who = call.actor.identity;
    s->rooms.insert(room.id);
    call.socket->join(hub);
    rooms_cache.pin(room);
    if (!already) {
      const auto online = static_cast<long long>(nsp.hub().online_users(hub));
      nsp.to(hub).except(sid).droppable().emit(
          "presence:join",
          Json::object({{"room", room.id},
                        {"peer", Json::object({{"sid", sid}, {"userId", who.user_id}, {"name", who.name},
                                               {"role", role_in(room, who)}})},
                        {"online", online}}));
      broadcast_session_state(room);
    }
    read_state(room.id, who.user_id, guard([this, call, room, replayed](Result<ReadState> rs) {
      if (!rs.ok()) return call.fail(rs.status());
      Json reads = Json::array();
      for (const auto& r : rs->reads) reads.push(Json::object({{"userId", r.user_id}, {"seq", static_cast<long long>(r.seq)}}));
      Json ack = Json::object({{"room", chat::to_json(room)},
                               {"peers", peers_of(room)},
                               {"presence", presence_of(room, *rs)},
                               {"reads", std::move(reads)},
                               {"lastSeq", static_cast<long long>(rs->last_seq)},
                               {"unread", static_cast<long long>(rs->unread)},
                               {"replayTruncated", replayed && replayed->second}});
      // Where paging the rest starts: live messages may already have
      // overtaken this ack, so the client cannot tell it from what it got.
      if (replayed) ack.set("replayLastSeq", static_cast<long long>(replayed->first));
      call.ok(std::move(ack));
    }));
  };

  if (!after_seq || already) return enter(std::nullopt);
  // Hold live messages of the room for this socket while the replay is read.
  auto joiner = std::make_shared<Joiner>(Joiner{sid, {}});
  joiners[room.id].push_back(joiner);
  HistoryQuery q;
  q.after = *after_seq;
  q.limit = std::max(1, options.replay_limit);
  store.history(room.id, q, guard([this, call, room, joiner, after_seq, enter](Result<HistoryPage> page) {
    auto& list = joiners[room.id];
    std::erase(list, joiner);
    if (list.empty()) joiners.erase(room.id);
    if (!page.ok()) return call.fail(page.status());
    if (!call.socket->connected()) return call.fail(Status::unavailable("socket is disconnected"));
    enter(replay(*call.socket, *after_seq, *page, *joiner));
  }));
}

std::pair<std::int64_t, bool> ChatService::Impl::replay(socketio::Socket& socket, std::int64_t after_seq,
                                                         const HistoryPage& page, const Joiner& joiner) {
  std::int64_t last = after_seq;
  std::size_t budget = options.max_answer_bytes;
  int left = options.replay_limit;
  // False once the replay must stop: the budget is spent, the connection
  // is backed up (or gone), or the replay limit is reached.
  auto send = [&](const Message& m) {
    if (left <= 0 || socket.connection().backpressured()) return false;
    Json event = Json::object({{"message", chat::to_json(m)}});
    const std::size_t size = size_of(event);
    if (size > budget) return false;
    if (socket.emit("message:new", std::move(event)) == SendStatus::dropped) return false;
    budget -= size;
    --left;
    last = m.seq;
    return true;
  };
  for (const auto& m : page.messages)
    if (!send(m)) return {last, true};
  // Messages published during the read follow, unless the page stopped
  // short of them (the store had more) or too many came to hold: then
  // they are part of what the client pages.
  if (page.has_more || joiner.overflowed) return {last, true};
  for (const auto& m : joiner.held)
    if (m.seq > last && !send(m)) return {last, true};
  return {last, false};
}

void ChatService::Impl::room_leave(const ChatCall& call, const Json& p) {
  auto id = chat::required_room_id(p);
  if (!id.ok()) return call.fail(id.status());
  leave_room(call.socket->id(), call.actor.identity, *id, true);
  call.ok(Json::object());
}

void ChatService::Impl::rooms_list(const ChatCall& call, const Json& p) {
  auto limit = chat::optional_int(p, "limit");
  if (!limit.ok()) return call.fail(limit.status());
  auto cursor_text = chat::optional_string(p, "cursor");
  if (!cursor_text.ok()) return call.fail(cursor_text.status());
  std::optional<ListCursor> cursor;
  if (*cursor_text) {
    cursor = parse_list_cursor(**cursor_text);
    if (!cursor) return call.fail(Status::bad_request("cursor is not one rooms:list gave"));
  }
  const std::size_t max_rooms =
      static_cast<std::size_t>(std::clamp<std::int64_t>(limit->value_or(kMaxRoomsPerPage), 1, kMaxRoomsPerPage));
  if (call.actor.identity.user_id.empty()) return call.fail(Status::bad_request("userId is required"));
  auto answer = [this, call, cursor, max_rooms](Result<std::vector<RoomSummary>> list) {
    if (!list.ok()) return call.fail(list.status());
    // The store's order (newest activity first, then id); a page starts
    // just after the cursor and stops at the count or the byte budget.
    auto first = list->begin();
    if (cursor)
      first = std::find_if(list->begin(), list->end(), [&](const RoomSummary& s) { return after_cursor(s, *cursor); });
    std::vector<Json> items;
    std::size_t used = 0;
    for (auto it = first; it != list->end() && items.size() < max_rooms; ++it) {
      Json item = chat::to_json(*it);
      const std::size_t size = size_of(item);
      if (!items.empty() && used + size > options.max_answer_bytes) break;  // the first always fits
      used += size;
      items.push_back(std::move(item));
    }
    const auto last = first + static_cast<std::ptrdiff_t>(items.size());
    const bool more = last != list->end();
    Json out = Json::object({{"rooms", Json(std::move(items))}, {"hasMore", more}});
    out.set("nextCursor", more ? Json(list_cursor(*(last - 1))) : Json());
    call.ok(std::move(out));
  };
  store.list_rooms(call.actor.identity.user_id, guard([this, call, answer](Result<std::vector<RoomSummary>> r) {
    if (!r.ok()) return call.fail(r.status());
    // Sessions whose automatic end fell due while no process watched them
    // (a restart) are ended first, then the list is read again.
    std::vector<std::string> overdue;
    for (const auto& s : *r)
      if (auto due = session_end_due(s.room); due && *due <= clock.now() && !rooms_cache.contains(s.room.id))
        overdue.push_back(s.room.id);
    if (overdue.empty()) return answer(std::move(r));
    auto left = std::make_shared<std::size_t>(overdue.size());
    for (const auto& id : overdue)
      with_room(id, [this, call, left, answer](Result<Room>) {
        if (--*left == 0) store.list_rooms(call.actor.identity.user_id, guard(answer));
      });
  }));
}

void ChatService::Impl::member_add(const ChatCall& call, const Json& p) {
  auto id = chat::required_room_id(p);
  if (!id.ok()) return call.fail(id.status());
  auto user = chat::required_string(p, "userId");
  if (!user.ok()) return call.fail(user.status());
  if (!valid_user_id(*user)) return call.fail(Status::bad_request("userId must be 1 to 128 bytes"));
  auto role = chat::optional_string(p, "role");
  if (!role.ok()) return call.fail(role.status());
  if (role->value_or("").size() > kMaxRoleBytes) return call.fail(Status::bad_request("role too long"));
  Member added{*user, role->value_or("member").empty() ? "member" : role->value_or("member")};

  with_room(*id, [this, call, added](Result<Room> r) {
    if (!r.ok()) return call.fail(r.status());
    const Room& room = *r;
    if (room.kind == RoomKind::direct) return call.fail(Status::bad_request("members of a direct room are fixed"));
    const Member* me = room.member(call.actor.identity.user_id);
    if (!call.actor.service && !is_admin(call.actor) && !(me && me->role == "owner"))
      return call.fail(Status::forbidden("only the room owner may add members"));
    if (room.status == RoomStatus::ended) return call.fail(Status::room_ended("the session has ended"));
    if (room.member(added.user_id)) return call.fail(Status::conflict(added.user_id + " is already a member"));
    if (room.members.size() >= options.max_members_per_room) return call.fail(Status::forbidden(room.id + " is full"));
    store.add_member(room.id, added, guard([this, call, added](Result<Room> updated) {
      if (!updated.ok()) return call.fail(updated.status());
      remember(*updated);
      const Room rm = *updated;
      const std::string text = call.actor.service ? name_of(added.user_id) + " was added"
                                                  : call.actor.identity.name + " added " + name_of(added.user_id);
      system_message(rm, call.actor, text, [this, call, rm, added] {
        const std::string by = call.actor.service ? "system" : call.actor.identity.user_id;
        Json room_json = chat::to_json(rm);
        notify(rm, Json::object({{"type", "member-added"}, {"room", room_json}, {"userId", added.user_id},
                                 {"role", added.role}, {"by", by}}), {});
        call.ok(Json::object({{"room", std::move(room_json)}}));
      });
    }));
  });
}

void ChatService::Impl::member_remove(const ChatCall& call, const Json& p) {
  auto id = chat::required_room_id(p);
  if (!id.ok()) return call.fail(id.status());
  auto user = chat::required_string(p, "userId");
  if (!user.ok()) return call.fail(user.status());
  if (!valid_user_id(*user)) return call.fail(Status::bad_request("userId must be 1 to 128 bytes"));

  with_room(*id, [this, call, target = *user](Result<Room> r) {
    if (!r.ok()) return call.fail(r.status());
    const Room& room = *r;
    const Member* removed = room.member(target);
    if (!removed) return call.fail(Status::not_found(target + " is not a member of " + room.id));
    const bool self = !call.actor.service && call.actor.identity.user_id == target;
    const Member* me = room.member(call.actor.identity.user_id);
    const bool privileged = call.actor.service || is_admin(call.actor);
    if (!self && !privileged) {
      if (room.kind == RoomKind::direct) return call.fail(Status::forbidden("in a direct room you may only leave"));
      if (!(me && me->role == "owner")) return call.fail(Status::forbidden("only the room owner may remove members"));
    }
    const std::string old_role = removed->role;
    store.remove_member(room.id, target, guard([this, call, target, self, old_role](Result<Room> updated) {
      if (!updated.ok()) return call.fail(updated.status());
      remember(*updated);
      const Room rm = *updated;
      const std::string text = self ? name_of(target) + " left"
                               : call.actor.service ? name_of(target) + " was removed"
                                                    : call.actor.identity.name + " removed " + name_of(target);
      system_message(rm, call.actor, text, [this, call, rm, target, old_role] {
        const std::string by = call.actor.service ? "system" : call.actor.identity.user_id;
        Json room_json = chat::to_json(rm);
        notify(rm, Json::object({{"type", "member-removed"}, {"room", room_json}, {"userId", target},
                                 {"role", old_role}, {"by", by}}), {target});
        // Non-admin sockets of the removed user leave the room.
        for (const auto& sid : nsp.hub().connections_in(hub_room(rm.id))) {
          socketio::Socket* s = nsp.socket(sid);
          if (s && s->identity().user_id == target && s->identity().role != "admin")
            leave_room(sid, s->identity(), rm.id, true);
        }
        call.ok(Json::object({{"room", std::move(room_json)}}));
      });
    }));
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
  with_readable_room(call, p, [this, call](const Room& room) {
    const Member* me = room.member(call.actor.identity.user_id);
    const bool allowed = call.actor.service || is_admin(call.actor) || (me && me->role == "owner");
    if (!allowed) return call.fail(Status::forbidden("only the room owner may rotate its join token"));
    if (room.kind != RoomKind::session) return call.fail(Status::bad_request(room.id + " is not a session room"));
    if (room.status == RoomStatus::ended) return call.fail(Status::room_ended("the session has ended"));
    Room rotated = room;
    std::string token = new_join_token(rotated);
    store.set_join_secret(room.id, rotated.join_secret, rotated.join_expires_at,
                          guard([this, call, token](Result<Room> updated) {
                            if (!updated.ok()) return call.fail(updated.status());
                            remember(*updated);
                            call.ok(Json::object({{"joinToken", token},
                                                  {"expiresAt", chat::time_json(updated->join_expires_at)}}));
                          }));
  });
}

void ChatService::Impl::session_end(const ChatCall& call, const Json& p) {
  with_readable_room(call, p, [this, call](const Room& room) {
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
