// JWT HS256 verification and signing for the stock authenticator.
//
// Only HS256 is accepted: the header's alg is checked, so "none" or an
// asymmetric alg can never be used to skip the HMAC.
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

Result<Identity> JwtAuthenticator::verify(std::string_view token) const {
  if (options_.secret.empty()) return refuse("no JWT secret configured");
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
  if (!header_json.ok() || (*header_json)["alg"] != Json("HS256")) return refuse("token alg must be HS256");
  if (!realtime::constant_time_equal(*signature, realtime::hmac_sha256(options_.secret, signing_input)))
    return refuse("bad signature");

  auto claims = Json::parse(*payload, 16);
  if (!claims.ok() || !claims->is_object()) return refuse("token claims are not a JSON object");
  const std::int64_t now = std::chrono::duration_cast<std::chrono::seconds>(clock_.now().time_since_epoch()).count();
  // An embedder's leeway is kept within ten years, so `now -/+ leeway` cannot overflow either.
  const std::int64_t leeway = std::clamp<std::int64_t>(options_.leeway.count(), 0, 10 * 365 * 86400);
  // Claims are any int64 a signer chose: the leeway goes on the side of
  // `now` (a clock reading, far from the int64 limits), never on the
  // claim's, so no comparison can overflow.
  const auto exp = seconds_claim(*claims, "exp");
  if (!exp) return refuse("token has no exp");
  if (now - leeway > *exp) return refuse("token expired");
  if (claims->find("nbf")) {
    const auto nbf = seconds_claim(*claims, "nbf");
    if (!nbf) return refuse("nbf is not a number");
    if (now + leeway < *nbf) return refuse("token not valid yet");
  }

  const Json& sub = (*claims)["sub"];
  if (!sub.is_string() || sub.as_string().empty() || sub.as_string().size() > 128)
    return refuse("sub must be a string of 1 to 128 bytes");
  Identity id;
  id.user_id = sub.as_string();
  const Json& name = (*claims)["name"];
  id.name = name.is_string() && !name.as_string().empty() ? name.as_string() : id.user_id;
  const Json& role = (*claims)["role"];
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
