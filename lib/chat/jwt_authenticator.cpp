// JWT verification (HS256 with the secret; RS256, PS256, ES256, EdDSA with
// public keys from realtime/jwt_keys.h) and HS256 signing for the stock
// authenticator. Loop thread, but for set_public_keys().
//
// The header's alg decides which key may check the token and each alg has
// exactly one kind of key, so "none" or an alg swap can never skip or
// weaken the check.
#include "realtime/jwt_authenticator.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <limits>

#include "realtime/base64.h"
#include "realtime/digest.h"

namespace realtime {
namespace {

Status refuse(std::string why) { return Status::unauthorized(std::move(why)); }

// A NumericDate claim as whole seconds, or nullopt if absent/not a number.
std::optional<std::int64_t> seconds_claim(const Json& claims, std::string_view name) {
  const Json* v = claims.find(name);
  if (!v || !v->is_number()) return std::nullopt;
  if (v->is_int()) return v->as_int();
  const double d = v->as_double();
  if (!std::isfinite(d) || std::abs(d) > 1e15) return std::nullopt;
  return static_cast<std::int64_t>(std::floor(d));
}

std::string_view bearer(std::string_view header) {
  constexpr std::string_view kPrefix = "Bearer ";
  if (header.size() <= kPrefix.size()) return {};
  for (std::size_t i = 0; i < kPrefix.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(header[i])) != std::tolower(static_cast<unsigned char>(kPrefix[i])))
      return {};
  return header.substr(kPrefix.size());
}

bool same_text_ignoring_case(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

// Whether a page at the handshake's Origin may use the cookie: no Origin
// (not a web page), a listed origin, or the server's own (scheme://Host,
// with the scheme's default port optional).
bool cookie_origin_allowed(const Handshake& handshake, const std::vector<std::string>& listed) {
  auto origin = handshake.headers.find("origin");
  if (origin == handshake.headers.end()) return true;
  const std::string_view o = origin->second;
  if (o != "*" && std::find(listed.begin(), listed.end(), o) != listed.end()) return true;
  auto host = handshake.headers.find("host");
  const auto sep = o.find("://");
  if (host == handshake.headers.end() || sep == std::string_view::npos) return false;
  const std::string_view scheme = o.substr(0, sep);
  const std::string_view authority = o.substr(sep + 3);
  std::string_view h = host->second;
  const std::string_view default_port = same_text_ignoring_case(scheme, "https") ? ":443" : ":80";
  if (h.size() > default_port.size() && h.substr(h.size() - default_port.size()) == default_port &&
      authority.find(':') == std::string_view::npos)
    h.remove_suffix(default_port.size());
  return same_text_ignoring_case(authority, h);
}

}  // namespace

JwtAuthenticator::JwtAuthenticator(JwtOptions options, const Clock& clock)
    : options_(std::move(options)), clock_(clock) {}

Result<Identity> JwtAuthenticator::authenticate(const Handshake& handshake, const Json& auth) const {
  if (const Json* t = auth.find("token"); t && !t->is_null()) {
    if (!t->is_string()) return refuse("auth.token must be a string");
    return verify(t->as_string());
  }
  if (auto q = handshake.query.find(options_.query_name); q != handshake.query.end()) return verify(q->second);
  if (auto h = handshake.headers.find("authorization"); h != handshake.headers.end()) {
    std::string_view token = bearer(h->second);
    if (token.empty()) return refuse("Authorization header is not a Bearer token");
    return verify(token);
  }
  if (std::string c = handshake.cookie(options_.cookie_name); !c.empty()) {
    // Cross-site WebSocket hijacking: any page could otherwise connect as
    // the user whose browser holds the cookie.
    if (!cookie_origin_allowed(handshake, options_.cookie_origins))
      return refuse("the token cookie is not accepted from this origin");
    return verify(c);
  }
  return refuse("no token");
}

void JwtAuthenticator::set_public_keys(std::shared_ptr<const JwtKeySet> keys) {
  std::lock_guard lock(keys_mu_);
  options_.public_keys = std::move(keys);
}

Status JwtAuthenticator::check_signature(std::string_view alg, std::string_view kid, std::string_view signing_input,
                                         std::string_view signature) const {
  if (alg == "HS256") {
    // Only ever the configured secret: a public key is never an HMAC key.
    if (options_.secret.empty()) return refuse("HS256 tokens are not accepted here (no secret configured)");
    if (!realtime::constant_time_equal(signature, realtime::hmac_sha256(options_.secret, signing_input)))
      return refuse("bad signature");
    return Status::ok_status();
  }
  if (alg != "RS256" && alg != "PS256" && alg != "ES256" && alg != "EdDSA")
    return refuse("token alg must be HS256, RS256, PS256, ES256 or EdDSA");
  std::shared_ptr<const JwtKeySet> file_keys;
  {
    std::lock_guard lock(keys_mu_);
    file_keys = options_.public_keys;
  }
  if (!file_keys && !options_.jwks) {
    std::string why = "token alg ";
    why += alg;
    why += " needs public keys and none are configured";
    return refuse(std::move(why));
  }
  Status file_outcome = refuse("no key fits the token");
  if (file_keys) {
    file_outcome = file_keys->verify(alg, kid, signing_input, signature);
    if (file_outcome.ok()) return file_outcome;
  }
  if (!options_.jwks) return refuse(file_outcome.message());
  const auto provider_keys = options_.jwks->keys();
  if (!provider_keys) {
    // A connection now must not wait on the network: refuse, and say when
    // to come back. A provider that was down at start may be back: ask for
    // a fetch (rate-limited like an unknown kid) rather than wait for the
    // retry timer.
    options_.jwks->refresh_for_unknown_kid();
    return Status::unauthorized("the identity provider's keys (JWKS) are not loaded yet; retry shortly");
  }
  Status outcome = provider_keys->verify(alg, kid, signing_input, signature);
  if (outcome.code() == StatusCode::not_found) {
    // A rotation we have not seen yet, or a made-up kid: the cache decides
    // (rate-limited) whether that is worth a fetch.
    const bool refreshing = options_.jwks->refresh_for_unknown_kid();
    return Status::unauthorized(refreshing ? "unknown kid; the signing keys are being refreshed, retry shortly"
                                           : "unknown kid");
  }
  if (!outcome.ok()) return refuse(outcome.message());
  return outcome;
}

Status JwtAuthenticator::check_claims(const Json& claims) const {
  const std::int64_t now = std::chrono::duration_cast<std::chrono::seconds>(clock_.now().time_since_epoch()).count();
  // An embedder's leeway is kept within ten years, so `now -/+ leeway` cannot overflow either.
  const std::int64_t leeway = std::clamp<std::int64_t>(options_.leeway.count(), 0, 10 * 365 * 86400);
  // Claims are any int64 a signer chose: the leeway goes on the side of
  // `now` (a clock reading, far from the int64 limits), never on the
  // claim's, so no comparison can overflow.
  const auto exp = seconds_claim(claims, "exp");
  if (!exp) return refuse("token has no exp");
  if (now - leeway > *exp) return refuse("token expired");
  if (claims.find("nbf")) {
    const auto nbf = seconds_claim(claims, "nbf");
    if (!nbf) return refuse("nbf is not a number");
    if (now + leeway < *nbf) return refuse("token not valid yet");
  }
  if (!options_.issuer.empty() && claims["iss"] != Json(options_.issuer)) return refuse("token issuer (iss) is not accepted");
  if (!options_.audiences.empty()) {
    const Json& aud = claims["aud"];
    auto accepted = [&](const Json& one) {
      return one.is_string() &&
             std::find(options_.audiences.begin(), options_.audiences.end(), one.as_string()) != options_.audiences.end();
    };
    bool match = accepted(aud);
    if (aud.is_array()) match = std::any_of(aud.as_array().begin(), aud.as_array().end(), accepted);
    if (!match) return refuse("token audience (aud) is not accepted");
  }
  return Status::ok_status();
}

Result<Identity> JwtAuthenticator::verify(std::string_view token) const {
  if (token.size() > 8192) return refuse("token too long");
  const auto dot1 = token.find('.');
  const auto dot2 = dot1 == std::string_view::npos ? dot1 : token.find('.', dot1 + 1);
  if (dot2 == std::string_view::npos || token.find('.', dot2 + 1) != std::string_view::npos)
    return refuse("malformed token");
  const std::string_view signing_input = token.substr(0, dot2);
  const auto header = realtime::base64url_decode(token.substr(0, dot1));
  const auto payload = realtime::base64url_decode(token.substr(dot1 + 1, dot2 - dot1 - 1));
  const auto signature = realtime::base64url_decode(token.substr(dot2 + 1));
  if (!header || !payload || !signature) return refuse("malformed token");

  auto header_json = Json::parse(*header, 8);
  if (!header_json.ok() || !header_json->is_object()) return refuse("token header is not a JSON object");
  const Json& alg = (*header_json)["alg"];
  if (!alg.is_string()) return refuse("token header has no alg");
  // RFC 7515: a critical extension this server does not know must fail.
  if (header_json->find("crit")) return refuse("token header has crit extensions, none of which are supported");
  const Json& kid = (*header_json)["kid"];
  if (!kid.is_null() && !kid.is_string()) return refuse("token kid must be a string");
  if (Status s = check_signature(alg.as_string(), kid.is_string() ? std::string_view(kid.as_string()) : std::string_view(),
                                 signing_input, *signature);
      !s.ok())
    return s;

  auto claims = Json::parse(*payload, 16);
  if (!claims.ok() || !claims->is_object()) return refuse("token claims are not a JSON object");
  if (Status s = check_claims(*claims); !s.ok()) return s;

  const Json& sub = (*claims)[options_.user_claim];
  if (!sub.is_string() || sub.as_string().empty() || sub.as_string().size() > 128) {
    std::string why = options_.user_claim;
    why += " must be a string of 1 to 128 bytes";
    return refuse(std::move(why));
  }
  Identity id;
  id.user_id = sub.as_string();
  const Json& name = (*claims)[options_.name_claim];
  id.name = name.is_string() && !name.as_string().empty() ? name.as_string() : id.user_id;
  const Json& role = (*claims)[options_.role_claim];
  id.role = role.is_string() && !role.as_string().empty() ? role.as_string() : "user";
  return id;
}

std::string JwtAuthenticator::sign(const Identity& identity, std::chrono::seconds ttl) const {
  const std::int64_t now = std::chrono::duration_cast<std::chrono::seconds>(clock_.now().time_since_epoch()).count();
  // A lifetime past the end of the int64 range saturates instead of
  // wrapping into the past.
  const std::int64_t ttl_s = std::max<std::int64_t>(ttl.count(), 0);
  const std::int64_t exp = ttl_s > std::numeric_limits<std::int64_t>::max() - now ? std::numeric_limits<std::int64_t>::max()
                                                                                : now + ttl_s;
  Json claims = Json::object({{"sub", identity.user_id},
                              {"name", identity.name.empty() ? identity.user_id : identity.name},
                              {"role", identity.role.empty() ? "user" : identity.role},
                              {"iat", now},
                              {"exp", exp}});
  std::string input = realtime::base64url_encode(R"({"alg":"HS256","typ":"JWT"})") + "." +
                      realtime::base64url_encode(claims.dump());
  std::string sig = realtime::base64url_encode(realtime::hmac_sha256(options_.secret, input));
  return input + "." + sig;
}

}  // namespace realtime
