// Row <-> value mapping for the SQLite store (see rows.h). Runs on the
// store's writer and reader threads.
#include "store/sqlite/rows.h"

#include <charconv>
#include <limits>

namespace realtime::sqlite {

// Formatted into a stack buffer: `"m" + std::to_string(mid)` makes GCC 12
// at -O3 report a false -Wrestrict/-Warray-bounds in the inlined
// string::insert, which a -Werror Release build turns into an error.
std::string message_id(std::int64_t mid) {
  char buf[2 + std::numeric_limits<std::int64_t>::digits10 + 1];  // 'm', sign, digits
  buf[0] = 'm';
  const auto out = std::to_chars(buf + 1, buf + sizeof buf, mid);
  return std::string(buf, out.ptr);
}

std::optional<std::int64_t> parse_message_id(std::string_view id) {
  if (id.size() < 2 || id.front() != 'm' || id[1] == '0') return std::nullopt;
  std::int64_t v = 0;
  const char* end = id.data() + id.size();
  auto [p, ec] = std::from_chars(id.data() + 1, end, v);
  if (ec != std::errc{} || p != end || v <= 0) return std::nullopt;
  return v;
}

std::int64_t to_millis(Timestamp t) { return t.time_since_epoch().count(); }
Timestamp from_millis(std::int64_t ms) { return Timestamp{std::chrono::milliseconds{ms}}; }

Message read_message(const Stmt& s, std::string room, int first) {
  const int c = first;
  Message m;
  m.id = message_id(s.int64(c));
  m.room = std::move(room);
  m.seq = s.int64(c + 1);
  m.sender_id = s.text(c + 2);
  m.sender_name = s.text(c + 3);
  m.sender_role = s.text(c + 4);
  m.type = static_cast<MessageType>(s.int64(c + 5));
  m.text = s.text(c + 6);
  if (auto r = s.opt_int64(c + 7)) m.reply_to = message_id(*r);
  if (!s.is_null(c + 8)) {
    m.attachment = Attachment{s.text(c + 8), s.text(c + 9), s.int64(c + 10), s.text(c + 11)};
  }
  m.client_msg_id = s.opt_text(c + 12);
  m.created_at = from_millis(s.int64(c + 13));
  if (auto e = s.opt_int64(c + 14)) m.edited_at = from_millis(*e);
  m.deleted = s.int64(c + 15) != 0;
  return m;
}

Result<std::optional<std::int64_t>> find_room_rid(Db& db, std::string_view id) {
  Stmt s = db.prepare("SELECT rid FROM rooms WHERE id = ?1");
  s.bind(1, id);
  if (s.step()) return std::optional<std::int64_t>(s.int64(0));
  if (!s.status().ok()) return s.status();
  return std::optional<std::int64_t>();
}

Result<Room> load_room(Db& db, std::int64_t rid) {
  Room room;
  {
    Stmt s = db.prepare(
        "SELECT id, kind, title, status, created_by, created_at, started_at, ended_at, join_secret, "
        "join_expires_at FROM rooms WHERE rid = ?1");
    s.bind(1, rid);
    if (!s.step()) return s.status().ok() ? Status::not_found("no such room") : s.status();
    room.id = s.text(0);
    room.kind = static_cast<RoomKind>(s.int64(1));
    room.title = s.text(2);
    room.status = static_cast<RoomStatus>(s.int64(3));
    room.created_by = s.text(4);
    room.created_at = from_millis(s.int64(5));
    if (auto v = s.opt_int64(6)) room.started_at = from_millis(*v);
    if (auto v = s.opt_int64(7)) room.ended_at = from_millis(*v);
    room.join_secret = s.text(8);
    if (auto v = s.opt_int64(9)) room.join_expires_at = from_millis(*v);
  }
  Stmt s = db.prepare("SELECT user_id, role FROM members WHERE rid = ?1 ORDER BY pos");
  s.bind(1, rid);
  while (s.step()) room.members.push_back(Member{s.text(0), s.text(1)});
  if (!s.status().ok()) return s.status();
  return room;
}

Result<std::int64_t> last_seq(Db& db, std::int64_t rid) {
  Stmt s = db.prepare("SELECT coalesce(max(seq), 0) FROM messages WHERE rid = ?1");
  s.bind(1, rid);
  if (!s.step()) return s.status().ok() ? Status::internal("max(seq) gave no row") : s.status();
  return s.int64(0);
}

}  // namespace realtime::sqlite
