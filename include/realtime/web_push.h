// Web Push on the sending side: the payload encryption of RFC 8291
// (aes128gcm content coding, RFC 8188, one record) and the VAPID
// authorization of RFC 8292 (an ES256 JWT for the push service's origin).
// What to send; the HTTP request itself is the embedder's (chatd's
// notifications.cpp). Over OpenSSL's libcrypto; no OpenSSL type appears
// here. Pure functions and an immutable key; any thread.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "realtime/clock.h"
#include "realtime/export.h"
#include "realtime/status.h"

namespace realtime {

// A browser's PushSubscription keys, raw (base64url-decoded).
struct WebPushKeys {
  std::string p256dh;  // 65 bytes: an uncompressed P-256 point
  std::string auth;    // 16 bytes
};

// Most plaintext bytes one message carries: a record of 4096 bytes less
// its delimiter and tag, less the header, so the whole body stays within
// the 4096 bytes every push service accepts.
inline constexpr std::size_t kWebPushMaxPlaintext = 4096 - 86 - 1 - 16;

// The aes128gcm body for `plaintext` to the holder of `to`, with a fresh
// sender key pair and salt. bad_request for keys of the wrong shape or a
// plaintext past kWebPushMaxPlaintext.
REALTIME_EXPORT Result<std::string> web_push_encrypt(std::string_view plaintext, const WebPushKeys& to);

// The same with the sender's key pair (32-byte private scalar, 65-byte
// public point) and 16-byte salt given: for checking against RFC 8291's
// worked example. Never reuse a key pair or salt for real messages.
REALTIME_EXPORT Result<std::string> web_push_encrypt_with(std::string_view plaintext, const WebPushKeys& to,
                                                          std::string_view sender_private,
                                                          std::string_view sender_public, std::string_view salt);

// "https://push.example.net" (scheme, host, port if any) of an endpoint
// URL: the JWT's audience. nullopt unless https:// (or http:// when
// `allow_http`, for local tests) with a host.
REALTIME_EXPORT std::optional<std::string> web_push_origin(std::string_view endpoint, bool allow_http = false);

// The application server's P-256 key pair (chatd --vapid-key).
class REALTIME_EXPORT VapidKey {
 public:
  // A PEM private key ("EC PRIVATE KEY" or PKCS#8) on the P-256 curve.
  static Result<VapidKey> from_pem(std::string_view pem);
  // The public key, 65 raw bytes: the browser's applicationServerKey.
  const std::string& public_key() const { return public_key_; }
  // "vapid t=<ES256 JWT {aud, exp, sub}>, k=<base64url public key>" for a
  // request to the push service of `origin` (web_push_origin()).
  // `subject`: a mailto: or https: contact; `expires` at most 24 h ahead.
  Result<std::string> authorization(std::string_view origin, std::string_view subject, Timestamp expires) const;

 private:
  struct Key;
  std::shared_ptr<const Key> key_;
  std::string public_key_;
};

}  // namespace realtime
