// Value mapping of the PostgreSQL store (see values.h).
#include "store/postgres/values.h"

#include <algorithm>
#include <charconv>
#include <vector>

#include "core/search_words.h"
#include "realtime/utf8.h"

namespace realtime::pg {
namespace {

// Digits without a leading zero, as to_chars writes them.
std::optional<std::int64_t> parse_positive(std::string_view s) {
  if (s.empty() || s.size() > 18 || s[0] == '0') return std::nullopt;
  std::int64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

// The first `max` bytes of a word, not splitting a UTF-8 sequence.
std::string_view cut(std::string_view w, std::size_t max) {
  if (w.size() <= max) return w;
  std::size_t n = max;
  while (n > 0 && (static_cast<unsigned char>(w[n]) & 0xC0) == 0x80) --n;
  return w.substr(0, n);
}

}  // namespace

std::string message_id(std::int64_t rid, std::int64_t seq) {
  // Appended rather than `"m" + ...`: GCC 12 at -O3 misreports that as -Wrestrict.
  std::string id = "m";
  id += std::to_string(rid);
  id += '.';
  id += std::to_string(seq);
  return id;
}

std::optional<MessageKey> parse_message_id(std::string_view id) {
  if (id.size() < 4 || id[0] != 'm') return std::nullopt;
  const auto dot = id.find('.');
  if (dot == std::string_view::npos) return std::nullopt;
  auto rid = parse_positive(id.substr(1, dot - 1));
  auto seq = parse_positive(id.substr(dot + 1));
  if (!rid || !seq) return std::nullopt;
  return MessageKey{*rid, *seq};
}

std::int64_t to_millis(Timestamp t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

Timestamp from_millis(std::int64_t ms) { return Timestamp{std::chrono::milliseconds{ms}}; }

std::string tsvector_words(std::string_view text) {
  std::vector<std::string> words = detail::search_words(text);
  std::sort(words.begin(), words.end());
  words.erase(std::unique(words.begin(), words.end()), words.end());
  std::string out;
  std::size_t total = 0;
  for (const auto& w : words) {
    const std::string_view lexeme = cut(w, kMaxWordBytes);
    if (total + lexeme.size() > kMaxWordsBytes) break;
    total += lexeme.size();
    // Words hold no quote, backslash or ASCII space, so quoting is all the
    // escaping they need; quoted, a non-ASCII space stays inside the word.
    if (!out.empty()) out.push_back(' ');
    out.push_back('\'');
    out.append(lexeme);
    out.push_back('\'');
  }
  return out;
}

std::string tsquery_words(std::string_view query) {
  std::string out;
  for (const auto& w : detail::search_words(query)) {
    if (!out.empty()) out += " & ";
    out.push_back('\'');
    out.append(cut(w, kMaxWordBytes));
    out += "':*";
  }
  return out;
}

Status storable(std::string_view field, std::string_view s) {
  if (s.find('\0') != std::string_view::npos) {
    return Status::bad_request(std::string(field) + " contains a NUL character, which PostgreSQL cannot store");
  }
  if (!is_valid_utf8(s)) return Status::bad_request(std::string(field) + " is not valid UTF-8");
  return {};
}

Status storable_key(std::string_view field, std::string_view s) {
  if (s.size() > kMaxKeyBytes) {
    return Status::bad_request(std::string(field) + " is longer than " + std::to_string(kMaxKeyBytes) + " bytes");
  }
  return storable(field, s);
}

Message read_message(const Rows& r, int row, int col, std::string room) {
  Message m;
  const std::int64_t rid = r.int64(row, col);
  m.seq = r.int64(row, col + 1);
  m.id = message_id(rid, m.seq);
  m.room = std::move(room);
  m.sender_id = r.text(row, col + 2);
  m.sender_name = r.text(row, col + 3);
  m.sender_role = r.text(row, col + 4);
  m.type = static_cast<MessageType>(r.int64(row, col + 5));
  m.text = r.text(row, col + 6);
  if (auto reply = r.opt_int64(row, col + 7)) m.reply_to = message_id(rid, *reply);
  if (!r.null(row, col + 8)) {
    m.attachment = Attachment{r.text(row, col + 8), r.text(row, col + 9), r.int64(row, col + 10),
                              r.text(row, col + 11)};
  }
  m.client_msg_id = r.opt_text(row, col + 12);
  m.created_at = from_millis(r.int64(row, col + 13));
  if (auto e = r.opt_int64(row, col + 14)) m.edited_at = from_millis(*e);
  m.deleted = r.boolean(row, col + 15);
  return m;
}

std::optional<Room> read_room(const Rows& r) {
  if (r.size() == 0) return std::nullopt;
  Room room;
  room.id = r.text(0, 1);
  room.kind = static_cast<RoomKind>(r.int64(0, 2));
  room.title = r.text(0, 3);
  room.status = static_cast<RoomStatus>(r.int64(0, 4));
  room.created_by = r.text(0, 5);
  room.created_at = from_millis(r.int64(0, 6));
  if (auto v = r.opt_int64(0, 7)) room.started_at = from_millis(*v);
  if (auto v = r.opt_int64(0, 8)) room.ended_at = from_millis(*v);
  room.join_secret = r.text(0, 9);
  if (auto v = r.opt_int64(0, 10)) room.join_expires_at = from_millis(*v);
  for (int i = 0; i < r.size(); ++i) {
    if (!r.null(i, kRoomCols)) room.members.push_back(Member{r.text(i, kRoomCols), r.text(i, kRoomCols + 1)});
  }
  return room;
}

}  // namespace realtime::pg
