// JwtAuthenticator: the stock Authenticator, JSON Web Tokens signed HS256
// with a shared secret, or RS256, PS256, ES256 or EdDSA with an identity
// provider's public keys (a PEM file, a JWKS URL through JwksCache, or both).
//
// The header's alg picks the check and must fit the key: HS256 uses only the
// secret, the others only public keys of their own type, so a public key can
// never serve as an HMAC secret and "none" is never accepted.
//
// Called on the loop thread (Authenticator's contract), except
// set_public_keys(), which any thread may call.
//
// The token is looked for, in this order, in the Socket.IO auth payload
// ({"token": ...}), the `token` query parameter, an `Authorization: Bearer`
// header and a `chatd_token` cookie; the first one present is the one
// checked (an invalid token is refused, never skipped). Claims: the user id
// (`sub` unless user_claim says otherwise; 1-128 bytes), the name (defaults
// to the user id), the role (defaults to "user"), `exp` (required), `nbf`
// (optional), and `iss` and `aud` when the options ask for them.
//
// A browser sends the cookie with a WebSocket or polling handshake whatever
// page opened it, so a cookie-borne token is only accepted from the
// server's own origin (the handshake's Host), from cookie_origins, or
// without an Origin header (a client that is not a web page).
#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "realtime/authenticator.h"
#include "realtime/clock.h"
#include "realtime/export.h"
#include "realtime/jwks_cache.h"
#include "realtime/jwt_keys.h"

namespace realtime {

struct JwtOptions {
  // HMAC key for HS256 tokens; empty: HS256 tokens are refused (a setup
  // with only an identity provider's keys).
  std::string secret;
  std::chrono::seconds leeway{30};             // tolerance on exp and nbf (clamped to 0..10 years)
  std::string cookie_name = "chatd_token";
  std::string query_name = "token";
  // Web origins ("https://app.example.com") besides the server's own whose
  // pages may connect with the cookie; "*" is never one of them.
  std::vector<std::string> cookie_origins = {};
  // Public keys for RS256/PS256/ES256/EdDSA tokens (a --jwt-public-key
  // file); null: none. Replace them later with set_public_keys().
  std::shared_ptr<const JwtKeySet> public_keys = {};
  // An identity provider's JWKS, fetched and refreshed by the cache; null:
  // none. Must outlive the authenticator; used on the loop thread only.
  JwksCache* jwks = nullptr;
  // When not empty, a token's `iss` must be exactly this (the provider's
  // issuer URL), so tokens another tenant of the same provider minted fail.
  std::string issuer = {};
  // When not empty, a token's `aud` (a string or an array of strings) must
  // hold at least one of these: tokens the provider minted for other apps fail.
  std::vector<std::string> audiences = {};
  // The claims that carry the user id, display name and role. Providers
  // differ (Firebase's `user_id`, Keycloak's `preferred_username`); only
  // top-level string claims are read.
  std::string user_claim = "sub";
  std::string name_claim = "name";
  std::string role_claim = "role";
};

class REALTIME_EXPORT JwtAuthenticator final : public Authenticator {
 public:
  // `clock` must outlive the authenticator.
  JwtAuthenticator(JwtOptions options, const Clock& clock);
  Result<Identity> authenticate(const Handshake& handshake, const Json& auth) const override;
  // Checks one compact token (used by REST routes with a Bearer header).
  Result<Identity> verify(std::string_view token) const;
  // Makes a token for identity that expires after ttl (dev tokens, tests).
  // Signs HS256 with the secret, so it needs one.
  std::string sign(const Identity& identity, std::chrono::seconds ttl) const;
  // Replaces the public keys (a reloaded key file; null: none). Any
  // thread; a verify already running finishes with the keys it began with.
  void set_public_keys(std::shared_ptr<const JwtKeySet> keys);

 private:
  Status check_signature(std::string_view alg, std::string_view kid, std::string_view signing_input,
                         std::string_view signature) const;
  Status check_claims(const Json& claims) const;

  JwtOptions options_;
  const Clock& clock_;
  mutable std::mutex keys_mu_;  // guards options_.public_keys only
};

}  // namespace realtime
