// Payload parsing for every chat event (see payloads.h). Each parse reads
// its fields in the order the protocol's errors are checked in, so the
// first problem in a payload is the one answered.
#include "chat/payloads.h"

#include <algorithm>
#include <charconv>

#include "chat/emoji.h"
#include "chat/text.h"
#include "chat/wire.h"

namespace realtime::chat {
namespace {

constexpr std::size_t kMaxTitleBytes = 200;
constexpr std::size_t kMaxUserIdBytes = 128;
constexpr std::size_t kMaxRoleBytes = 64;
constexpr std::size_t kMaxClientMsgIdChars = 128;
constexpr std::size_t kMaxIdBytes = 128;
constexpr std::size_t kMaxQueryBytes = 256;

Status field_error(std::string_view key, std::string_view problem) {
  std::string message(key);
  message += problem;
  return Status::bad_request(std::move(message));
}

bool valid_user_id(const std::string& id) { return !id.empty() && id.size() <= kMaxUserIdBytes; }

Result<std::string> required_message_id(const Json& p) {
  auto id = required_string(p, "id");
  if (!id.ok()) return id;
  if (id->empty() || id->size() > kMaxIdBytes) return Status::bad_request("id is not a message id");
  return id;
}

Result<std::string> required_user_id(const Json& p) {
  auto user = required_string(p, "userId");
  if (!user.ok()) return user;
  if (!valid_user_id(*user)) return Status::bad_request("userId must be 1 to 128 bytes");
  return user;
}

// members: ["id", ...] or [{"userId","role"}, ...], appended to `members`
// unless already there (the first role is kept). At most max_entries
// entries, and max_members once merged.
Result<std::vector<Member>> parse_members(const Json& value, std::vector<Member> members, std::size_t max_entries,
                                          std::size_t max_members) {
  if (value.is_null()) return members;
  if (!value.is_array()) return Status::bad_request("members must be an array");
  if (value.size() > max_entries) {
    std::string message = "members has more than ";
    message += std::to_string(max_entries);
    message += " entries";
    return Status::payload_too_large(std::move(message));
  }
  for (const Json& item : value.as_array()) {
    Member m;
    if (item.is_string()) {
      m.user_id = item.as_string();
    } else if (item.is_object() && item["userId"].is_string()) {
      m.user_id = item["userId"].as_string();
      if (!item["role"].is_null()) {
        if (!item["role"].is_string()) return Status::bad_request("member role must be a string");
        m.role = item["role"].as_string();
      }
    } else {
      return Status::bad_request("members entries are user ids or {userId, role}");
    }
    if (!valid_user_id(m.user_id)) return Status::bad_request("member user ids are 1 to 128 bytes");
    if (m.role.size() > kMaxRoleBytes) return Status::bad_request("member role too long");
    if (m.role.empty()) m.role = "member";
    const bool seen = std::any_of(members.begin(), members.end(), [&](const Member& x) { return x.user_id == m.user_id; });
    if (!seen) members.push_back(std::move(m));
  }
  if (members.size() > max_members) {
    std::string message = "a room has at most ";
    message += std::to_string(max_members);
    message += " members";
    return Status::payload_too_large(std::move(message));
  }
  return members;
}

// The clamped value of an optional integer field.
int clamped(const std::optional<std::int64_t>& v, std::int64_t fallback, std::int64_t lo, std::int64_t hi) {
  return static_cast<int>(std::clamp<std::int64_t>(v.value_or(fallback), lo, hi));
}

}  // namespace

Result<std::string> required_string(const Json& payload, std::string_view key) {
  const Json* v = payload.find(key);
  if (!v || v->is_null()) return field_error(key, " is required");
  if (!v->is_string()) return field_error(key, " must be a string");
  return v->as_string();
}

Result<std::optional<std::string>> optional_string(const Json& payload, std::string_view key) {
  const Json* v = payload.find(key);
  if (!v || v->is_null()) return std::optional<std::string>();
  if (!v->is_string()) return field_error(key, " must be a string");
  return std::optional<std::string>(v->as_string());
}

Result<std::optional<std::int64_t>> optional_int(const Json& payload, std::string_view key) {
  const Json* v = payload.find(key);
  if (!v || v->is_null()) return std::optional<std::int64_t>();
  if (v->is_int()) return std::optional<std::int64_t>(v->as_int());
  if (v->is_number()) {
    const double d = v->as_double();
    if (d == static_cast<double>(static_cast<std::int64_t>(d)) && d > -9e15 && d < 9e15)
      return std::optional<std::int64_t>(static_cast<std::int64_t>(d));
  }
  return field_error(key, " must be an integer");
}

Result<std::optional<bool>> optional_bool(const Json& payload, std::string_view key) {
  const Json* v = payload.find(key);
  if (!v || v->is_null()) return std::optional<bool>();
  if (!v->is_bool()) return field_error(key, " must be a boolean");
  return std::optional<bool>(v->as_bool());
}

Result<std::string> required_room_id(const Json& payload, std::string_view key) {
  auto id = required_string(payload, key);
  if (!id.ok()) return id;
  if (!is_valid_room_id(*id)) return field_error(key, " is not a valid room id");
  return id;
}

Result<Attachment> parse_attachment(const Json& value) {
  if (!value.is_object()) return Status::bad_request("attachment must be an object");
  auto url = required_string(value, "url");
  if (!url.ok()) return Status::bad_request("attachment.url is required");
  const std::string& u = *url;
  // Clients fetch a local url with the viewer's token: it must name an
  // attachment, never a path that walks elsewhere on this server.
  constexpr std::string_view kLocal = "/api/attachments/";
  const bool local = u.starts_with(kLocal) && is_valid_attachment_id(std::string_view(u).substr(kLocal.size()));
  const bool web = u.size() < 2048 && is_web_url(u);
  if (!local && !web) return Status::bad_request("attachment.url must be /api/attachments/{id} or an http(s) URL");
  Attachment a;
  a.url = u;
  auto name = optional_string(value, "name");
  auto mime = optional_string(value, "mime");
  auto size = optional_int(value, "size");
  if (!name.ok() || !mime.ok() || !size.ok()) return Status::bad_request("attachment fields have wrong types");
  a.name = name->value_or("");
  a.mime = mime->value_or("");
  a.size = size->value_or(0);
  if (a.size < 0 || a.name.size() > 512 || a.mime.size() > 255)
    return Status::bad_request("attachment name, size or mime out of range");
  return a;
}

Status check_text(const std::string& text, std::size_t max_chars, bool blank_ok) {
  auto chars = utf8_length(text);
  if (!chars) return Status::bad_request("text is not valid UTF-8");
  if (*chars > max_chars) {
    std::string message = "text is longer than ";
    message += std::to_string(max_chars);
    message += " characters";
    return Status::payload_too_large(std::move(message));
  }
  if (!blank_ok && is_blank(text)) return Status::bad_request("text is empty");
  return {};
}

Result<RoomRef> parse_room_ref(const Json& p) {
  auto room = required_room_id(p);
  if (!room.ok()) return room.status();
  return RoomRef{std::move(room).value()};
}

Result<RoomCreate> parse_room_create(const Json& p, const Actor& actor, const ChatOptions& options) {
  RoomCreate out;
  auto kind_name = required_string(p, "kind");
  if (!kind_name.ok()) return kind_name.status();
  auto kind = parse_room_kind(*kind_name);
  if (!kind) return Status::bad_request("kind must be direct, group or session");
  out.kind = *kind;
  auto title = optional_string(p, "title");
  if (!title.ok()) return title.status();
  out.title = title->value_or("");
  if (out.title.size() > kMaxTitleBytes) return Status::bad_request("title too long");
  auto id = optional_string(p, "id");
  if (!id.ok()) return id.status();
  if (*id && !is_valid_room_id(**id)) return Status::bad_request("id is not a valid room id");
  out.id = *id;
  auto reuse = optional_bool(p, "reuse");
  if (!reuse.ok()) return reuse.status();
  out.reuse = reuse->value_or(false);
  // A user's createdBy is not read: they create as themselves.
  if (actor.service) {
    auto by = optional_string(p, "createdBy");
    if (!by.ok()) return by.status();
    out.creator = by->value_or("");
    if (!out.creator.empty() && !valid_user_id(out.creator)) return Status::bad_request("createdBy is invalid");
  } else {
    out.creator = actor.identity.user_id;
  }
  std::vector<Member> initial;
  if (!out.creator.empty()) initial.push_back({out.creator, "owner"});
  auto members = parse_members(p["members"], std::move(initial), options.max_members_per_create,
                               options.max_members_per_room);
  if (!members.ok()) return members.status();
  out.members = std::move(members).value();
  if (out.kind == RoomKind::direct && out.members.size() != 2)
    return Status::bad_request("a direct room has exactly two members");
  return out;
}

Result<RoomJoin> parse_room_join(const Json& p) {
  RoomJoin out;
  auto room = required_room_id(p);
  if (!room.ok()) return room.status();
  out.room = std::move(room).value();
  auto token = optional_string(p, "joinToken");
  if (!token.ok()) return token.status();
  out.join_token = std::move(token).value();
  auto after = optional_int(p, "afterSeq");
  if (!after.ok()) return after.status();
  if (*after && **after < 0) return Status::bad_request("afterSeq must not be negative");
  out.after_seq = *after;
  return out;
}

std::optional<ListCursor> parse_list_cursor(std::string_view text) {
  const auto dot = text.find('.');
  if (dot == std::string_view::npos) return std::nullopt;
  ListCursor c;
  const char* end = text.data() + dot;
  auto [p, ec] = std::from_chars(text.data(), end, c.activity_ms);
  if (ec != std::errc{} || p != end) return std::nullopt;
  c.room = std::string(text.substr(dot + 1));
  if (!is_valid_room_id(c.room)) return std::nullopt;
  return c;
}

Result<RoomsList> parse_rooms_list(const Json& p) {
  RoomsList out;
  auto limit = optional_int(p, "limit");
  if (!limit.ok()) return limit.status();
  auto cursor_text = optional_string(p, "cursor");
  if (!cursor_text.ok()) return cursor_text.status();
  if (*cursor_text) {
    out.cursor = parse_list_cursor(**cursor_text);
    if (!out.cursor) return Status::bad_request("cursor is not one rooms:list gave");
  }
  out.limit = static_cast<std::size_t>(clamped(*limit, kMaxRoomsPerPage, 1, kMaxRoomsPerPage));
  return out;
}

Result<MemberAdd> parse_member_add(const Json& p) {
  MemberAdd out;
  auto room = required_room_id(p);
  if (!room.ok()) return room.status();
  out.room = std::move(room).value();
  auto user = required_user_id(p);
  if (!user.ok()) return user.status();
  out.member.user_id = std::move(user).value();
  auto role = optional_string(p, "role");
  if (!role.ok()) return role.status();
  out.member.role = role->value_or("");
  if (out.member.role.size() > kMaxRoleBytes) return Status::bad_request("role too long");
  if (out.member.role.empty()) out.member.role = "member";
  return out;
}

Result<MemberRemove> parse_member_remove(const Json& p) {
  MemberRemove out;
  auto room = required_room_id(p);
  if (!room.ok()) return room.status();
  out.room = std::move(room).value();
  auto user = required_user_id(p);
  if (!user.ok()) return user.status();
  out.user_id = std::move(user).value();
  return out;
}

Result<NewMessage> parse_message_send(const Json& p, std::size_t max_text_chars) {
  NewMessage m;
  auto room = required_room_id(p);
  if (!room.ok()) return room.status();
  m.room = std::move(room).value();
  auto text = optional_string(p, "text");
  if (!text.ok()) return text.status();
  m.text = text->value_or("");
  auto type_name = optional_string(p, "type");
  if (!type_name.ok()) return type_name.status();
  auto type = parse_message_type(type_name->value_or("text"));
  if (!type || *type == MessageType::system) return Status::bad_request("type must be text, image or file");
  m.type = *type;
  auto reply_to = optional_string(p, "replyTo");
  if (!reply_to.ok()) return reply_to.status();
  if (*reply_to && (*reply_to)->size() > kMaxIdBytes) return Status::bad_request("replyTo is not a message id");
  m.reply_to = std::move(reply_to).value();
  auto client_id = optional_string(p, "clientMsgId");
  if (!client_id.ok()) return client_id.status();
  if (*client_id) {
    auto n = utf8_length(**client_id);
    if (!n || *n == 0 || *n > kMaxClientMsgIdChars) return Status::bad_request("clientMsgId must be 1 to 128 characters");
  }
  m.client_msg_id = std::move(client_id).value();
  if (!p["attachment"].is_null()) {
    auto a = parse_attachment(p["attachment"]);
    if (!a.ok()) return a.status();
    m.attachment = std::move(a).value();
  }
  if (m.type != MessageType::text && !m.attachment)
    return Status::bad_request("image and file messages need an attachment");
  if (Status s = check_text(m.text, max_text_chars, m.attachment.has_value()); !s.ok()) return s;
  return m;
}

Result<MessageEdit> parse_message_edit(const Json& p, std::size_t max_text_chars) {
  MessageEdit out;
  auto id = required_message_id(p);
  if (!id.ok()) return id.status();
  out.id = std::move(id).value();
  auto text = required_string(p, "text");
  if (!text.ok()) return text.status();
  out.text = std::move(text).value();
  if (Status s = check_text(out.text, max_text_chars, false); !s.ok()) return s;
  return out;
}

Result<MessageRef> parse_message_ref(const Json& p) {
  auto id = required_message_id(p);
  if (!id.ok()) return id.status();
  return MessageRef{std::move(id).value()};
}

Result<MessageHistory> parse_message_history(const Json& p) {
  MessageHistory out;
  auto before = optional_int(p, "before");
  if (!before.ok()) return before.status();
  auto after = optional_int(p, "after");
  if (!after.ok()) return after.status();
  auto limit = optional_int(p, "limit");
  if (!limit.ok()) return limit.status();
  out.query.before = *before;
  out.query.after = *after;
  out.query.limit = clamped(*limit, 50, 1, 200);
  auto room = required_room_id(p);
  if (!room.ok()) return room.status();
  out.room = std::move(room).value();
  return out;
}

Result<MessageRead> parse_message_read(const Json& p) {
  MessageRead out;
  auto room = required_room_id(p);
  if (!room.ok()) return room.status();
  out.room = std::move(room).value();
  auto seq = optional_int(p, "seq");
  if (!seq.ok()) return seq.status();
  if (!*seq || **seq < 0) return Status::bad_request("seq is required and must not be negative");
  out.seq = **seq;
  return out;
}

Result<MessageSearch> parse_message_search(const Json& p) {
  MessageSearch out;
  auto q = required_string(p, "q");
  if (!q.ok()) return q.status();
  if (q->size() > kMaxQueryBytes) return Status::bad_request("q is too long");
  out.q = std::move(q).value();
  auto limit = optional_int(p, "limit");
  if (!limit.ok()) return limit.status();
  out.limit = clamped(*limit, 20, 1, 100);
  auto room = required_room_id(p);
  if (!room.ok()) return room.status();
  out.room = std::move(room).value();
  return out;
}

Result<ReactionChange> parse_reaction(const Json& p) {
  ReactionChange out;
  auto id = required_message_id(p);
  if (!id.ok()) return id.status();
  out.id = std::move(id).value();
  auto emoji = required_string(p, "emoji");
  if (!emoji.ok()) return emoji.status();
  if (emoji->size() > kMaxEmojiBytes) {
    std::string message = "emoji is longer than ";
    message += std::to_string(kMaxEmojiBytes);
    message += " bytes";
    return Status::payload_too_large(std::move(message));
  }
  if (!is_valid_emoji(*emoji))
    return Status::bad_request("emoji must be one emoji (a grapheme cluster) or a short name like :thumbsup:");
  out.emoji = std::move(emoji).value();
  return out;
}

Result<TypingChange> parse_typing(const Json& p) {
  TypingChange out;
  auto room = required_room_id(p);
  if (!room.ok()) return room.status();
  out.room = std::move(room).value();
  auto on = optional_bool(p, "typing");
  if (!on.ok()) return on.status();
  if (!*on) return Status::bad_request("typing is required");
  out.typing = **on;
  return out;
}

Result<RtcSignal> parse_rtc_signal(const Json& p, std::string_view key) {
  RtcSignal out;
  auto room = required_room_id(p);
  if (!room.ok()) return room.status();
  out.room = std::move(room).value();
  auto to = required_string(p, "to");
  if (!to.ok()) return to.status();
  out.to = std::move(to).value();
  const Json* body = p.find(key);
  if (!body || (key == "sdp" && body->is_null())) return field_error(key, " is required");
  out.body = *body;
  return out;
}

}  // namespace realtime::chat

