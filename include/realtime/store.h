// The storage interfaces the chat service needs: RoomStore (rooms and their
// members), MessageStore (messages and their per-room sequence), and
// ReceiptStore (what each user has read and when they were last seen),
// ReactionStore (emoji reactions, reaction_store.h) and ModerationStore
// (moderation_store.h). A backend usually implements them all as a Store.
//
// Contract for every call:
// - Asynchronous. `done` runs exactly once, on the Executor the backend was
//   built with (the event loop), and never inside the call itself. A call
//   made after close() completes with `unavailable`.
// - The order of completions follows the order of calls for writes to the
//   same room; a write is visible to every call issued after its completion.
// - A write's completion means it is durable to the degree the backend
//   documents (SQLite, docs/store.md: with synchronous=full it survives a
//   power cut; with normal, a process crash). A write that fails was not
//   stored. Backends never throw; failures are a Status:
//   `unavailable` when the backend cannot reach its storage now (full or
//   read-only disk, I/O error, file deleted or corrupt, database down),
//   when it is closed or overloaded, or when a read ran past its time
//   limit; the message says why, and the same call may succeed later (a
//   retried append with its clientMsgId is stored once). `internal` for
//   anything unexpected, with the cause.
// - Calls may come from the loop thread only.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "realtime/clock.h"
#include "realtime/completion.h"
#include "realtime/export.h"
#include "realtime/message.h"
#include "realtime/reaction_store.h"
#include "realtime/moderation_store.h"
#include "realtime/room.h"
#include "realtime/status.h"

