// Text rules of the chat protocol: valid UTF-8, length in code points,
// not all whitespace.
#pragma once

#include <cstddef>
#include <optional>
#include <string_view>

namespace realtime::chat {

// Number of code points, or nullopt when `s` is not valid UTF-8 (overlong
// forms, surrogates and values past U+10FFFF are invalid).
std::optional<std::size_t> utf8_length(std::string_view s);
// True when every character is Unicode White_Space (ASCII and the common
// non-ASCII spaces), including for the empty string.
bool is_blank(std::string_view s);

}  // namespace realtime::chat
