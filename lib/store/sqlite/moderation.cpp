// Moderation writes and reads of the SQLite store (see moderation.h).
#include "store/sqlite/moderation.h"

#include <algorithm>
#include <limits>

#include "store/sqlite/rows.h"

namespace realtime::sqlite {
namespace {

// The rid of an existing room, or not_found.
Result<std::int64_t> existing_room(Db& db, const std::string& room) {
  auto rid = find_room_rid(db, room);
  if (!rid.ok()) return rid.status();
  if (!*rid) return Status::not_found("no room " + room);
  return **rid;
}

std::optional<std::int64_t> opt_millis(std::optional<Timestamp> t) {
  return t ? std::optional<std::int64_t>(to_millis(*t)) : std::nullopt;
}

}  // namespace

Result<Room> write_member_role(Db& db, const std::string& room, const std::string& user_id, const std::string& role) {
  auto rid = existing_room(db, room);
  if (!rid.ok()) return rid.status();
  Stmt up = db.prepare("UPDATE members SET role = ?3 WHERE rid = ?1 AND user_id = ?2");
  up.bind(1, *rid).bind(2, user_id).bind(3, role);
  if (Status s = up.run(); !s.ok()) return s;
  if (db.changes() == 0) return Status::not_found(user_id + " is not a member of " + room);
  return load_room(db, *rid);
}

Result<Done> write_mute(Db& db, const std::string& room, const std::string& user_id, std::optional<Timestamp> until) {
  if (auto rid = existing_room(db, room); !rid.ok()) return rid.status();
  if (!until) {
    Stmt del = db.prepare("DELETE FROM mutes WHERE room = ?1 AND user_id = ?2");
    del.bind(1, room).bind(2, user_id);
    if (Status s = del.run(); !s.ok()) return s;
    return Done{};
  }
  Stmt up = db.prepare("INSERT OR REPLACE INTO mutes(room, user_id, until) VALUES(?1, ?2, ?3)");
  up.bind(1, room).bind(2, user_id).bind(3, to_millis(*until));
  if (Status s = up.run(); !s.ok()) return s;
  return Done{};
}

Result<Done> write_slow_mode(Db& db, const std::string& room, int seconds) {
  if (auto rid = existing_room(db, room); !rid.ok()) return rid.status();
  Stmt up = db.prepare("INSERT OR REPLACE INTO slow_modes(room, seconds) VALUES(?1, ?2)");
  up.bind(1, room).bind(2, static_cast<std::int64_t>(seconds));
  if (Status s = up.run(); !s.ok()) return s;
  return Done{};
}

Result<AuditEntry> write_audit(Db& db, AuditEntry entry) {
  Stmt ins = db.prepare(
      "INSERT INTO audit(room, at, actor, action, target, detail) VALUES(?1, ?2, ?3, ?4, ?5, ?6)");
  ins.bind(1, entry.room).bind(2, to_millis(entry.at)).bind(3, entry.actor).bind(4, entry.action);
  ins.bind(5, entry.target).bind(6, entry.detail);
  if (Status s = ins.run(); !s.ok()) return s;
  entry.id = db.last_insert_rowid();
  return entry;
}

Result<Done> write_ban(Db& db, const Ban& ban) {
  Stmt up = db.prepare("INSERT OR REPLACE INTO bans(user_id, reason, by_whom, at, until) VALUES(?1, ?2, ?3, ?4, ?5)");
  up.bind(1, ban.user_id).bind(2, ban.reason).bind(3, ban.by).bind(4, to_millis(ban.at));
  up.bind_opt(5, opt_millis(ban.until));
  if (Status s = up.run(); !s.ok()) return s;
  return Done{};
}

Result<Done> write_unban(Db& db, const std::string& user_id) {
  Stmt del = db.prepare("DELETE FROM bans WHERE user_id = ?1");
  del.bind(1, user_id);
  if (Status s = del.run(); !s.ok()) return s;
  if (db.changes() == 0) return Status::not_found(user_id + " is not banned");
  return Done{};
}

Result<RoomModeration> read_room_moderation(Db& db, const std::string& room) {
  RoomModeration out;
  {
    Stmt s = db.prepare("SELECT seconds FROM slow_modes WHERE room = ?1");
    s.bind(1, room);
    if (s.step()) out.slow_mode_seconds = static_cast<int>(s.int64(0));
    if (!s.status().ok()) return s.status();
  }
  Stmt s = db.prepare("SELECT user_id, until FROM mutes WHERE room = ?1 ORDER BY user_id");
  s.bind(1, room);
  while (s.step()) out.mutes.push_back(Mute{s.text(0), from_millis(s.int64(1))});
  if (!s.status().ok()) return s.status();
  return out;
}

Result<AuditPage> read_audit(Db& db, const std::string& room, std::optional<std::int64_t> before, int limit) {
  const int n = std::max(1, limit);
  Stmt s = db.prepare(
      "SELECT id, at, actor, action, target, detail FROM audit WHERE room = ?1 AND id < ?2 "
      "ORDER BY id DESC LIMIT ?3");
  s.bind(1, room).bind(2, before.value_or(std::numeric_limits<std::int64_t>::max())).bind(3, static_cast<std::int64_t>(n) + 1);
  AuditPage page;
  while (s.step()) {
    if (static_cast<int>(page.entries.size()) == n) {
      page.has_more = true;
      break;
    }
    page.entries.push_back(AuditEntry{s.int64(0), room, from_millis(s.int64(1)), s.text(2), s.text(3), s.text(4), s.text(5)});
  }
  if (!s.status().ok()) return s.status();
  return page;
}

Result<std::vector<Ban>> read_bans(Db& db, Timestamp now, std::size_t limit) {
  Stmt s = db.prepare(
      "SELECT user_id, reason, by_whom, at, until FROM bans WHERE until IS NULL OR until > ?1 "
      "ORDER BY at DESC, user_id DESC LIMIT ?2");
  s.bind(1, to_millis(now)).bind(2, static_cast<std::int64_t>(std::min<std::size_t>(limit, static_cast<std::size_t>(std::numeric_limits<std::int64_t>::max()))));
  std::vector<Ban> out;
  while (s.step()) {
    Ban b{s.text(0), s.text(1), s.text(2), from_millis(s.int64(3)), std::nullopt};
    if (auto u = s.opt_int64(4)) b.until = from_millis(*u);
    out.push_back(std::move(b));
  }
  if (!s.status().ok()) return s.status();
  return out;
}

}  // namespace realtime::sqlite
