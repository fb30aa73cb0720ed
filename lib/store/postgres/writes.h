// The write calls of the PostgreSQL store as WriteOps, one factory per
// Store call. Built on the loop thread; planned, run and answered on the
// writer thread (see writer.h). Each validates its input first: a string
// PostgreSQL cannot store is `bad_request` before anything is sent.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "realtime/store.h"
#include "store/postgres/op.h"

namespace realtime::pg {

std::unique_ptr<WriteOp> create_room_op(Room room, Completion<Room> done);
std::unique_ptr<WriteOp> add_member_op(std::string room, Member member, Completion<Room> done);
std::unique_ptr<WriteOp> remove_member_op(std::string room, std::string user_id, Completion<Room> done);
std::unique_ptr<WriteOp> update_session_op(std::string room, RoomStatus status, std::optional<Timestamp> started_at,
                                           std::optional<Timestamp> ended_at, Completion<Room> done);
std::unique_ptr<WriteOp> set_join_secret_op(std::string room, std::string secret, std::optional<Timestamp> expires_at,
                                            Completion<Room> done);
std::unique_ptr<WriteOp> mark_read_op(std::string room, std::string user_id, std::int64_t seq,
                                      Completion<ReadMark> done);
std::unique_ptr<WriteOp> set_last_seen_op(std::string room, std::string user_id, Timestamp at,
                                          Completion<Done> done);
std::unique_ptr<WriteOp> edit_op(std::string id, std::string text, Timestamp edited_at, Completion<Message> done);
std::unique_ptr<WriteOp> delete_op(std::string id, Completion<Message> done);
// Completes after the COMMIT of its batch, which holds or follows every
// earlier write; it adds no statement.
std::unique_ptr<WriteOp> flush_op(Completion<Done> done);

}  // namespace realtime::pg
