// What each chat event's payload means, read in one place: one struct and
// one parse function per event (room_ops.cpp, message_ops.cpp and
// live_ops.cpp call them first, then work with the struct only). A parse
// checks the fields in a fixed order and answers the first problem, as a
// bad_request or payload_too_large whose message names the field; the
// protocol's error precedence (validation, then existence, permission,
// state) starts here. Pure functions; loop thread or any other.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "realtime/call_quality.h"
#include "realtime/chat_service.h"
#include "realtime/json.h"
#include "realtime/message.h"
#include "realtime/room.h"
#include "realtime/status.h"
#include "realtime/store.h"

namespace realtime::chat {

// --- Field readers. A missing (or null) optional field is nullopt; a
// present field of the wrong type is bad_request naming the field.
Result<std::string> required_string(const Json& payload, std::string_view key);
Result<std::optional<std::string>> optional_string(const Json& payload, std::string_view key);
// Integers may arrive as doubles (JavaScript numbers): a whole double
// within +-9e15 is taken, anything else is refused.
Result<std::optional<std::int64_t>> optional_int(const Json& payload, std::string_view key);
Result<std::optional<bool>> optional_bool(const Json& payload, std::string_view key);
// A room id field: required, and valid by the protocol's id rule.
Result<std::string> required_room_id(const Json& payload, std::string_view key = "room");

// An attachment object: url required (this server's /api/attachments/{id}
// or http(s)), name, size, mime optional.
Result<Attachment> parse_attachment(const Json& value);

// Text rules shared by message:send and message:edit: valid UTF-8, at
// most max_chars code points, and not blank unless `blank_ok` (an
// attachment carries the message).
Status check_text(const std::string& text, std::size_t max_chars, bool blank_ok);

// --- One struct per event.

// Events that name only a room: room:get, room:leave, presence:list,
// session:end, session:token.
struct RoomRef {
  std::string room;
};
Result<RoomRef> parse_room_ref(const Json& p);

// room:create. `actor` decides the creator: a user creates as themselves;
// a service names one with createdBy (or none). `members` starts with the
// creator as owner, then the listed users, each once, first role kept.
struct RoomCreate {
  RoomKind kind = RoomKind::group;
  std::string title;
  std::optional<std::string> id;  // the caller's id for the room, if any
  bool reuse = false;              // a direct room of the same pair under `id` is answered as found
  std::string creator;             // empty for a service creating without createdBy
  std::vector<Member> members;
};
Result<RoomCreate> parse_room_create(const Json& p, const Actor& actor, const ChatOptions& options);

// room:join.
struct RoomJoin {
  std::string room;
  std::optional<std::string> join_token;
  std::optional<std::int64_t> after_seq;  // >= 0: replay what came after
};
Result<RoomJoin> parse_room_join(const Json& p);

// Where a rooms:list page ended: the last room's activity time and id, in
// the store's order (activity descending, then id ascending). On the wire
// it is "<milliseconds>.<room id>", which clients treat as opaque.
struct ListCursor {
  std::int64_t activity_ms = 0;
  std::string room;
};
std::optional<ListCursor> parse_list_cursor(std::string_view text);

// rooms:list pages: at most this many rooms (and max_answer_bytes).
inline constexpr std::int64_t kMaxRoomsPerPage = 1000;

// rooms:list.
struct RoomsList {
  std::size_t limit = kMaxRoomsPerPage;  // clamped to 1..kMaxRoomsPerPage
  std::optional<ListCursor> cursor;
};
Result<RoomsList> parse_rooms_list(const Json& p);

// member:add. The role defaults to "member" (also when given empty).
struct MemberAdd {
  std::string room;
  Member member;
};
Result<MemberAdd> parse_member_add(const Json& p);

// member:remove.
struct MemberRemove {
  std::string room;
  std::string user_id;
};
Result<MemberRemove> parse_member_remove(const Json& p);

// message:send: the new message with what the payload gives (room, type,
// text, replyTo, attachment, clientMsgId); the sender and time are the
// operation's to fill.
Result<NewMessage> parse_message_send(const Json& p, std::size_t max_text_chars);

// message:edit.
struct MessageEdit {
  std::string id;
  std::string text;
};
Result<MessageEdit> parse_message_edit(const Json& p, std::size_t max_text_chars);

// message:delete.
struct MessageRef {
  std::string id;
};
Result<MessageRef> parse_message_ref(const Json& p);

// message:history. The limit is clamped to 1..200 (default 50).
struct MessageHistory {
  std::string room;
  HistoryQuery query;
};
Result<MessageHistory> parse_message_history(const Json& p);

// message:read.
struct MessageRead {
  std::string room;
  std::int64_t seq = 0;  // >= 0
};
Result<MessageRead> parse_message_read(const Json& p);

// message:search. The limit is clamped to 1..100 (default 20).
struct MessageSearch {
  std::string room;
  std::string q;
  int limit = 20;
};
Result<MessageSearch> parse_message_search(const Json& p);

// reaction:add and reaction:remove: `emoji` checked by chat/emoji.h.
struct ReactionChange {
  std::string id;
  std::string emoji;
};
Result<ReactionChange> parse_reaction(const Json& p);

// typing.
struct TypingChange {
  std::string room;
  bool typing = false;
};
Result<TypingChange> parse_typing(const Json& p);

// rtc:offer, rtc:answer (`key` "sdp") and rtc:ice (`key` "candidate"):
// the body is relayed as it came. `candidate: null` ends the candidates
// and is relayed; an sdp must be there.
struct RtcSignal {
  std::string room;
  std::string to;  // the peer's socket id
  Json body;
};
Result<RtcSignal> parse_rtc_signal(const Json& p, std::string_view key);

}  // namespace realtime::chat

// --- Call quality (call_quality_book.h)

namespace realtime::chat {

// The figures of an rtc:stats payload, also what the cluster bus carries:
// rttMs, lossPct, kbpsIn, kbpsOut, fps, each optional (absent or null), a
// finite number within its bound (call_quality.h); at least one present.
Result<CallSample> parse_call_sample(const Json& p);
// The same figures as JSON (absent ones left out).
Json call_sample_json(const CallSample& s);

// rtc:stats: one peer connection's summary, from the socket that has it.
struct RtcStats {
  std::string room;
  std::optional<std::string> peer;  // the remote socket's sid (a pair's other end)
  CallSample sample;
};
Result<RtcStats> parse_rtc_stats(const Json& p);

}  // namespace realtime::chat
