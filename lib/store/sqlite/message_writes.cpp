// Message writes of the SQLite store: append (seq, idempotency, replyTo),
// edit and soft delete, keeping the FTS5 index in step with the text.
// Writer thread only (see writes.h).
#include "store/sqlite/rows.h"
#include "store/sqlite/search_index.h"
#include "store/sqlite/writes.h"

namespace realtime::sqlite {
namespace {

// messages_fts is contentless: it must be given the exact tokens it
// indexed to forget a row, so removal runs with the old text.
Status fts_insert(Db& db, std::int64_t mid, std::int64_t rid, const std::string& text) {
  const std::string terms = search_terms(rid, text);
  if (terms.empty()) return {};
  Stmt s = db.prepare("INSERT INTO messages_fts(rowid, terms) VALUES(?1, ?2)");
  s.bind(1, mid).bind(2, terms);
  return s.run();
}

Status fts_remove(Db& db, std::int64_t mid, std::int64_t rid, const std::string& old_text) {
  const std::string terms = search_terms(rid, old_text);
  if (terms.empty()) return {};
  Stmt s = db.prepare("INSERT INTO messages_fts(messages_fts, rowid, terms) VALUES('delete', ?1, ?2)");
  s.bind(1, mid).bind(2, terms);
  return s.run();
}

struct Current {
  std::string text;
  bool deleted = false;
  std::int64_t rid = 0;
};

Result<std::optional<Current>> current(Db& db, std::int64_t mid) {
  Stmt s = db.prepare("SELECT text, deleted, rid FROM messages WHERE mid = ?1");
  s.bind(1, mid);
  if (s.step()) return std::optional<Current>(Current{s.text(0), s.int64(1) != 0, s.int64(2)});
  if (!s.status().ok()) return s.status();
  return std::optional<Current>();
}

// The room's row id and last seq, from the writer's memo when this
// transaction already looked; nullptr for an unknown room.
Result<Db::RoomSeq*> room_seq(Db& db, const std::string& room) {
  auto& memo = db.room_seqs();
  if (auto it = memo.find(room); it != memo.end()) return &it->second;
  Stmt s = db.prepare(
      "SELECT rid, (SELECT coalesce(max(seq), 0) FROM messages m WHERE m.rid = r.rid) "
      "FROM rooms r WHERE r.id = ?1");
  s.bind(1, room);
  if (!s.step()) {
    if (!s.status().ok()) return s.status();
    return static_cast<Db::RoomSeq*>(nullptr);
  }
  return &memo.emplace(room, Db::RoomSeq{s.int64(0), s.int64(1)}).first->second;
}

}  // namespace

Result<Message> load_message(Db& db, std::int64_t mid) {
  Stmt s = db.prepare("SELECT " REALTIME_SQLITE_MESSAGE_COLS ", r.id FROM messages m "
                      "JOIN rooms r ON r.rid = m.rid WHERE m.mid = ?1");
  s.bind(1, mid);
  if (!s.step()) return s.status().ok() ? Status::not_found("no message " + message_id(mid)) : s.status();
  return read_message(s, s.text(kMessageColCount));
}

Result<Appended> write_append(Db& db, const NewMessage& msg) {
  auto cursor = room_seq(db, msg.room);
  if (!cursor.ok()) return cursor.status();
  if (!*cursor) return Status::not_found("no room " + msg.room);
  Db::RoomSeq& room = **cursor;
  const std::int64_t rid = room.rid;
  if (msg.client_msg_id) {
    Stmt s = db.prepare("SELECT " REALTIME_SQLITE_MESSAGE_COLS ", m.rid FROM messages m "
                        "WHERE m.sender_id = ?1 AND m.client_msg_id = ?2");
    s.bind(1, msg.sender_id).bind(2, *msg.client_msg_id);
    if (s.step()) {
      if (s.int64(kMessageColCount) != rid) {
        return Status::conflict("clientMsgId " + *msg.client_msg_id + " was used in another room");
      }
      return Appended{read_message(s, msg.room), true};
    }
    if (!s.status().ok()) return s.status();
  }
  std::optional<std::int64_t> reply_mid;
  if (msg.reply_to) {
    reply_mid = parse_message_id(*msg.reply_to);
    bool ok = false;
    if (reply_mid) {
      Stmt s = db.prepare("SELECT 1 FROM messages WHERE mid = ?1 AND rid = ?2");
      s.bind(1, *reply_mid).bind(2, rid);
      ok = s.step();
      if (!s.status().ok()) return s.status();
    }
    if (!ok) return Status::bad_request("replyTo names no message of room " + msg.room);
  }
  Message m;
  m.room = msg.room;
  m.seq = room.last_seq + 1;
  m.sender_id = msg.sender_id;
  m.sender_name = msg.sender_name;
  m.sender_role = msg.sender_role;
  m.type = msg.type;
  m.text = msg.text;
  m.reply_to = msg.reply_to;
  m.attachment = msg.attachment;
  m.client_msg_id = msg.client_msg_id;
  m.created_at = msg.created_at;
  Stmt ins = db.prepare(
      "INSERT INTO messages(rid, seq, sender_id, sender_name, sender_role, type, text, reply_to, "
      "att_url, att_name, att_size, att_mime, client_msg_id, created_at) "
      "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)");
  ins.bind(1, rid)
      .bind(2, m.seq)
      .bind(3, m.sender_id)
      .bind(4, m.sender_name)
      .bind(5, m.sender_role)
      .bind(6, static_cast<std::int64_t>(m.type))
      .bind(7, m.text)
      .bind_opt(8, reply_mid)
      .bind_opt(13, m.client_msg_id)
      .bind(14, to_millis(m.created_at));
  if (m.attachment) {
    ins.bind(9, m.attachment->url)
        .bind(10, m.attachment->name)
        .bind(11, m.attachment->size)
        .bind(12, m.attachment->mime);
  }
  if (Status s = ins.run(); !s.ok()) return s;
  const std::int64_t mid = db.last_insert_rowid();
  m.id = message_id(mid);
  if (Status s = fts_insert(db, mid, rid, m.text); !s.ok()) return s;
  room.last_seq = m.seq;
  return Appended{std::move(m), false};
}

Result<Message> write_edit(Db& db, const std::string& id, const std::string& text, Timestamp edited_at) {
  const auto mid = parse_message_id(id);
  if (!mid) return Status::not_found("no message " + id);
  auto cur = current(db, *mid);
  if (!cur.ok()) return cur.status();
  if (!*cur || (*cur)->deleted) return Status::not_found("no message " + id);
  if (Status s = fts_remove(db, *mid, (*cur)->rid, (*cur)->text); !s.ok()) return s;
  Stmt up = db.prepare("UPDATE messages SET text = ?2, edited_at = ?3 WHERE mid = ?1");
  up.bind(1, *mid).bind(2, text).bind(3, to_millis(edited_at));
  if (Status s = up.run(); !s.ok()) return s;
  if (Status s = fts_insert(db, *mid, (*cur)->rid, text); !s.ok()) return s;
  return load_message(db, *mid);
}

Result<Message> write_delete(Db& db, const std::string& id) {
  const auto mid = parse_message_id(id);
  if (!mid) return Status::not_found("no message " + id);
  auto cur = current(db, *mid);
  if (!cur.ok()) return cur.status();
  if (!*cur) return Status::not_found("no message " + id);
  if (!(*cur)->deleted) {
    if (Status s = fts_remove(db, *mid, (*cur)->rid, (*cur)->text); !s.ok()) return s;
    Stmt up = db.prepare(
        "UPDATE messages SET text = '', att_url = NULL, att_name = NULL, att_size = NULL, "
        "att_mime = NULL, deleted = 1 WHERE mid = ?1");
    up.bind(1, *mid);
    if (Status s = up.run(); !s.ok()) return s;
  }
  return load_message(db, *mid);
}

}  // namespace realtime::sqlite
