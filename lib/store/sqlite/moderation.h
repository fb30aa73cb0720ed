// The ModerationStore calls of the SQLite store, one function each.
// Writes run on the writer thread inside its batch (see writes.h), reads
// on a reader.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "realtime/moderation_store.h"
#include "store/sqlite/db.h"
#include "store/sqlite/writes.h"

namespace realtime::sqlite {

Result<Room> write_member_role(Db& db, const std::string& room, const std::string& user_id, const std::string& role);
Result<Done> write_mute(Db& db, const std::string& room, const std::string& user_id, std::optional<Timestamp> until);
Result<Done> write_slow_mode(Db& db, const std::string& room, int seconds);
Result<AuditEntry> write_audit(Db& db, AuditEntry entry);
Result<Done> write_ban(Db& db, const Ban& ban);
Result<Done> write_unban(Db& db, const std::string& user_id);

Result<RoomModeration> read_room_moderation(Db& db, const std::string& room);
Result<AuditPage> read_audit(Db& db, const std::string& room, std::optional<std::int64_t> before, int limit);
Result<std::vector<Ban>> read_bans(Db& db, Timestamp now, std::size_t limit);

}  // namespace realtime::sqlite
