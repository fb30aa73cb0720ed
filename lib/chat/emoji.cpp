// Reaction emoji rules (see emoji.h).
#include "chat/emoji.h"

#include <vector>

#include "realtime/utf8.h"

namespace realtime::chat {
namespace {

// The code points of valid UTF-8.
std::vector<char32_t> code_points(std::string_view s) {
  std::vector<char32_t> out;
  for (std::size_t i = 0; i < s.size();) {
    const auto b = static_cast<unsigned char>(s[i]);
    const std::size_t n = b < 0x80 ? 1 : b < 0xE0 ? 2 : b < 0xF0 ? 3 : 4;
    char32_t cp = n == 1 ? b : n == 2 ? (b & 0x1F) : n == 3 ? (b & 0x0F) : (b & 0x07);
    for (std::size_t k = 1; k < n && i + k < s.size(); ++k)
      cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3F);
    out.push_back(cp);
    i += n;
  }
  return out;
}

bool in(char32_t c, char32_t lo, char32_t hi) { return c >= lo && c <= hi; }

bool is_regional_indicator(char32_t c) { return in(c, 0x1F1E6, 0x1F1FF); }

// What may follow a base inside its cluster.
bool extends(char32_t c) {
  return in(c, 0x0300, 0x036F) || in(c, 0x1AB0, 0x1AFF) || in(c, 0x1DC0, 0x1DFF) || in(c, 0x20D0, 0x20FF) ||
         in(c, 0xFE20, 0xFE2F) ||                             // combining marks (0x20E3 is the keycap)
         in(c, 0xFE00, 0xFE0F) || in(c, 0xE0100, 0xE01EF) ||  // variation selectors
         in(c, 0x1F3FB, 0x1F3FF) ||                           // skin tones
         in(c, 0xE0020, 0xE007F);                             // tags (subdivision flags)
}

// A code point that can start a cluster: visible, not whitespace, not
// something that only extends another.
bool is_base(char32_t c) {
  if (c <= 0x20 || in(c, 0x7F, 0xA0) || c == 0x200D || extends(c)) return false;
  if (in(c, 0x2000, 0x200F) || in(c, 0x2028, 0x202F) || c == 0x3000 || c == 0xFEFF)
    return false;  // spaces, marks
  return true;
}

}  // namespace

bool is_emoji_short_name(std::string_view s) {
  if (s.size() < 3 || s.size() > kMaxEmojiBytes || s.front() != ':' || s.back() != ':') return false;
  for (char c : s.substr(1, s.size() - 2)) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '+' || c == '-';
    if (!ok) return false;
  }
  return true;
}

bool is_one_grapheme(std::string_view s) {
  const auto cps = code_points(s);
  if (cps.empty()) return false;
  if (cps.size() == 2 && is_regional_indicator(cps[0]) && is_regional_indicator(cps[1])) return true;
  std::size_t i = 0;
  for (;;) {
    if (i >= cps.size() || !is_base(cps[i]) || is_regional_indicator(cps[i])) return false;
    ++i;
    while (i < cps.size() && extends(cps[i])) ++i;
    if (i == cps.size()) return true;
    if (cps[i] != 0x200D) return false;  // a second base without a joiner: two clusters
    ++i;
  }
}

bool is_valid_emoji(std::string_view s) {
  if (s.empty() || s.size() > kMaxEmojiBytes || !is_valid_utf8(s)) return false;
  return is_emoji_short_name(s) || (s.front() != ':' && is_one_grapheme(s));
}

}  // namespace realtime::chat
