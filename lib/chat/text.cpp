// UTF-8 validation and counting for message text limits.
#include "chat/text.h"

#include "core/utf8_decode.h"

#include <cstdint>

namespace realtime::chat {
namespace {

bool is_space(std::uint32_t cp) {
  return (cp >= 0x09 && cp <= 0x0D) || cp == 0x20 || cp == 0x85 || cp == 0xA0 || cp == 0x1680 ||
         (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 || cp == 0x202F || cp == 0x205F ||
         cp == 0x3000 || cp == 0xFEFF;
}

}  // namespace

bool is_blank(std::string_view s) {
  std::uint32_t cp;
  for (std::size_t i = 0; i < s.size();) {
    const std::size_t len = detail::utf8_decode(s, i, cp);
    if (len == 0 || !is_space(cp)) return false;
    i += len;
  }
  return true;
}

}  // namespace realtime::chat
