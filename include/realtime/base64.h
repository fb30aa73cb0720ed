// Base64 in both RFC 4648 alphabets: standard (Engine.IO binary over
// polling, TURN credentials) and url (JWT segments, and tokens and ids that
// travel in URLs). Pure functions; any thread.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "realtime/export.h"

namespace realtime {

enum class Base64 {
  standard,  // A-Z a-z 0-9 + /, padded with '='
  url,       // A-Z a-z 0-9 - _, unpadded
};

REALTIME_EXPORT std::string base64_encode(std::string_view bytes, Base64 alphabet);
// Padding is optional on input. nullopt for a character outside the
// alphabet or a length no encoding produces.
REALTIME_EXPORT std::optional<std::string> base64_decode(std::string_view text, Base64 alphabet);

inline std::string base64url_encode(std::string_view bytes) { return base64_encode(bytes, Base64::url); }
inline std::optional<std::string> base64url_decode(std::string_view text) { return base64_decode(text, Base64::url); }

}  // namespace realtime
