// The ModerationStore calls of the PostgreSQL store as Ops (see writes.h
// and reads.h for how they run).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "realtime/store.h"
#include "store/postgres/op.h"

namespace realtime::pg {

std::unique_ptr<WriteOp> member_role_op(std::string room, std::string user_id, std::string role, Completion<Room> done);
std::unique_ptr<WriteOp> mute_op(std::string room, std::string user_id, std::optional<Timestamp> until,
                                 Completion<Done> done);
std::unique_ptr<WriteOp> slow_mode_op(std::string room, int seconds, Completion<Done> done);
std::unique_ptr<WriteOp> audit_add_op(AuditEntry entry, Completion<AuditEntry> done);
std::unique_ptr<WriteOp> ban_op(Ban ban, Completion<Done> done);
std::unique_ptr<WriteOp> unban_op(std::string user_id, Completion<Done> done);

std::unique_ptr<ReadOp> room_moderation_op(std::string room, Completion<RoomModeration> done);
std::unique_ptr<ReadOp> audit_page_op(std::string room, std::optional<std::int64_t> before, int limit,
                                      Completion<AuditPage> done);
std::unique_ptr<ReadOp> bans_op(Timestamp now, std::size_t limit, Completion<std::vector<Ban>> done);

}  // namespace realtime::pg
