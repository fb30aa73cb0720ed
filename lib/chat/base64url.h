// base64url without padding (RFC 4648 section 5): JWT segments and join tokens.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace realtime::chat {

std::string base64url_encode(std::string_view bytes);
// nullopt for characters outside the alphabet or an impossible length.
std::optional<std::string> base64url_decode(std::string_view text);

}  // namespace realtime::chat
