// make_jwt() and reload_jwt_keys(): see jwt_setup.h.
#include "jwt_setup.h"

#include <string>

#include "file_util.h"

namespace chatd {
namespace {

realtime::JwtKeyLimits key_limits(const Config& config) {
  realtime::JwtKeyLimits limits;
  limits.max_keys = config.jwt.max_keys;
  limits.max_document_bytes = config.jwt.jwks_max_bytes;
  return limits;
}

realtime::Result<std::shared_ptr<const realtime::JwtKeySet>> read_key_file(const Config& config) {
  const std::string& path = config.jwt.public_key_file;
  std::string where = "--jwt-public-key ";
  where += path;
  auto pem = read_small_file(path, config.jwt.jwks_max_bytes);
  if (!pem) {
    where += ": cannot read the file, or it is larger than --jwks-max-bytes (";
    where += std::to_string(config.jwt.jwks_max_bytes);
    where += ")";
    return realtime::Status::bad_request(where);
  }
  auto keys = realtime::JwtKeySet::from_pem(*pem, key_limits(config));
  if (!keys.ok()) return realtime::Status::bad_request(where + ": " + keys.status().message());
  return keys;
}

}  // namespace

realtime::Result<JwtSetup> make_jwt(const Config& config, realtime::EventLoop& loop, const realtime::Clock& clock, Log& log) {
  JwtSetup out;
  realtime::JwtOptions jwt;
  jwt.secret = config.jwt_secret;
  jwt.cookie_origins = config.cors_origins;  // the pages that may also use the chatd_token cookie
  jwt.issuer = config.jwt.issuer;
  jwt.audiences = config.jwt.audiences;
  jwt.user_claim = config.jwt.claim_user;
  jwt.name_claim = config.jwt.claim_name;
  jwt.role_claim = config.jwt.claim_role;
  if (!config.jwt.public_key_file.empty()) {
    auto keys = read_key_file(config);
    if (!keys.ok()) return keys.status();
    log.info("JWT public keys loaded", {{"file", config.jwt.public_key_file}, {"keys", std::to_string((*keys)->size())}});
    jwt.public_keys = std::move(keys).value();
  }
  if (!config.jwt.jwks_url.empty()) {
    JwksFetchOptions fetch;
    fetch.url = config.jwt.jwks_url;
    fetch.timeout = config.jwt.jwks_timeout;
    fetch.max_bytes = config.jwt.jwks_max_bytes;
    out.fetcher = std::make_unique<CurlJwksFetcher>(loop, fetch);
    realtime::JwksOptions jo;
    jo.refresh_interval = config.jwt.jwks_refresh;
    jo.retry_interval = std::min(config.jwt.jwks_refresh, std::chrono::milliseconds(std::chrono::seconds(30)));
    jo.unknown_kid_fetches_per_minute = config.jwt.jwks_kid_fetches_per_minute;
    jo.unknown_kid_fetch_burst = config.jwt.jwks_kid_fetch_burst;
    jo.limits = key_limits(config);
    out.jwks = std::make_unique<realtime::JwksCache>(loop, *out.fetcher, jo);
    realtime::JwksCache* cache = out.jwks.get();
    // The URL is logged (it names the provider), never a token or key.
    out.jwks->set_on_update([&log, cache](const realtime::Status& s, const realtime::JwtKeySet* keys) {
      if (s.ok())
        log.info("JWKS fetched", {{"keys", std::to_string(keys->size())}, {"fetches", std::to_string(cache->fetches_started())}});
      else
        log.warn("JWKS fetch failed; keeping the last good keys",
                 {{"cause", s.message()}, {"keys", keys ? std::to_string(keys->size()) : "none"}});
    });
    jwt.jwks = out.jwks.get();
    loop.post([cache] { cache->start(); });
    log.info("JWKS configured", {{"url", config.jwt.jwks_url}});
  }
  out.auth = std::make_unique<realtime::JwtAuthenticator>(std::move(jwt), clock);
  return out;
}

realtime::Status reload_jwt_keys(const Config& config, realtime::JwtAuthenticator& auth, Log& log) {
  if (config.jwt.public_key_file.empty()) return realtime::Status::ok_status();
  auto keys = read_key_file(config);
  if (!keys.ok()) {
    log.warn("JWT public keys not reloaded; keeping the old ones", {{"cause", keys.status().message()}});
    return keys.status();
  }
  log.info("JWT public keys reloaded", {{"file", config.jwt.public_key_file}, {"keys", std::to_string((*keys)->size())}});
  auth.set_public_keys(std::move(keys).value());
  return realtime::Status::ok_status();
}

}  // namespace chatd