namespace realtime {

struct RoomSummary {
  Room room;
  std::optional<Message> last_message;  // newest message, deleted ones included
  std::int64_t unread = 0;
};

class REALTIME_EXPORT RoomStore {
 public:
  virtual ~RoomStore() = default;
  // `conflict` when the id is taken. Every member's read pointer starts at 0.
  virtual void create_room(Room room, Completion<Room> done) = 0;
  // `not_found` when absent.
  virtual void get_room(std::string id, Completion<Room> done) = 0;
  // The newest direct room whose two members are exactly a and b;
  // `not_found` when there is none (always for a == b).
  virtual void find_direct_room(std::string user_a, std::string user_b, Completion<Room> done) = 0;
  // `not_found` for an unknown room, `conflict` for an existing member.
  // The new member's read pointer starts at the room's last seq.
  virtual void add_member(std::string room, Member member, Completion<Room> done) = 0;
  // `not_found` for an unknown room or a user who is not a member. Drops
  // the user's read pointer.
  virtual void remove_member(std::string room, std::string user_id, Completion<Room> done) = 0;
  // Sets status, started_at and ended_at as given in `room` (only those).
  virtual void update_session(std::string room, RoomStatus status, std::optional<Timestamp> started_at,
                              std::optional<Timestamp> ended_at, Completion<Room> done) = 0;
  // Replaces join_secret and join_expires_at (only those): a rotated
  // session token, after which the old one matches nothing. `not_found`
  // for an unknown room.
  virtual void set_join_secret(std::string room, std::string secret, std::optional<Timestamp> expires_at,
                               Completion<Room> done) = 0;
  // The rooms user_id is a member of, most recent activity first (the
  // newest message's time, else the room's creation; ties by id).
  virtual void list_rooms(std::string user_id, Completion<std::vector<RoomSummary>> done) = 0;
};

struct Appended {
  Message message;
  bool duplicate = false;  // an earlier append with this (sender, clientMsgId)
};

struct HistoryQuery {
  std::optional<std::int64_t> before;  // seq < before
  std::optional<std::int64_t> after;   // seq > after
  int limit = 50;                      // >= 1; the caller clamps
};

struct HistoryPage {
  std::vector<Message> messages;  // ascending seq
  bool has_more = false;          // more exist beyond the page, in the direction of travel
};

class REALTIME_EXPORT MessageStore {
 public:
  virtual ~MessageStore() = default;
  // Assigns id and seq (last seq + 1). `not_found` for an unknown room;
  // `bad_request` when reply_to names no message of that room; with a
  // client_msg_id already used by this sender: the stored message with
  // duplicate=true if it is in the same room, else `conflict`.
  virtual void append(NewMessage msg, Completion<Appended> done) = 0;
  virtual void get_message(std::string id, Completion<Message> done) = 0;
  // `not_found` for an unknown or deleted message.
  virtual void edit_message(std::string id, std::string text, Timestamp edited_at,
                            Completion<Message> done) = 0;
  // Soft delete: text "", attachment none, deleted true. Deleting again is
  // ok and returns the deleted message. `not_found` for an unknown id.
  virtual void delete_message(std::string id, Completion<Message> done) = 0;
  // No cursor: the newest `limit`; `before`: the `limit` just before it;
  // `after`: the `limit` just after it; both: the window between them, from
  // its oldest end. `has_more`: older beyond the page for none/before,
  // newer for after/both (for both: still inside the window).
  virtual void history(std::string room, HistoryQuery query, Completion<HistoryPage> done) = 0;
  // Messages of one room whose text has, for every word of `query`, a word
  // starting with it; newest first, at most `limit`. A word is a run of
  // ASCII letters and digits or non-ASCII bytes; ASCII compares without
  // case; everything else (punctuation, FTS syntax) only separates words.
  // A query without words matches nothing. Deleted messages never match.
  virtual void search(std::string room, std::string query, int limit,
                      Completion<std::vector<Message>> done) = 0;
};

struct ReadPointer {
  std::string user_id;
  std::int64_t seq = 0;
  friend bool operator==(const ReadPointer&, const ReadPointer&) = default;
};

struct LastSeen {
  std::string user_id;
  Timestamp at{};
  friend bool operator==(const LastSeen&, const LastSeen&) = default;
};

struct ReadMark {
  std::int64_t seq = 0;  // the pointer after the call
  bool moved = false;    // false when the given seq was not beyond it
};

// Everything a client needs about a room's read state when it enters.
struct ReadState {
  std::int64_t last_seq = 0;
  std::int64_t unread = 0;  // for the asking user: after their pointer, not theirs, not deleted
  std::vector<ReadPointer> reads;   // one per member, by user id
  std::vector<LastSeen> last_seen;  // users who have left the room at least once
};

class REALTIME_EXPORT ReceiptStore {
 public:
  virtual ~ReceiptStore() = default;
  // Moves user's pointer forward to seq; never back. `not_found` for an
  // unknown room, `bad_request` for seq beyond the room's last seq or < 0.
  // A non-member's pointer (an admin's) counts for their own unread but is
  // not listed in read_state().reads, which lists members only.
  virtual void mark_read(std::string room, std::string user_id, std::int64_t seq,
                         Completion<ReadMark> done) = 0;
  virtual void read_state(std::string room, std::string user_id, Completion<ReadState> done) = 0;
  // Keeps the later of `at` and the stored time: nodes of a cluster write
  // the same user's lastSeen, and an older write may land last.
  virtual void set_last_seen(std::string room, std::string user_id, Timestamp at,
                             StatusCompletion done) = 0;
};

class REALTIME_EXPORT Store : public RoomStore,
                              public MessageStore,
                              public ReceiptStore,
                              public ReactionStore,
                              public ModerationStore {
 public:
  // Completes once every write issued before it is durable.
  virtual void flush(StatusCompletion done) = 0;
  // Finishes queued work, then refuses new calls with `unavailable`.
  // Blocks the caller until done: call it off the loop or at shutdown.
  virtual void close() = 0;
  // Calls accepted but not yet completed (a gauge for /metrics).
  virtual std::size_t pending() const = 0;
  // Ok while the store can reach its storage and take writes; otherwise
  // `unavailable` with the cause: a database server unreachable, a full or
  // failing disk, the database file gone (calls then fail with
  // `unavailable` too). It turns ok again by itself once the fault is gone;
  // the backend retries on its own. For /healthz, where a store that cannot
  // write takes the server out of a load balancer's rotation: cheap, and
  // safe from any thread. The default (a store that cannot fail this way,
  // such as the memory store) is always ok.
  virtual Status health() const { return {}; }
};

}  // namespace realtime
