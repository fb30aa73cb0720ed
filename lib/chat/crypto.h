// The few cryptographic primitives the chat service needs, over OpenSSL's
// libcrypto: HMAC-SHA256 / HMAC-SHA1, SHA-256, constant-time compare and
// random bytes. Kept behind this header so nothing else includes OpenSSL.
#pragma once

#include <string>
#include <string_view>

namespace realtime::chat {

std::string hmac_sha256(std::string_view key, std::string_view data);
std::string hmac_sha1(std::string_view key, std::string_view data);
std::string sha256(std::string_view data);
bool constant_time_equal(std::string_view a, std::string_view b);
// Cryptographically random bytes; aborts if the system RNG fails, since
// every caller needs unguessable values (tokens, ids) or nothing.
std::string random_bytes(std::size_t n);

}  // namespace realtime::chat