// --- Call quality

namespace realtime::chat {
namespace {

struct SampleField {
  const char* key;
  double max;
  std::optional<double> CallSample::*field;
};
constexpr SampleField kSampleFields[] = {
    {"rttMs", 60000, &CallSample::rtt_ms},       {"lossPct", 100, &CallSample::loss_pct},
    {"kbpsIn", 1000000, &CallSample::kbps_in},   {"kbpsOut", 1000000, &CallSample::kbps_out},
    {"fps", 240, &CallSample::fps},
};

}  // namespace

Result<CallSample> parse_call_sample(const Json& p) {
  CallSample s;
  bool any = false;
  for (const auto& f : kSampleFields) {
    const Json* v = p.find(f.key);
    if (!v || v->is_null()) continue;
    if (!v->is_number()) return field_error(f.key, " must be a number");
    const double d = v->as_double();
    // NaN fails both comparisons; JSON has no infinities.
    if (!(d >= 0 && d <= f.max)) {
      std::string problem = " must be between 0 and ";
      problem += std::to_string(static_cast<long long>(f.max));
      return field_error(f.key, problem);
    }
    s.*f.field = d;
    any = true;
  }
  if (!any) return Status::bad_request("rtc:stats needs at least one of rttMs, lossPct, kbpsIn, kbpsOut, fps");
  return s;
}

Json call_sample_json(const CallSample& s) {
  Json out = Json::object();
  for (const auto& f : kSampleFields)
    if (s.*f.field) out.set(f.key, *(s.*f.field));
  return out;
}

Result<RtcStats> parse_rtc_stats(const Json& p) {
  RtcStats out;
  auto room = required_room_id(p);
  if (!room.ok()) return room.status();
  out.room = std::move(room).value();
  auto peer = optional_string(p, "peer");
  if (!peer.ok()) return peer.status();
  if (*peer && ((*peer)->empty() || (*peer)->size() > 128)) return Status::bad_request("peer is not a socket id");
  out.peer = std::move(peer).value();
  auto sample = parse_call_sample(p);
  if (!sample.ok()) return sample.status();
  out.sample = *sample;
  return out;
}

}  // namespace realtime::chat
