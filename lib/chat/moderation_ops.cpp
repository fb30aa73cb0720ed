// Moderation: the moderator role, mutes, slow mode, the audit log and
// server-wide bans (docs/protocol.md, "Moderation"). Same shape as the
// other operations: parse, read the room, check who may, write, then tell
// the room (system message and notification) and the audit log.
//
// Mutes and slow mode are read through moderation_cache. A refusal made on
// it is not final in a cluster: run() runs the operation again with
// call.fresh, and with_moderation then reads the store. A node that
// changes a room's moderation tells the others (room_changed), which drop
// their copy.
#include <algorithm>

#include "chat/service_impl.h"

namespace realtime {
namespace {

constexpr std::int64_t kMaxMuteSeconds = 30 * 24 * 3600;
constexpr std::int64_t kMaxSlowModeSeconds = 6 * 3600;
constexpr std::int64_t kMaxBanSeconds = 10LL * 365 * 24 * 3600;
constexpr std::size_t kMaxBanReasonBytes = 500;
constexpr std::int64_t kAuditPageDefault = 50;
constexpr std::int64_t kAuditPageMax = 100;
constexpr std::int64_t kBansPageMax = 1000;

// A required integer field within [lo, hi].
Result<std::int64_t> int_in(const Json& p, std::string_view key, std::int64_t lo, std::int64_t hi) {
  auto v = chat::optional_int(p, key);
  if (!v.ok()) return v.status();
  if (!*v) return Status::bad_request(std::string(key) + " is required");
  if (**v < lo || **v > hi)
    return Status::bad_request(std::string(key) + " must be between " + std::to_string(lo) + " and " + std::to_string(hi));
  return **v;
}

std::size_t cost_of(const std::string& room, const RoomModeration& m) {
  std::size_t c = 96 + room.size();
  for (const auto& mute : m.mutes) c += mute.user_id.size() + 64;
  return c;
}

// The end of user_id's mute in force at `now`, if any.
std::optional<Timestamp> muted_until(const RoomModeration& m, const std::string& user_id, Timestamp now) {
  for (const auto& mute : m.mutes)
    if (mute.user_id == user_id && mute.until > now) return mute.until;
  return std::nullopt;
}

Status muted(const std::string& room, Timestamp until) {
  return Status::forbidden("you are muted in " + room + " until " + format_iso8601(until));
}

Json ban_json(const Ban& b, bool lifted) {
  Json j = Json::object({{"userId", b.user_id}, {"reason", b.reason}, {"by", b.by},
                         {"at", static_cast<std::int64_t>(b.at.time_since_epoch().count())}});
  if (b.until) j.set("until", static_cast<std::int64_t>(b.until->time_since_epoch().count()));
  if (lifted) j.set("lifted", true);
  return j;
}

Timestamp millis_of(const Json& v) { return Timestamp(std::chrono::milliseconds(v.is_int() ? v.as_int() : 0)); }

// The server-wide log (bans): the audit log of no room.
const std::string kServerLog;

struct AuditQuery {
  std::optional<std::int64_t> before;
  int limit = 0;
};

Result<AuditQuery> parse_audit_query(const Json& p) {
  auto before = chat::optional_int(p, "before");
  if (!before.ok()) return before.status();
  auto limit = chat::optional_int(p, "limit");
  if (!limit.ok()) return limit.status();
  if (*limit && (**limit < 1 || **limit > kAuditPageMax))
    return Status::bad_request("limit must be between 1 and " + std::to_string(kAuditPageMax));
  return AuditQuery{*before, static_cast<int>(limit->value_or(kAuditPageDefault))};
}

Json audit_json(const AuditPage& page) {
  Json entries = Json::array();
  for (const auto& e : page.entries) {
    auto detail = Json::parse(e.detail);
    entries.push(Json::object({{"id", e.id}, {"at", format_iso8601(e.at)}, {"by", e.actor}, {"action", e.action},
                               {"target", e.target}, {"detail", detail.ok() ? std::move(*detail) : Json::object()}}));
  }
  return Json::object({{"entries", std::move(entries)}, {"hasMore", page.has_more}});
}

bool owns(const Actor& a, const Room& room, bool admin) {
  if (a.service || admin) return true;
  const Member* me = room.member(a.identity.user_id);
  return me && me->role == "owner";
}

std::string ban_reason(const Ban& b) {
  std::string why = "you are banned";
  if (b.until) {
    why += " until ";
    why += format_iso8601(*b.until);
  }
  if (!b.reason.empty()) {
    why += ": ";
    why += b.reason;
  }
  return why;
}

}  // namespace

bool ChatService::Impl::moderates(const Actor& a, const Room& room) const {
  if (a.service || is_admin(a)) return true;
  const Member* me = room.member(a.identity.user_id);
  return me && (me->role == "owner" || me->role == "moderator");
}

void ChatService::Impl::with_moderation(const ChatCall& call, const std::string& room,
                                        std::function<void(const RoomModeration&)> then) {
  if (!call.fresh)
    if (const RoomModeration* m = moderation_cache.find(room)) return then(*m);
  store.room_moderation(room, guard([this, call, room, epoch = moderation_epoch, then = std::move(then)](Result<RoomModeration> r) {
    if (!r.ok()) return call.fail(r.status());
    // A change made here or heard of during the read is newer than it.
    if (epoch == moderation_epoch) moderation_cache.put(room, *r, cost_of(room, *r));
    then(*r);
  }));
}

void ChatService::Impl::forget_moderation(const std::string& room) {
  moderation_cache.erase(room);
  ++moderation_epoch;
}

void ChatService::Impl::when_not_muted(const ChatCall& call, const Room& room, std::function<void()> then) {
  // A service acts with its own authority, even for a muted user.
  if (call.actor.service || !room.member(call.actor.identity.user_id)) return then();
  with_moderation(call, room.id, [this, call, room_id = room.id, then = std::move(then)](const RoomModeration& m) {
    if (auto until = muted_until(m, call.actor.identity.user_id, clock.now()))
      return call.fail(muted(room_id, *until));
    then();
  });
}

void ChatService::Impl::when_may_send(const ChatCall& call, const Room& room,
                                      const std::optional<std::string>& client_msg_id, std::function<void()> then) {
  const std::string& user = call.actor.identity.user_id;
  if (call.actor.service || !room.member(user)) return then();
  // One read of the room's moderation for both checks.
  with_moderation(call, room.id, [this, call, room, user, client_msg_id, then = std::move(then)](const RoomModeration& m) {
    if (auto until = muted_until(m, user, clock.now())) return call.fail(muted(room.id, *until));
    if (m.slow_mode_seconds <= 0 || moderates(call.actor, room)) return then();
    const auto now = loop.now();
    const auto every = std::chrono::seconds(m.slow_mode_seconds);
    std::string key = room.id;
    key += '\n';
    key += user;
    const auto* last = last_sends.find(key);
    if (last && client_msg_id && last->client_msg_id == client_msg_id) return then();
    if (last && now - last->at < every) {
      const auto wait = std::chrono::ceil<std::chrono::seconds>(every - (now - last->at)).count();
      return call.fail(Status::rate_limited("slow mode: one message every " + std::to_string(m.slow_mode_seconds) +
                                            " s in " + room.id + "; wait " + std::to_string(wait) + " s"));
    }
    last_sends.put(std::move(key), LastSend{now, client_msg_id}, 1);
    then();
  });
}

void ChatService::Impl::audit(const std::string& room, const Actor& by, std::string action, std::string target,
                              Json detail, std::function<void()> then) {
  AuditEntry e{0, room, clock.now(), by_whom(by), std::move(action), std::move(target), detail.dump()};
  // The action is done whatever happens to its record; the answer waits
  // for it so that a log read after the answer has it.
  store.append_audit(std::move(e), guard([this, then = std::move(then)](Result<AuditEntry> r) {
    if (!r.ok()) ++stats.audit_not_kept;
    then();
  }));
}

void ChatService::Impl::member_role(const ChatCall& call, const Json& p) {
  auto in = chat::parse_member_remove(p);
  if (!in.ok()) return call.fail(in.status());
  auto role = chat::required_string(p, "role");
  if (!role.ok()) return call.fail(role.status());
  if (*role != "moderator" && *role != "member")
    return call.fail(Status::bad_request("role must be \"moderator\" or \"member\""));
  with_room_for(call, in->room, on_ok(call, [this, call, user = in->user_id, role = *role](Room room) {
    // The caller's right first: who is in a room is not told to those who
    // may not act on it.
    if (!owns(call.actor, room, is_admin(call.actor)))
      return call.fail(Status::forbidden("only the room owner may give or take the moderator role"));
    if (room.kind == RoomKind::direct) return call.fail(Status::bad_request("a direct room has no roles"));
    const Member* target = room.member(user);
    if (!target) return call.fail(Status::not_found(user + " is not a member of " + room.id));
    if (target->role == "owner") return call.fail(Status::forbidden("the owner's role cannot be changed"));
    if (target->role == role) return call.ok(Json::object({{"room", chat::to_json(room)}}));
    store.set_member_role(room.id, user, role, on_ok(call, [this, call, user, role, from = target->role](Room updated) {
      remember(updated);
      audit(updated.id, call.actor, "role", user, Json::object({{"role", role}, {"from", from}}), [this, call, user, role, updated] {
        const std::string who = name_of(user);
        std::string text = call.actor.service ? who : call.actor.identity.name;
        if (role == "moderator")
          text += call.actor.service ? " is now a moderator" : " made " + who + " a moderator";
        else
          text += call.actor.service ? " is no longer a moderator" : " removed " + who + " as moderator";
        system_message(updated, call.actor, text, [this, call, user, role, updated] {
          Json room_json = chat::to_json(updated);
          notify(updated, Json::object({{"type", "member-role"}, {"room", room_json}, {"userId", user},
                                        {"role", role}, {"by", by_whom(call.actor)}}), {});
          call.ok(Json::object({{"room", std::move(room_json)}}));
        });
      });
    }));
  }));
}

void ChatService::Impl::member_mute(const ChatCall& call, const Json& p) {
  auto in = chat::parse_member_remove(p);
  if (!in.ok()) return call.fail(in.status());
  auto seconds = int_in(p, "seconds", 1, kMaxMuteSeconds);
  if (!seconds.ok()) return call.fail(seconds.status());
  with_room_for(call, in->room, on_ok(call, [this, call, user = in->user_id, seconds = *seconds](Room room) {
    if (!moderates(call.actor, room)) return call.fail(Status::forbidden("only owners and moderators may mute"));
    const Member* target = room.member(user);
    if (!target) return call.fail(Status::not_found(user + " is not a member of " + room.id));
    if (target->role == "owner") return call.fail(Status::forbidden("the owner cannot be muted"));
    if (target->role == "moderator" && !owns(call.actor, room, is_admin(call.actor)))
      return call.fail(Status::forbidden("only the owner may mute a moderator"));
    if (room.status == RoomStatus::ended) return call.fail(Status::room_ended("the session has ended"));
    const Timestamp until = clock.now() + std::chrono::seconds(seconds);
    store.set_mute(room.id, user, until, guard([this, call, room, user, until, seconds](Status s) {
      if (!s.ok()) return call.fail(s);
      forget_moderation(room.id);
      if (cluster) cluster->room_changed(room.id);
      Json detail = Json::object({{"seconds", seconds}, {"until", format_iso8601(until)}});
      audit(room.id, call.actor, "mute", user, std::move(detail), [this, call, room, user, until] {
        const std::string who = name_of(user);
        std::string text = call.actor.service ? who + " was muted" : call.actor.identity.name + " muted " + who;
        text += " until ";
        text += format_iso8601(until);
        system_message(room, call.actor, text, [this, call, room, user, until] {
          notify(room, Json::object({{"type", "member-muted"}, {"room", chat::to_json(room)}, {"userId", user},
                                     {"until", format_iso8601(until)}, {"by", by_whom(call.actor)}}), {});
          call.ok(Json::object({{"userId", user}, {"until", format_iso8601(until)}}));
        });
      });
    }));
  }));
}

void ChatService::Impl::member_unmute(const ChatCall& call, const Json& p) {
  auto in = chat::parse_member_remove(p);
  if (!in.ok()) return call.fail(in.status());
  with_room_for(call, in->room, on_ok(call, [this, call, user = in->user_id](Room room) {
    if (!moderates(call.actor, room)) return call.fail(Status::forbidden("only owners and moderators may unmute"));
    const Member* target = room.member(user);
    if (!target) return call.fail(Status::not_found(user + " is not a member of " + room.id));
    if (target->role == "moderator" && !owns(call.actor, room, is_admin(call.actor)))
      return call.fail(Status::forbidden("only the owner may unmute a moderator"));
    with_moderation(call, room.id, [this, call, room, user](const RoomModeration& m) {
      if (!muted_until(m, user, clock.now())) return call.fail(Status::not_found(user + " is not muted in " + room.id));
      store.set_mute(room.id, user, std::nullopt, guard([this, call, room, user](Status s) {
        if (!s.ok()) return call.fail(s);
        forget_moderation(room.id);
        if (cluster) cluster->room_changed(room.id);
        audit(room.id, call.actor, "unmute", user, Json::object(), [this, call, room, user] {
          const std::string who = name_of(user);
          const std::string text = call.actor.service ? who + " was unmuted" : call.actor.identity.name + " unmuted " + who;
          system_message(room, call.actor, text, [this, call, room, user] {
            notify(room, Json::object({{"type", "member-unmuted"}, {"room", chat::to_json(room)}, {"userId", user},
                                       {"by", by_whom(call.actor)}}), {});
            call.ok(Json::object({{"userId", user}}));
          });
        });
      }));
    });
  }));
}

void ChatService::Impl::room_slowmode(const ChatCall& call, const Json& p) {
  auto in = chat::parse_room_ref(p);
  if (!in.ok()) return call.fail(in.status());
  auto seconds = int_in(p, "seconds", 0, kMaxSlowModeSeconds);
  if (!seconds.ok()) return call.fail(seconds.status());
  with_room_for(call, in->room, on_ok(call, [this, call, seconds = static_cast<int>(*seconds)](Room room) {
    if (!moderates(call.actor, room)) return call.fail(Status::forbidden("only owners and moderators may set slow mode"));
    if (room.status == RoomStatus::ended) return call.fail(Status::room_ended("the session has ended"));
    store.set_slow_mode(room.id, seconds, guard([this, call, room, seconds](Status s) {
      if (!s.ok()) return call.fail(s);
      forget_moderation(room.id);
      if (cluster) cluster->room_changed(room.id);
      audit(room.id, call.actor, "slowmode", {}, Json::object({{"seconds", seconds}}), [this, call, room, seconds] {
        std::string text = call.actor.service ? std::string("Slow mode") : call.actor.identity.name + " set slow mode";
        text += seconds == 0 ? " off" : ": one message every " + std::to_string(seconds) + " s";
        system_message(room, call.actor, text, [this, call, room, seconds] {
          notify(room, Json::object({{"type", "slow-mode"}, {"room", chat::to_json(room)}, {"seconds", seconds},
                                     {"by", by_whom(call.actor)}}), {});
          call.ok(Json::object({{"room", room.id}, {"seconds", seconds}}));
        });
      });
    }));
  }));
}

void ChatService::Impl::moderation_log(const ChatCall& call, const Json& p) {
  auto in = chat::parse_room_ref(p);
  if (!in.ok()) return call.fail(in.status());
  auto q = parse_audit_query(p);
  if (!q.ok()) return call.fail(q.status());
  with_room_for(call, in->room, on_ok(call, [this, call, q = *q](Room room) {
    if (!owns(call.actor, room, is_admin(call.actor)))
      return call.fail(Status::forbidden("only the room owner may read its audit log"));
    store.audit_log(room.id, q.before, q.limit, on_ok(call, [call](AuditPage page) { call.ok(audit_json(page)); }));
  }));
}

void ChatService::Impl::bans_log(const ChatCall& call, const Json& p) {
  if (!call.actor.service && !is_admin(call.actor))
    return call.fail(Status::forbidden("only the service or an admin may read the ban log"));
  auto q = parse_audit_query(p);
  if (!q.ok()) return call.fail(q.status());
  store.audit_log(kServerLog, q->before, q->limit, on_ok(call, [call](AuditPage page) { call.ok(audit_json(page)); }));
}

void ChatService::Impl::moderation_state(const ChatCall& call, const Json& p) {
  auto in = chat::parse_room_ref(p);
  if (!in.ok()) return call.fail(in.status());
  with_readable_room(call, in->room, [this, call](const Room& room) {
    with_moderation(call, room.id, [this, call, room_id = room.id](const RoomModeration& m) {
      Json mutes = Json::array();
      const Timestamp now = clock.now();
      for (const auto& mute : m.mutes)
        if (mute.until > now) mutes.push(Json::object({{"userId", mute.user_id}, {"until", format_iso8601(mute.until)}}));
      call.ok(Json::object({{"room", room_id}, {"slowMode", m.slow_mode_seconds}, {"mutes", std::move(mutes)}}));
    });
  });
}

// --- Bans

std::optional<std::string> ChatService::Impl::banned_reason(const std::string& user_id) {
  auto it = bans.find(user_id);
  if (it == bans.end()) return std::nullopt;
  const Ban& b = it->second;
  if (b.until && *b.until <= clock.now()) {
    bans.erase(it);
    return std::nullopt;
  }
  return ban_reason(b);
}

void ChatService::Impl::apply_ban(const Ban& ban, bool lifted) {
  ++ban_epoch;
  if (lifted) {
    bans.erase(ban.user_id);
    return;
  }
  if (bans.size() >= options.max_bans && !bans.contains(ban.user_id))
    std::erase_if(bans, [now = clock.now()](const auto& e) { return e.second.until && *e.second.until <= now; });
  // Kept while there is room (user_ban refuses past the bound where a ban
  // is made); the user's sockets here are dropped either way.
  if (bans.size() < options.max_bans || bans.contains(ban.user_id)) bans[ban.user_id] = ban;
  if (ban.until && *ban.until <= clock.now()) return;
  const auto why = ban_reason(ban);
  for (const auto& sid : nsp.hub().connections_of_user(ban.user_id)) {
    socketio::Socket* s = nsp.socket(sid);
    if (!s) continue;
    Json e = error_json(Status::forbidden(why));
    e.set("event", "ban");
    s->emit("error", std::move(e));
    s->disconnect();
  }
}

void ChatService::Impl::remote_ban(const Json& b) {
  Ban ban{b["userId"].is_string() ? b["userId"].as_string() : std::string(),
          b["reason"].is_string() ? b["reason"].as_string() : std::string(),
          b["by"].is_string() ? b["by"].as_string() : std::string(), millis_of(b["at"]), std::nullopt};
  if (ban.user_id.empty()) return;
  if (b.find("until")) ban.until = millis_of(b["until"]);
  apply_ban(ban, b["lifted"].is_bool() && b["lifted"].as_bool());
}

void ChatService::Impl::load_bans() {
  const std::uint64_t epoch = ban_epoch;
  store.list_bans(clock.now(), options.max_bans, guard([this, epoch](Result<std::vector<Ban>> r) {
    if (!r.ok()) {
      // The store may not be reachable yet (a database starting): again soon.
      loop.set_timer(std::chrono::seconds(5), guard([this] { load_bans(); }));
      return;
    }
    // A ban or unban heard during the read may be newer than what it saw.
    if (ban_epoch != epoch) return load_bans();
    std::unordered_map<std::string, Ban> held = std::move(bans);
    bans.clear();
    for (const auto& b : *r) {
      if (held.contains(b.user_id))
        bans[b.user_id] = b;
      else
        apply_ban(b, false);  // new here: its sockets are dropped too
    }
  }));
}

void ChatService::Impl::bus_restored() {
  moderation_cache.clear();
  ++moderation_epoch;
  load_bans();
}

void ChatService::Impl::user_ban(const ChatCall& call, const Json& p) {
  if (!call.actor.service && !is_admin(call.actor))
    return call.fail(Status::forbidden("only the service or an admin may ban users"));
  auto user = chat::required_string(p, "userId");
  if (!user.ok()) return call.fail(user.status());
  if (user->empty() || user->size() > 128) return call.fail(Status::bad_request("userId must be 1-128 bytes"));
  auto reason = chat::optional_string(p, "reason");
  if (!reason.ok()) return call.fail(reason.status());
  if (*reason && (*reason)->size() > kMaxBanReasonBytes)
    return call.fail(Status::bad_request("reason is longer than " + std::to_string(kMaxBanReasonBytes) + " bytes"));
  std::optional<Timestamp> until;
  if (p.find("seconds") && !p["seconds"].is_null()) {
    auto seconds = int_in(p, "seconds", 1, kMaxBanSeconds);
    if (!seconds.ok()) return call.fail(seconds.status());
    until = clock.now() + std::chrono::seconds(*seconds);
  }
  if (bans.size() >= options.max_bans && !bans.contains(*user)) {
    std::erase_if(bans, [now = clock.now()](const auto& e) { return e.second.until && *e.second.until <= now; });
    if (bans.size() >= options.max_bans)
      return call.fail(Status::unavailable("too many bans in force (" + std::to_string(options.max_bans) + ")"));
  }
  Ban ban{*user, reason->value_or(""), by_whom(call.actor), clock.now(), until};
  store.set_ban(ban, guard([this, call, ban](Status s) {
    if (!s.ok()) return call.fail(s);
    apply_ban(ban, false);
    if (cluster) cluster->ban_changed(ban_json(ban, false));
    Json detail = Json::object({{"reason", ban.reason}, {"until", chat::time_json(ban.until)}});
    audit(kServerLog, call.actor, "ban", ban.user_id, detail, [call, ban] {
      call.ok(Json::object({{"userId", ban.user_id}, {"reason", ban.reason}, {"until", chat::time_json(ban.until)}}));
    });
  }));
}

void ChatService::Impl::bans_list(const ChatCall& call, const Json& p) {
  if (!call.actor.service && !is_admin(call.actor))
    return call.fail(Status::forbidden("only the service or an admin may list bans"));
  auto limit = chat::optional_int(p, "limit");
  if (!limit.ok()) return call.fail(limit.status());
  if (*limit && (**limit < 1 || **limit > kBansPageMax))
    return call.fail(Status::bad_request("limit must be between 1 and " + std::to_string(kBansPageMax)));
  const auto n = static_cast<std::size_t>(limit->value_or(kBansPageMax));
  store.list_bans(clock.now(), n, on_ok(call, [call](std::vector<Ban> list) {
    Json out = Json::array();
    for (const auto& b : list)
      out.push(Json::object({{"userId", b.user_id}, {"reason", b.reason}, {"by", b.by}, {"at", format_iso8601(b.at)},
                             {"until", chat::time_json(b.until)}}));
    call.ok(Json::object({{"bans", std::move(out)}}));
  }));
}

void ChatService::Impl::user_unban(const ChatCall& call, const Json& p) {
  if (!call.actor.service && !is_admin(call.actor))
    return call.fail(Status::forbidden("only the service or an admin may lift bans"));
  auto user = chat::required_string(p, "userId");
  if (!user.ok()) return call.fail(user.status());
  if (user->empty() || user->size() > 128) return call.fail(Status::bad_request("userId must be 1-128 bytes"));
  store.remove_ban(*user, guard([this, call, user = *user](Status s) {
    if (!s.ok()) return call.fail(s);
    Ban lifted{user, {}, by_whom(call.actor), clock.now(), std::nullopt};
    apply_ban(lifted, true);
    if (cluster) cluster->ban_changed(ban_json(lifted, true));
    audit(kServerLog, call.actor, "unban", user, Json::object(), [call, user] { call.ok(Json::object({{"userId", user}})); });
  }));
}

}  // namespace realtime
