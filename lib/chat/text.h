// Text rules of the chat protocol: not all whitespace (validity and
// length in code points come from realtime/utf8.h).
#pragma once

#include <cstddef>
#include <optional>
#include <string_view>

#include "realtime/utf8.h"

namespace realtime::chat {

using realtime::utf8_length;  // realtime/utf8.h
// True when every character is Unicode White_Space (ASCII and the common
// non-ASCII spaces), including for the empty string.
bool is_blank(std::string_view s);

}  // namespace realtime::chat
