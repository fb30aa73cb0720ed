// UTF-8 validation shared by Json (lenient parsing) and the chat rules, and
// cutting on a character boundary (chatd's attachment names).
#include "realtime/utf8.h"

#include <cstdint>

#include "core/utf8_decode.h"

namespace realtime {

std::optional<std::size_t> utf8_length(std::string_view s) {
  std::size_t n = 0;
  std::uint32_t cp;
  for (std::size_t i = 0; i < s.size(); ++n) {
    const std::size_t len = detail::utf8_decode(s, i, cp);
    if (len == 0) return std::nullopt;
    i += len;
  }
  return n;
}

std::string_view utf8_prefix(std::string_view s, std::size_t max_bytes) {
  if (s.size() <= max_bytes) return s;
  std::size_t cut = max_bytes;
  // Continuation bytes are 10xxxxxx: back up to the start of the character.
  while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;
  return s.substr(0, cut);
}

}  // namespace realtime
