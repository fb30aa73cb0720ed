// Every statement the PostgreSQL store runs, by name. Each connection
// prepares a statement the first time it sends it, so the server parses
// and plans it once per connection. The text is in sql.cpp, next to the
// column orders that rows.cpp reads. Any thread (constant data).
#pragma once

#include <cstddef>
#include <cstdint>

namespace realtime::pg {

enum class Query : std::uint8_t {
  begin,             // BEGIN (read committed: the writer's batches)
  begin_snapshot,    // BEGIN REPEATABLE READ READ ONLY (multi-statement reads)
  commit,
  rollback,
  probe,             // SELECT 1
  lock_rooms,        // $1 room ids: lock their rows, in rid order
  append,            // a segment of appends (see append.cpp)
  create_room,
  load_room,         // a room and its members, one row per member
  add_member,
  remove_member,
  update_session,
  set_join_secret,
  mark_read,
  set_last_seen,
  edit_message,
  delete_message,
  load_message,      // by (rid, seq)
  room_exists,
  find_direct_room,
  list_rooms,        // the user's rooms with last message and unread
  list_members,      // the members of the user's rooms
  history_before,    // newest first, from the newest end of the window
  history_after,     // oldest first
  search,
  read_state_head,   // last seq and the user's unread
  read_state_reads,  // members' read pointers
  read_state_seen,   // last seen times
  clean_index,       // merge the search index's pending list
  // The attachment store (attachment_store.cpp):
  att_put,           // a file, if its owner's usage stays within the quota
  att_get,           // a file's metadata
  att_read,          // a file's bytes
  att_add_ref,       // a pending ref, counted on the file's row
  att_settle_ref,    // a pending ref names its message, or goes
  att_unref,         // refs to deleted messages go; marks a file left without
  att_drop_doomed,   // ... which goes here, in the same transaction
  att_usage,
  att_remove_unclaimed,
  att_pending_refs,
  att_message_refs,
  // Reactions (reactions.cpp):
  react_lock,        // the message row, locked: its reactions change one at a time
  react_add,         // inserts unless deleted or past the distinct-emoji limit
  react_remove,
  react_summary,     // counts and first reactors of a page of messages
  // Moderation (moderation.cpp):
  mod_member_role,   // (room found, member updated)
  mod_mute,          // $3 NULL lifts; a row per existing room
  mod_slow_mode,     // a row per existing room
  mod_settings,      // slow mode, then one mute per row
  mod_audit_add,
  mod_audit_page,
  mod_ban,
  mod_unban,         // a row when there was a ban
  mod_bans,
  count_,            // not a statement
};

inline constexpr std::size_t kQueryCount = static_cast<std::size_t>(Query::count_);

// The statement's SQL and its prepared-statement name ("rt<n>").
const char* query_text(Query q);
const char* query_name(Query q);

// The columns of a message row, in the order read_message() expects,
// for a messages table aliased `m`.
#define REALTIME_PG_MESSAGE_COLS                                                                  \
  "m.rid, m.seq, m.sender_id, m.sender_name, m.sender_role, m.type, m.text, m.reply_seq, "       \
  "m.att_url, m.att_name, m.att_size, m.att_mime, m.client_msg_id, m.created_at, m.edited_at, " \
  "m.deleted"
inline constexpr int kMessageCols = 16;

// The columns of a room row (rooms aliased `r`) followed by one member
// (members aliased `mb`), in the order read_room_rows() expects.
#define REALTIME_PG_ROOM_COLS                                                                \
  "r.rid, r.id, r.kind, r.title, r.status, r.created_by, r.created_at, r.started_at, " \
  "r.ended_at, r.join_secret, r.join_expires_at, mb.user_id, mb.role"
inline constexpr int kRoomCols = 11;  // before the two member columns

}  // namespace realtime::pg
