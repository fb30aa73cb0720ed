// Read operations of the SQLite store (see reads.h). Reader thread only.
#include "store/sqlite/reads.h"

#include <fmt/format.h>

#include <algorithm>
#include <limits>

#include "store/sqlite/rows.h"
#include "store/sqlite/search_index.h"
#include "store/sqlite/writes.h"

namespace realtime::sqlite {
namespace {

Result<std::int64_t> require_room(Db& db, const std::string& id) {
  auto rid = find_room_rid(db, id);
  if (!rid.ok()) return rid.status();
  if (!*rid) return Status::not_found("no room " + id);
  return **rid;
}

Result<std::int64_t> unread(Db& db, std::int64_t rid, const std::string& user_id) {
  std::int64_t from = 0;
  {
    Stmt s = db.prepare("SELECT seq FROM reads WHERE rid = ?1 AND user_id = ?2");
    s.bind(1, rid).bind(2, user_id);
    if (s.step()) from = s.int64(0);
    if (!s.status().ok()) return s.status();
  }
  Stmt s = db.prepare(
      "SELECT count(*) FROM messages WHERE rid = ?1 AND seq > ?2 AND sender_id != ?3 AND deleted = 0");
  s.bind(1, rid).bind(2, from).bind(3, user_id);
  if (!s.step()) return s.status();
  return s.int64(0);
}

// Makes SQLite interrupt the statements of `db` (SQLITE_INTERRUPT) once
// `deadline` has passed, for as long as it lives. The check runs every
// 1000 VM steps; FTS5 reading one prefix's part of the index is a single
// step, so that part is bounded by the room's size, not by the deadline.
class DeadlineGuard {
 public:
  DeadlineGuard(Db& db, std::chrono::steady_clock::time_point deadline) : db_(db), deadline_(deadline) {
    sqlite3_progress_handler(db_.handle(), 1000, &DeadlineGuard::check, this);
  }
  ~DeadlineGuard() { sqlite3_progress_handler(db_.handle(), 0, nullptr, nullptr); }
  DeadlineGuard(const DeadlineGuard&) = delete;
  DeadlineGuard& operator=(const DeadlineGuard&) = delete;
  bool fired() const { return fired_; }

