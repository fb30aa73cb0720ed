// JwtAuthenticator: the stock Authenticator, JSON Web Tokens signed HS256.
//
// The token is looked for, in this order, in the Socket.IO auth payload
// ({"token": ...}), the `token` query parameter, an `Authorization: Bearer`
// header and a `chatd_token` cookie; the first one present is the one
// checked (an invalid token is refused, never skipped). Claims: `sub` (the
// user id, 1-128 bytes), `name` (defaults to sub), `role` (defaults to
// "user"), `exp` (required), `nbf` (optional).
//
// A browser sends the cookie with a WebSocket or polling handshake whatever
// page opened it, so a cookie-borne token is only accepted from the
// server's own origin (the handshake's Host), from cookie_origins, or
// without an Origin header (a client that is not a web page).
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "realtime/authenticator.h"
#include "realtime/clock.h"
#include "realtime/export.h"

namespace realtime {

struct JwtOptions {
  std::string secret;                          // HMAC key; must not be empty
  std::chrono::seconds leeway{30};             // tolerance on exp and nbf (clamped to 0..10 years)
  std::string cookie_name = "chatd_token";
  std::string query_name = "token";
  // Web origins ("https://app.example.com") besides the server's own whose
  // pages may connect with the cookie; "*" is never one of them.
  std::vector<std::string> cookie_origins = {};
};

class REALTIME_EXPORT JwtAuthenticator final : public Authenticator {
 public:
  // `clock` must outlive the authenticator.
  JwtAuthenticator(JwtOptions options, const Clock& clock);
  Result<Identity> authenticate(const Handshake& handshake, const Json& auth) const override;
  // Checks one compact token (used by REST routes with a Bearer header).
  Result<Identity> verify(std::string_view token) const;
  // Makes a token for identity that expires after ttl (dev tokens, tests).
  std::string sign(const Identity& identity, std::chrono::seconds ttl) const;

 private:
  JwtOptions options_;
  const Clock& clock_;
};

}  // namespace realtime
