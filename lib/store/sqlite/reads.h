// The read operations of the SQLite store, one function per Store call.
// They run on the reader thread's connection inside a read transaction,
// so a multi-query answer is one consistent snapshot.
#pragma once

#include <chrono>
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
// How long a search may run: `deadline` was set when the call was made
// (so time spent queued counts); `timeout` is what the error message says.
struct SearchBudget {
  std::chrono::steady_clock::time_point deadline;
  std::chrono::milliseconds timeout;
};
// Past the deadline (before or while it runs): `unavailable`.
Result<std::vector<Message>> read_search(Db& db, const std::string& room, const std::string& query, int limit,
                                         const SearchBudget& budget);
Result<ReadState> read_read_state(Db& db, const std::string& room, const std::string& user_id);

}  // namespace realtime::sqlite
