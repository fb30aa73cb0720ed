// The read operations of the SQLite store, one function per Store call.
// They run on the reader thread's connection inside a read transaction,
// so a multi-query answer is one consistent snapshot.
#pragma once

#include <string>
#include <vector>

#include "realtime/store.h"
#include "store/sqlite/db.h"

namespace realtime::sqlite {

Result<Room> read_room(Db& db, const std::string& id);
Result<Room> read_direct_room(Db& db, const std::string& a, const std::string& b);
Result<std::vector<RoomSummary>> read_room_list(Db& db, const std::string& user_id);
Result<Message> read_message_by_id(Db& db, const std::string& id);
Result<HistoryPage> read_history(Db& db, const std::string& room, const HistoryQuery& q);
Result<std::vector<Message>> read_search(Db& db, const std::string& room, const std::string& query,
                                         int limit);
Result<ReadState> read_read_state(Db& db, const std::string& room, const std::string& user_id);

}  // namespace realtime::sqlite
