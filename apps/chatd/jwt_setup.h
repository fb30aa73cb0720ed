// chatd's token checking, assembled from its options: the HS256 secret, a
// --jwt-public-key file, a --jwks-url (fetched by CurlJwksFetcher through
// realtime::JwksCache), and the issuer, audience and claim settings.
// main() calls make_jwt() once on the main thread before the loop runs, and
// reload_jwt_keys() on SIGHUP.
#pragma once

#include <memory>

#include "jwks_fetcher.h"
#include "log.h"
#include "options.h"
#include "realtime/clock.h"
#include "realtime/event_loop.h"
#include "realtime/jwks_cache.h"
#include "realtime/jwt_authenticator.h"

namespace chatd {

struct JwtSetup {
  std::unique_ptr<CurlJwksFetcher> fetcher;  // null without --jwks-url
  std::unique_ptr<realtime::JwksCache> jwks;  // null without --jwks-url
  std::unique_ptr<realtime::JwtAuthenticator> auth;
};

// Reads the key file (if any) and builds the authenticator; with a JWKS URL
// also the cache, whose first fetch starts when the loop runs. Fails on a
// key file that cannot be read or holds no usable key.
realtime::Result<JwtSetup> make_jwt(const Config& config, realtime::EventLoop& loop, const realtime::Clock& clock, Log& log);

// Reads --jwt-public-key again and swaps the keys in; on failure the old
// keys stay and the Status says why. Reads a small file: call it from the
// signal dispatcher's thread, or accept one short read on the loop. A
// setup without a key file has nothing to reload (ok).
realtime::Status reload_jwt_keys(const Config& config, realtime::JwtAuthenticator& auth, Log& log);

}  // namespace chatd
