// JwtKeySet: the public keys that asymmetric JWTs (RS256, PS256, ES256,
// EdDSA) are checked against, read from PEM text (a --jwt-public-key file)
// or from a JWKS document (an identity provider's /.well-known/jwks.json).
//
// Built once (by the app at start or on reload, by JwksCache after a fetch)
// and then only read: an immutable set, shared through shared_ptr<const>,
// so any thread may verify with it while another builds its replacement.
// Parsing is pure (no I/O); OpenSSL's EVP API does all the cryptography.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "realtime/export.h"
#include "realtime/status.h"

namespace realtime {

// Bounds on what a key source may make the server hold.
struct JwtKeyLimits {
  // Keys in one set; a JWKS or PEM file with more is refused whole (a
  // provider publishes a handful; thousands would be a mistake or an attack).
  std::size_t max_keys = 32;
  // Bytes of one JWKS document or PEM file; a larger one is refused whole.
  std::size_t max_document_bytes = 256 * 1024;
};

// The key types a JWT `alg` may be checked with. An alg is only ever tried
// with a key of its own type, which is what defeats alg confusion (an RSA
// public key presented as an HS256 secret).
enum class JwtKeyType { rsa, ec_p256, ed25519 };

class REALTIME_EXPORT JwtKeySet {
 public:
  ~JwtKeySet();
  JwtKeySet(const JwtKeySet&) = delete;
  JwtKeySet& operator=(const JwtKeySet&) = delete;

  // Every "PUBLIC KEY" (SubjectPublicKeyInfo) block in `pem`, at least one.
  // Keys from PEM have no kid: a token's kid does not select among them,
  // each key of the token alg's type is tried. RSA keys under 2048 bits and
  // other key types are refused (bad_request naming the block).
  static Result<std::shared_ptr<const JwtKeySet>> from_pem(std::string_view pem, const JwtKeyLimits& limits = {});

  // The usable keys of a JWKS document ({"keys":[...]}): kty RSA, EC on
  // P-256 and OKP Ed25519 with use "sig" or no use. Keys of other types or
  // curves, encryption keys and keys with malformed members are skipped (a
  // provider may publish keys for other consumers); a document that is not
  // JSON, has no usable key or breaks a limit is refused.
  static Result<std::shared_ptr<const JwtKeySet>> from_jwks(std::string_view json, const JwtKeyLimits& limits = {});

  // Checks `signature` over `signing_input` (the token's "header.payload")
  // for `alg` with the key `kid` selects: the key with that kid when `kid`
  // is not empty and the set has kids, else every key of alg's type (a
  // bounded number). A key whose JWK names an alg is only used for it.
  // unauthorized when the alg is not one of RS256/PS256/ES256/EdDSA, no key
  // fits, or the signature is wrong; not_found when the set has kids and
  // none is `kid` (the caller may refresh the set). Any thread.
  Status verify(std::string_view alg, std::string_view kid, std::string_view signing_input,
                std::string_view signature) const;

  // Whether some key has exactly this kid (empty: never).
  bool has_kid(std::string_view kid) const;
  std::size_t size() const { return keys_.size(); }

  struct Key;  // one parsed key (OpenSSL handle, kid, type, JWK alg)

 private:
  JwtKeySet() = default;
  std::vector<std::shared_ptr<const Key>> keys_;
};

}  // namespace realtime
