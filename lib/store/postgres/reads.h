// The read calls of the PostgreSQL store as ReadOps, one factory per Store
// call. Built on the loop thread, run on a reader thread's connection (see
// readers.h). Reads change nothing, so a reader that loses its connection
// runs the read again on a new one.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "realtime/store.h"
#include "store/postgres/op.h"

namespace realtime::pg {

std::unique_ptr<ReadOp> get_room_op(std::string id, Completion<Room> done);
std::unique_ptr<ReadOp> find_direct_room_op(std::string a, std::string b, Completion<Room> done);
std::unique_ptr<ReadOp> list_rooms_op(std::string user, Completion<std::vector<RoomSummary>> done);
std::unique_ptr<ReadOp> get_message_op(std::string id, Completion<Message> done);
std::unique_ptr<ReadOp> history_op(std::string room, HistoryQuery q, Completion<HistoryPage> done);
std::unique_ptr<ReadOp> search_op(std::string room, std::string query, int limit,
                                  Completion<std::vector<Message>> done);
std::unique_ptr<ReadOp> read_state_op(std::string room, std::string user, Completion<ReadState> done);

}  // namespace realtime::pg
