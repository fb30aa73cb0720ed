// Room, membership and receipt writes of the SQLite store (see writes.h).
// Writer thread only.
#include <fmt/format.h>

#include "store/sqlite/rows.h"
#include "store/sqlite/writes.h"

namespace realtime::sqlite {
namespace {

Status no_room(const std::string& id) { return Status::not_found("no room " + id); }

// The rid of an existing room, or the Status to answer with.
Result<std::int64_t> require_room(Db& db, const std::string& id) {
  auto rid = find_room_rid(db, id);
  if (!rid.ok()) return rid.status();
  if (!*rid) return no_room(id);
  return **rid;
}

}  // namespace

Result<Room> write_create_room(Db& db, const Room& room) {
  auto existing = find_room_rid(db, room.id);
  if (!existing.ok()) return existing.status();
  if (*existing) return Status::conflict("room " + room.id + " exists");
  Stmt ins = db.prepare(
      "INSERT INTO rooms(id, kind, title, status, created_by, created_at, started_at, ended_at, "
      "join_secret, join_expires_at) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)");
  ins.bind(1, room.id)
      .bind(2, static_cast<std::int64_t>(room.kind))
      .bind(3, room.title)
      .bind(4, static_cast<std::int64_t>(room.status))
      .bind(5, room.created_by)
      .bind(6, to_millis(room.created_at))
      .bind_opt(8, room.ended_at ? std::optional<std::int64_t>(to_millis(*room.ended_at)) : std::nullopt)
      .bind_opt(7, room.started_at ? std::optional<std::int64_t>(to_millis(*room.started_at)) : std::nullopt)
      .bind(9, room.join_secret)
      .bind_opt(10, room.join_expires_at ? std::optional<std::int64_t>(to_millis(*room.join_expires_at)) : std::nullopt);
  if (Status s = ins.run(); !s.ok()) return s;
  const std::int64_t rid = db.last_insert_rowid();
  std::int64_t pos = 0;
  for (const auto& m : room.members) {
    // Duplicates in the input are merged: the first role wins.
    Stmt mem = db.prepare("INSERT OR IGNORE INTO members(rid, user_id, role, pos) VALUES(?1, ?2, ?3, ?4)");
    mem.bind(1, rid).bind(2, m.user_id).bind(3, m.role).bind(4, pos++);
    if (Status s = mem.run(); !s.ok()) return s;
    Stmt rd = db.prepare("INSERT OR IGNORE INTO reads(rid, user_id, seq) VALUES(?1, ?2, 0)");
    rd.bind(1, rid).bind(2, m.user_id);
    if (Status s = rd.run(); !s.ok()) return s;
  }
  return load_room(db, rid);
}

Result<Room> write_add_member(Db& db, const std::string& room, const Member& member) {
  auto rid = require_room(db, room);
  if (!rid.ok()) return rid.status();
  {
    Stmt s = db.prepare("SELECT 1 FROM members WHERE rid = ?1 AND user_id = ?2");
    s.bind(1, *rid).bind(2, member.user_id);
    if (s.step()) return Status::conflict(member.user_id + " is already a member of " + room);
    if (!s.status().ok()) return s.status();
  }
  auto last = last_seq(db, *rid);
  if (!last.ok()) return last.status();
  Stmt ins = db.prepare(
      "INSERT INTO members(rid, user_id, role, pos) "
      "VALUES(?1, ?2, ?3, (SELECT coalesce(max(pos), -1) + 1 FROM members WHERE rid = ?1))");
  ins.bind(1, *rid).bind(2, member.user_id).bind(3, member.role);
  if (Status s = ins.run(); !s.ok()) return s;
  // A pointer left by an earlier non-member read is replaced: history from
  // before joining is never unread.
  Stmt rd = db.prepare("INSERT OR REPLACE INTO reads(rid, user_id, seq) VALUES(?1, ?2, ?3)");
  rd.bind(1, *rid).bind(2, member.user_id).bind(3, *last);
  if (Status s = rd.run(); !s.ok()) return s;
  return load_room(db, *rid);
}

Result<Room> write_remove_member(Db& db, const std::string& room, const std::string& user_id) {
  auto rid = require_room(db, room);
  if (!rid.ok()) return rid.status();
  Stmt del = db.prepare("DELETE FROM members WHERE rid = ?1 AND user_id = ?2");
  del.bind(1, *rid).bind(2, user_id);
  if (Status s = del.run(); !s.ok()) return s;
  if (db.changes() == 0) return Status::not_found(user_id + " is not a member of " + room);
  Stmt rd = db.prepare("DELETE FROM reads WHERE rid = ?1 AND user_id = ?2");
  rd.bind(1, *rid).bind(2, user_id);
  if (Status s = rd.run(); !s.ok()) return s;
  return load_room(db, *rid);
}

Result<Room> write_update_session(Db& db, const std::string& room, RoomStatus status,
                                  std::optional<Timestamp> started_at, std::optional<Timestamp> ended_at) {
  auto rid = require_room(db, room);
  if (!rid.ok()) return rid.status();
  Stmt up = db.prepare("UPDATE rooms SET status = ?2, started_at = ?3, ended_at = ?4 WHERE rid = ?1");
  up.bind(1, *rid)
      .bind(2, static_cast<std::int64_t>(status))
      .bind_opt(3, started_at ? std::optional<std::int64_t>(to_millis(*started_at)) : std::nullopt)
      .bind_opt(4, ended_at ? std::optional<std::int64_t>(to_millis(*ended_at)) : std::nullopt);
  if (Status s = up.run(); !s.ok()) return s;
  return load_room(db, *rid);
}

Result<Room> write_set_join_secret(Db& db, const std::string& room, const std::string& secret,
                                   std::optional<Timestamp> expires_at) {
  auto rid = require_room(db, room);
  if (!rid.ok()) return rid.status();
  Stmt up = db.prepare("UPDATE rooms SET join_secret = ?2, join_expires_at = ?3 WHERE rid = ?1");
  up.bind(1, *rid).bind(2, secret).bind_opt(3, expires_at ? std::optional<std::int64_t>(to_millis(*expires_at)) : std::nullopt);
  if (Status s = up.run(); !s.ok()) return s;
  return load_room(db, *rid);
}

Result<ReadMark> write_mark_read(Db& db, const std::string& room, const std::string& user_id,
                                 std::int64_t seq) {
  auto rid = require_room(db, room);
  if (!rid.ok()) return rid.status();
  auto last = last_seq(db, *rid);
  if (!last.ok()) return last.status();
  if (seq < 0 || seq > *last) {
    return Status::bad_request(fmt::format("seq {} is beyond the last message ({})", seq, *last));
  }
  std::int64_t current = 0;
  {
    Stmt s = db.prepare("SELECT seq FROM reads WHERE rid = ?1 AND user_id = ?2");
    s.bind(1, *rid).bind(2, user_id);
    if (s.step()) current = s.int64(0);
    if (!s.status().ok()) return s.status();
  }
  if (seq <= current) return ReadMark{current, false};
  Stmt up = db.prepare("INSERT OR REPLACE INTO reads(rid, user_id, seq) VALUES(?1, ?2, ?3)");
  up.bind(1, *rid).bind(2, user_id).bind(3, seq);
  if (Status s = up.run(); !s.ok()) return s;
  return ReadMark{seq, true};
}

Result<Done> write_set_last_seen(Db& db, const std::string& room, const std::string& user_id,
                                 Timestamp at) {
  auto rid = require_room(db, room);
  if (!rid.ok()) return rid.status();
  Stmt up = db.prepare("INSERT INTO last_seen(rid, user_id, at) VALUES(?1, ?2, ?3) "
                         "ON CONFLICT(rid, user_id) DO UPDATE SET at = max(at, excluded.at)");
  up.bind(1, *rid).bind(2, user_id).bind(3, to_millis(at));
  if (Status s = up.run(); !s.ok()) return s;
  return Done{};
}

}  // namespace realtime::sqlite
