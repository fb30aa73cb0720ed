// UTF-8 validation shared by Json (lenient parsing) and the chat rules.
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

}  // namespace realtime
