// UTF-8 validation and counting. Characters are Unicode code points; overlong
// forms, surrogates (WTF-8) and values past U+10FFFF are invalid.
#pragma once

#include <cstddef>
#include <optional>
#include <string_view>

#include "realtime/export.h"

namespace realtime {

// Number of code points, or nullopt when `s` is not valid UTF-8.
REALTIME_EXPORT std::optional<std::size_t> utf8_length(std::string_view s);
inline bool is_valid_utf8(std::string_view s) { return utf8_length(s).has_value(); }
// The longest prefix of valid UTF-8 `s` that is at most max_bytes long and
// does not split a code point (a byte cut can leave half a character,
// which makes the whole string invalid).
REALTIME_EXPORT std::string_view utf8_prefix(std::string_view s, std::size_t max_bytes);

}  // namespace realtime
