// JSON encodings of stored values, acks and errors.
#include "chat/wire.h"

namespace realtime::chat {

Json time_json(const std::optional<Timestamp>& t) { return t ? Json(format_iso8601(*t)) : Json(); }

Json to_json(const Room& room) {
  Json members = Json::array();
  for (const auto& m : room.members) members.push(Json::object({{"userId", m.user_id}, {"role", m.role}}));
  return Json::object({{"id", room.id},
                       {"kind", std::string(to_string(room.kind))},
                       {"title", room.title},
                       {"status", std::string(to_string(room.status))},
                       {"createdBy", room.created_by.empty() ? Json() : Json(room.created_by)},
                       {"createdAt", format_iso8601(room.created_at)},
                       {"startedAt", time_json(room.started_at)},
                       {"endedAt", time_json(room.ended_at)},
                       {"members", std::move(members)}});
}

Json to_json(const Attachment& a) {
  return Json::object({{"url", a.url}, {"name", a.name}, {"size", static_cast<long long>(a.size)}, {"mime", a.mime}});
}

Json to_json(const Message& m) {
  return Json::object({{"id", m.id},
                       {"room", m.room},
                       {"seq", static_cast<long long>(m.seq)},
                       {"senderId", m.sender_id},
                       {"senderName", m.sender_name},
                       {"senderRole", m.sender_role},
                       {"type", std::string(to_string(m.type))},
                       {"text", m.text},
                       {"replyTo", m.reply_to ? Json(*m.reply_to) : Json()},
                       {"attachment", m.attachment ? to_json(*m.attachment) : Json()},
                       {"clientMsgId", m.client_msg_id ? Json(*m.client_msg_id) : Json()},
                       {"createdAt", format_iso8601(m.created_at)},
                       {"editedAt", time_json(m.edited_at)},
                       {"deleted", m.deleted}});
}

Json to_json(const RoomSummary& s) {
  return Json::object({{"room", to_json(s.room)},
                       {"lastMessage", s.last_message ? to_json(*s.last_message) : Json()},
                       {"unread", static_cast<long long>(s.unread)}});
}


std::size_t fitting(const std::vector<std::size_t>& sizes, std::size_t budget) {
  std::size_t used = 0, n = 0;
  for (std::size_t s : sizes) {
    if (n > 0 && used + s > budget) break;
    used += s;
    ++n;
  }
  return n;
}

bool is_valid_attachment_id(std::string_view id) {
  if (id.size() != 22) return false;
  for (char c : id) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
    if (!ok) return false;
  }
  return true;
}

bool is_web_url(std::string_view url) {
  std::string_view rest;
  if (url.starts_with("https://")) rest = url.substr(8);
  else if (url.starts_with("http://")) rest = url.substr(7);
  else return false;
  const auto host_end = rest.find_first_of("/?#");
  if (rest.substr(0, host_end).empty()) return false;
  // RFC 3986 never has these raw; a browser would percent-encode them.
  constexpr std::string_view kNever = "\"<>\\^`{|}";
  for (unsigned char c : rest)
    if (c <= 0x20 || c == 0x7f || kNever.find(static_cast<char>(c)) != std::string_view::npos) return false;
  return true;
}

}  // namespace realtime::chat