 private:
  static int check(void* self) {
    auto* g = static_cast<DeadlineGuard*>(self);
    g->fired_ = std::chrono::steady_clock::now() >= g->deadline_;
    return g->fired_ ? 1 : 0;
  }
  Db& db_;
  std::chrono::steady_clock::time_point deadline_;
  bool fired_ = false;
};

Status search_timed_out(std::chrono::milliseconds budget) {
  return Status::unavailable(fmt::format(
      "search took longer than {} ms (the store is busy or the query matches too much); "
      "retry, or use longer words",
      budget.count()));
}

}  // namespace

Result<Room> read_room(Db& db, const std::string& id) {
  auto rid = require_room(db, id);
  if (!rid.ok()) return rid.status();
  return load_room(db, *rid);
}

Result<Room> read_direct_room(Db& db, const std::string& a, const std::string& b) {
  auto none = [&] { return Status::not_found("no direct room between " + a + " and " + b); };
  if (a == b) return none();
  Stmt s = db.prepare(
      "SELECT r.rid FROM members ma JOIN rooms r ON r.rid = ma.rid "
      "WHERE ma.user_id = ?1 AND r.kind = ?3 "
      "AND EXISTS(SELECT 1 FROM members mb WHERE mb.rid = r.rid AND mb.user_id = ?2) "
      "AND (SELECT count(*) FROM members mc WHERE mc.rid = r.rid) = 2 "
      "ORDER BY r.created_at DESC, r.id DESC LIMIT 1");
  s.bind(1, a).bind(2, b).bind(3, static_cast<std::int64_t>(RoomKind::direct));
  if (!s.step()) return s.status().ok() ? none() : s.status();
  return load_room(db, s.int64(0));
}

Result<std::vector<RoomSummary>> read_room_list(Db& db, const std::string& user_id) {
  std::vector<std::int64_t> rids;
  {
    Stmt s = db.prepare("SELECT rid FROM members WHERE user_id = ?1");
    s.bind(1, user_id);
    while (s.step()) rids.push_back(s.int64(0));
    if (!s.status().ok()) return s.status();
  }
  std::vector<RoomSummary> out;
  out.reserve(rids.size());
  for (const std::int64_t rid : rids) {
    auto room = load_room(db, rid);
    if (!room.ok()) return room.status();
    RoomSummary sum{std::move(*room), std::nullopt, 0};
    {
      Stmt s = db.prepare("SELECT " REALTIME_SQLITE_MESSAGE_COLS
                          " FROM messages m WHERE m.rid = ?1 ORDER BY m.seq DESC LIMIT 1");
      s.bind(1, rid);
      if (s.step()) sum.last_message = read_message(s, sum.room.id);
      if (!s.status().ok()) return s.status();
    }
    auto n = unread(db, rid, user_id);
    if (!n.ok()) return n.status();
    sum.unread = *n;
    out.push_back(std::move(sum));
  }
  auto activity = [](const RoomSummary& s) {
    return s.last_message ? s.last_message->created_at : s.room.created_at;
  };
  std::sort(out.begin(), out.end(), [&](const RoomSummary& x, const RoomSummary& y) {
    if (activity(x) != activity(y)) return activity(x) > activity(y);
    return x.room.id < y.room.id;
  });
  return out;
}

Result<Message> read_message_by_id(Db& db, const std::string& id) {
  const auto mid = parse_message_id(id);
  if (!mid) return Status::not_found("no message " + id);
  return load_message(db, *mid);
}

Result<HistoryPage> read_history(Db& db, const std::string& room, const HistoryQuery& q) {
  auto rid = require_room(db, room);
  if (!rid.ok()) return rid.status();
  const std::int64_t limit = std::max(1, q.limit);
  const std::int64_t lo = q.after.value_or(std::numeric_limits<std::int64_t>::min());
  const std::int64_t hi = q.before.value_or(std::numeric_limits<std::int64_t>::max());
  // One row past the limit tells whether more lie beyond the page.
  const bool forward = q.after.has_value();
  Stmt s = forward ? db.prepare("SELECT " REALTIME_SQLITE_MESSAGE_COLS " FROM messages m "
                                "WHERE m.rid = ?1 AND m.seq > ?2 AND m.seq < ?3 ORDER BY m.seq LIMIT ?4")
                   : db.prepare("SELECT " REALTIME_SQLITE_MESSAGE_COLS " FROM messages m "
                                "WHERE m.rid = ?1 AND m.seq > ?2 AND m.seq < ?3 ORDER BY m.seq DESC LIMIT ?4");
  s.bind(1, *rid).bind(2, lo).bind(3, hi).bind(4, limit + 1);
  HistoryPage page;
  while (s.step()) page.messages.push_back(read_message(s, room));
  if (!s.status().ok()) return s.status();
  if (static_cast<std::int64_t>(page.messages.size()) > limit) {
    page.has_more = true;
    page.messages.pop_back();
  }
  if (!forward) std::reverse(page.messages.begin(), page.messages.end());
  return page;
}

Result<std::vector<Message>> read_search(Db& db, const std::string& room, const std::string& query, int limit,
                                         const SearchBudget& budget) {
  // A search that waited in the queue past its deadline costs nothing more.
  if (std::chrono::steady_clock::now() >= budget.deadline) return search_timed_out(budget.timeout);
  auto rid = require_room(db, room);
  if (!rid.ok()) return rid.status();
  std::vector<Message> out;
  const std::string match = search_match(*rid, query);
  if (match.empty() || limit <= 0) return out;
  DeadlineGuard guard(db, budget.deadline);
  // The index returns only this room's rows, newest first: within a room a
  // larger row id is a larger seq (the writer assigns both in one
  // transaction and never removes a row), so the LIMIT applies inside the
  // index and a common word costs `limit` row reads, not one per match.
  Stmt s = db.prepare("SELECT " REALTIME_SQLITE_MESSAGE_COLS
                      " FROM (SELECT rowid AS mid FROM messages_fts WHERE messages_fts MATCH ?1 "
                      "ORDER BY rowid DESC LIMIT ?2) f JOIN messages m ON m.mid = f.mid "
                      "WHERE m.deleted = 0 ORDER BY m.seq DESC");
  s.bind(1, match).bind(2, static_cast<std::int64_t>(limit));
  while (s.step()) out.push_back(read_message(s, room));
  if (!s.status().ok()) return guard.fired() ? search_timed_out(budget.timeout) : s.status();
  return out;
}

Result<ReadState> read_read_state(Db& db, const std::string& room, const std::string& user_id) {
  auto rid = require_room(db, room);
  if (!rid.ok()) return rid.status();
  ReadState st;
  auto last = last_seq(db, *rid);
  if (!last.ok()) return last.status();
  st.last_seq = *last;
  auto n = unread(db, *rid, user_id);
  if (!n.ok()) return n.status();
  st.unread = *n;
  {
    // One pointer per member: a pointer left by a non-member's read counts
    // for their own unread but is not part of the room's read state.
    Stmt s = db.prepare(
        "SELECT rd.user_id, rd.seq FROM reads rd JOIN members mb "
        "ON mb.rid = rd.rid AND mb.user_id = rd.user_id WHERE rd.rid = ?1 ORDER BY rd.user_id");
    s.bind(1, *rid);
    while (s.step()) st.reads.push_back(ReadPointer{s.text(0), s.int64(1)});
    if (!s.status().ok()) return s.status();
  }
  Stmt s = db.prepare("SELECT user_id, at FROM last_seen WHERE rid = ?1 ORDER BY user_id");
  s.bind(1, *rid);
  while (s.step()) st.last_seen.push_back(LastSeen{s.text(0), from_millis(s.int64(1))});
  if (!s.status().ok()) return s.status();
  return st;
}

}  // namespace realtime::sqlite
