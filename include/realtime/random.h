// Unguessable bytes and tokens for ids and secrets (Engine.IO session ids,
// join tokens, attachment ids, upload file names), from the kernel's
// CSPRNG. The one source of randomness of the library; any thread.
#pragma once

#include <cstddef>
#include <string>

#include "realtime/export.h"

namespace realtime {

// `n` random bytes from getrandom(2) (/dev/urandom where that system call
// is missing). If the kernel can supply none, the process aborts with a
// message: every caller needs unguessable values or nothing, and an id
// that could be guessed would be a hole.
REALTIME_EXPORT std::string random_bytes(std::size_t n);

// `n` random bytes as base64url without padding: 16 bytes make a
// 22-character id, 32 bytes a 43-character token.
REALTIME_EXPORT std::string random_token(std::size_t n);

}  // namespace realtime
