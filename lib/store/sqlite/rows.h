// Mapping between rows and the store's value types (Room, Message), and
// the public message id format. Used by the writer and the reader thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "realtime/message.h"
#include "realtime/room.h"
#include "store/sqlite/db.h"

namespace realtime::sqlite {

// The message columns every query selects, in the order read_message()
// expects; `m` is the messages table alias.
#define REALTIME_SQLITE_MESSAGE_COLS                                                        \
  "m.mid, m.seq, m.sender_id, m.sender_name, m.sender_role, m.type, m.text, m.reply_to, " \
  "m.att_url, m.att_name, m.att_size, m.att_mime, m.client_msg_id, m.created_at, "       \
  "m.edited_at, m.deleted"
inline constexpr int kMessageColCount = 16;

// Message ids are "m" + the row id: unique for the life of the file.
std::string message_id(std::int64_t mid);
// The row id of a message id, or nullopt when it cannot be one of ours.
std::optional<std::int64_t> parse_message_id(std::string_view id);

// Reads a message from the current row, columns from `first` on.
Message read_message(const Stmt& s, std::string room, int first = 0);

std::int64_t to_millis(Timestamp t);
Timestamp from_millis(std::int64_t ms);

// The row id of a room, nullopt when absent, or an error.
Result<std::optional<std::int64_t>> find_room_rid(Db& db, std::string_view id);
// The whole room (members in the order they were added).
Result<Room> load_room(Db& db, std::int64_t rid);
// The room's last seq (0 when it has no message).
Result<std::int64_t> last_seq(Db& db, std::int64_t rid);

}  // namespace realtime::sqlite
