// The few cryptographic primitives the chat service needs, over OpenSSL's
// libcrypto: HMAC-SHA256 / HMAC-SHA1, SHA-256 and constant-time compare
// (random bytes are realtime/random.h's). Kept behind this header so
// nothing else includes OpenSSL.
#pragma once

#include <string>
#include <string_view>

namespace realtime::chat {

std::string hmac_sha256(std::string_view key, std::string_view data);
std::string hmac_sha1(std::string_view key, std::string_view data);
std::string sha256(std::string_view data);
bool constant_time_equal(std::string_view a, std::string_view b);

}  // namespace realtime::chat
