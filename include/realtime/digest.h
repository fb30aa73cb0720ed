// Keyed digests and a constant-time compare: what signed tokens (JWT
// HS256, room join tokens), TURN REST credentials and API-key checks need.
// Over OpenSSL's libcrypto, provided by realtime::chat; no OpenSSL type or
// header appears here. Pure functions; any thread.
#pragma once

#include <string>
#include <string_view>

#include "realtime/export.h"

namespace realtime {

// HMAC-SHA256 of `data` under `key`: the 32 raw bytes (encode them with
// realtime/base64.h for a text form). Any key length, including empty.
REALTIME_EXPORT std::string hmac_sha256(std::string_view key, std::string_view data);

// HMAC-SHA1, 20 raw bytes. Only for protocols that fix SHA-1, such as the
// TURN REST API's credential (coturn's use-auth-secret); prefer SHA-256.
REALTIME_EXPORT std::string hmac_sha1(std::string_view key, std::string_view data);

// SHA-256 of `data`, 32 raw bytes. Use it to store a digest of a secret
// token rather than the token.
REALTIME_EXPORT std::string sha256(std::string_view data);

// True when a and b are the same bytes. The time taken depends only on the
// lengths, never on where the first difference is, so comparing a caller's
// secret (an API key, a MAC) leaks nothing but whether the length matches.
REALTIME_EXPORT bool constant_time_equal(std::string_view a, std::string_view b);

}  // namespace realtime
