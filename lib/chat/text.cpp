// UTF-8 validation and counting for message text limits.
#include "chat/text.h"

#include <cstdint>

namespace realtime::chat {
namespace {

// Decodes one code point at s[i]; returns its length, or 0 if invalid.
std::size_t decode(std::string_view s, std::size_t i, std::uint32_t& cp) {
  const auto b0 = static_cast<unsigned char>(s[i]);
  if (b0 < 0x80) {
    cp = b0;
    return 1;
  }
  std::size_t len;
  std::uint32_t min;
  if ((b0 & 0xE0) == 0xC0) {
    len = 2, cp = b0 & 0x1F, min = 0x80;
  } else if ((b0 & 0xF0) == 0xE0) {
    len = 3, cp = b0 & 0x0F, min = 0x800;
  } else if ((b0 & 0xF8) == 0xF0) {
    len = 4, cp = b0 & 0x07, min = 0x10000;
  } else {
    return 0;
  }
  if (i + len > s.size()) return 0;
  for (std::size_t k = 1; k < len; ++k) {
    const auto b = static_cast<unsigned char>(s[i + k]);
    if ((b & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (b & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  return len;
}

bool is_space(std::uint32_t cp) {
  return (cp >= 0x09 && cp <= 0x0D) || cp == 0x20 || cp == 0x85 || cp == 0xA0 || cp == 0x1680 ||
         (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 || cp == 0x202F || cp == 0x205F ||
         cp == 0x3000 || cp == 0xFEFF;
}

}  // namespace

std::optional<std::size_t> utf8_length(std::string_view s) {
  std::size_t n = 0;
  std::uint32_t cp;
  for (std::size_t i = 0; i < s.size(); ++n) {
    const std::size_t len = decode(s, i, cp);
    if (len == 0) return std::nullopt;
    i += len;
  }
  return n;
}

bool is_blank(std::string_view s) {
  std::uint32_t cp;
  for (std::size_t i = 0; i < s.size();) {
    const std::size_t len = decode(s, i, cp);
    if (len == 0 || !is_space(cp)) return false;
    i += len;
  }
  return true;
}

}  // namespace realtime::chat
