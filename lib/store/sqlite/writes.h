// The write operations of the SQLite store, one function per Store call.
// Each runs on the writer thread inside the batch transaction and its own
// savepoint: whatever it returns, the caller commits or rolls back its
// changes. They validate exactly as store.h says.
#pragma once

#include <optional>
#include <string>

#include "realtime/store.h"
#include "store/sqlite/db.h"

namespace realtime::sqlite {

// The value of a write whose completion carries only a Status.
struct Done {};

Result<Room> write_create_room(Db& db, const Room& room);
Result<Room> write_add_member(Db& db, const std::string& room, const Member& member);
Result<Room> write_remove_member(Db& db, const std::string& room, const std::string& user_id);
Result<Room> write_update_session(Db& db, const std::string& room, RoomStatus status,
                                  std::optional<Timestamp> started_at, std::optional<Timestamp> ended_at);
Result<Room> write_set_join_secret(Db& db, const std::string& room, const std::string& secret,
                                   std::optional<Timestamp> expires_at);
Result<ReadMark> write_mark_read(Db& db, const std::string& room, const std::string& user_id,
                                 std::int64_t seq);
Result<Done> write_set_last_seen(Db& db, const std::string& room, const std::string& user_id,
                                 Timestamp at);

Result<Appended> write_append(Db& db, const NewMessage& msg);
Result<Message> write_edit(Db& db, const std::string& id, const std::string& text, Timestamp edited_at);
Result<Message> write_delete(Db& db, const std::string& id);

// Reads one message by row id (the room id string is looked up too).
Result<Message> load_message(Db& db, std::int64_t mid);

}  // namespace realtime::sqlite
