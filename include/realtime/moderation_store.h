// ModerationStore: what room moderation and server bans keep. Room roles
// live with the members (RoomStore); mutes, slow mode, the audit log and
// bans have their own tables, so a room read stays what it was.
// The contract of store.h applies to every call (asynchronous, one
// completion on the loop, writes visible to every later call).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "realtime/clock.h"
#include "realtime/completion.h"
#include "realtime/export.h"
#include "realtime/room.h"
#include "realtime/status.h"

namespace realtime {

struct Mute {
  std::string user_id;
  Timestamp until{};
  friend bool operator==(const Mute&, const Mute&) = default;
};

// A room's moderation settings. Mutes may include expired ones: the
// reader compares `until` with its own clock.
struct RoomModeration {
  int slow_mode_seconds = 0;  // 0: off
  std::vector<Mute> mutes;    // by user id
  friend bool operator==(const RoomModeration&, const RoomModeration&) = default;
};

// One moderation action. `detail` is JSON text, opaque to the store.
struct AuditEntry {
  std::int64_t id = 0;  // set by append_audit: increasing per store
  std::string room;
  Timestamp at{};
  std::string actor;   // a user id, or "system" for the service
  std::string action;  // "role", "mute", "unmute", "delete", "slowmode"
  std::string target;  // a user or message id; may be empty
  std::string detail;
  friend bool operator==(const AuditEntry&, const AuditEntry&) = default;
};

struct AuditPage {
  std::vector<AuditEntry> entries;  // newest first
  bool has_more = false;            // older entries exist beyond the page
};

struct Ban {
  std::string user_id;
  std::string reason;
  std::string by;
  Timestamp at{};
  std::optional<Timestamp> until;  // nullopt: until lifted
  friend bool operator==(const Ban&, const Ban&) = default;
};

class REALTIME_EXPORT ModerationStore {
 public:
  virtual ~ModerationStore() = default;
  // Sets one member's role (only that). `not_found` for an unknown room or
  // a user who is not a member.
  virtual void set_member_role(std::string room, std::string user_id, std::string role,
                               Completion<Room> done) = 0;
  // Mutes user_id in room until `until`; nullopt lifts the mute (ok when
  // there was none). `not_found` for an unknown room.
  virtual void set_mute(std::string room, std::string user_id, std::optional<Timestamp> until,
                        StatusCompletion done) = 0;
  // `not_found` for an unknown room.
  virtual void set_slow_mode(std::string room, int seconds, StatusCompletion done) = 0;
  // A room without settings (or an unknown one) has the defaults.
  virtual void room_moderation(std::string room, Completion<RoomModeration> done) = 0;
  // Answers with the entry as stored (its id set).
  virtual void append_audit(AuditEntry entry, Completion<AuditEntry> done) = 0;
  // The newest `limit` (>= 1) entries of the room with id < before.
  virtual void audit_log(std::string room, std::optional<std::int64_t> before, int limit,
                         Completion<AuditPage> done) = 0;
  // Adds or replaces the user's ban.
  virtual void set_ban(Ban ban, StatusCompletion done) = 0;
  // `not_found` when the user was not banned.
  virtual void remove_ban(std::string user_id, StatusCompletion done) = 0;
  // Bans still in force at `now`, at most `limit`, the newest first.
  virtual void list_bans(Timestamp now, std::size_t limit, Completion<std::vector<Ban>> done) = 0;
};

}  // namespace realtime
