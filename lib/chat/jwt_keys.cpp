// realtime/jwt_keys.h over OpenSSL 3's EVP API: PEM and JWK public keys
// become EVP_PKEYs, and signatures are checked with EVP_DigestVerify. No
// primitive is written here; this file only decodes the JOSE encodings
// (base64url members, ES256's raw r||s signature) into what EVP takes.
// Pure functions and immutable sets: any thread.
#include "realtime/jwt_keys.h"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include <optional>

#include "chat/openssl_ptr.h"
#include "realtime/base64.h"
#include "realtime/json.h"

namespace realtime {

struct JwtKeySet::Key {
  std::shared_ptr<EVP_PKEY> pkey;
  JwtKeyType type;
  std::string kid;
  std::string alg;  // the JWK's alg member; empty: any alg of the type
};

namespace {

constexpr int kMinRsaBits = 2048;

using namespace ossl;

std::shared_ptr<EVP_PKEY> own(EVP_PKEY* p) { return std::shared_ptr<EVP_PKEY>(p, EVP_PKEY_free); }

const unsigned char* bytes(std::string_view s) { return reinterpret_cast<const unsigned char*>(s.data()); }

// The type of a key OpenSSL parsed, or nullopt for one JWT cannot use.
std::optional<JwtKeyType> type_of(EVP_PKEY* pkey) {
  switch (EVP_PKEY_get_base_id(pkey)) {
    case EVP_PKEY_RSA:
      if (EVP_PKEY_get_bits(pkey) < kMinRsaBits) return std::nullopt;
      return JwtKeyType::rsa;
    case EVP_PKEY_EC: {
      char group[64] = {};
      std::size_t len = 0;
      if (EVP_PKEY_get_group_name(pkey, group, sizeof group, &len) != 1) return std::nullopt;
      if (std::string_view(group, len) != "prime256v1" && std::string_view(group, len) != "P-256") return std::nullopt;
      return JwtKeyType::ec_p256;
    }
    case EVP_PKEY_ED25519:
      return JwtKeyType::ed25519;
    default:
      return std::nullopt;
  }
}

std::optional<JwtKeyType> type_for_alg(std::string_view alg) {
  if (alg == "RS256" || alg == "PS256") return JwtKeyType::rsa;
  if (alg == "ES256") return JwtKeyType::ec_p256;
  if (alg == "EdDSA") return JwtKeyType::ed25519;
  return std::nullopt;
}

std::size_t count_of(std::string_view text, std::string_view what) {
  std::size_t n = 0;
  for (auto at = text.find(what); at != std::string_view::npos; at = text.find(what, at + what.size())) ++n;
  return n;
}

// A base64url JWK member as bytes (nullopt: absent, not a string, not
// base64url, empty, or longer than max).
std::optional<std::string> member_bytes(const Json& jwk, std::string_view name, std::size_t max) {
  const Json* v = jwk.find(name);
  if (!v || !v->is_string() || v->as_string().empty() || v->as_string().size() > max * 4 / 3 + 4) return std::nullopt;
  auto b = base64url_decode(v->as_string());
  if (!b || b->empty() || b->size() > max) return std::nullopt;
  return b;
}

EVP_PKEY* from_params(const char* type, OSSL_PARAM_BLD* bld) {
  ParamPtr params(OSSL_PARAM_BLD_to_param(bld));
  PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr));
  EVP_PKEY* pkey = nullptr;
  if (!params || !ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      EVP_PKEY_fromdata(ctx.get(), &pkey, EVP_PKEY_PUBLIC_KEY, params.get()) != 1)
    return nullptr;
  return pkey;
}

EVP_PKEY* rsa_from_jwk(const Json& jwk) {
  auto n = member_bytes(jwk, "n", 1024);  // up to 8192-bit moduli
  auto e = member_bytes(jwk, "e", 16);
  if (!n || !e) return nullptr;
  BnPtr bn_n(BN_bin2bn(bytes(*n), static_cast<int>(n->size()), nullptr));
  BnPtr bn_e(BN_bin2bn(bytes(*e), static_cast<int>(e->size()), nullptr));
  ParamBldPtr bld(OSSL_PARAM_BLD_new());
  if (!bn_n || !bn_e || !bld || OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_N, bn_n.get()) != 1 ||
      OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_E, bn_e.get()) != 1)
    return nullptr;
  return from_params("RSA", bld.get());
}

EVP_PKEY* ec_from_jwk(const Json& jwk) {
  if (jwk["crv"] != Json("P-256")) return nullptr;
  auto x = member_bytes(jwk, "x", 32);
  auto y = member_bytes(jwk, "y", 32);
  if (!x || !y || x->size() != 32 || y->size() != 32) return nullptr;
  // The uncompressed point encoding; OpenSSL checks it is on the curve.
  std::string point = "\x04";
  point += *x;
  point += *y;
  ParamBldPtr bld(OSSL_PARAM_BLD_new());
  if (!bld || OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) != 1 ||
      OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(), point.size()) != 1)
    return nullptr;
  return from_params("EC", bld.get());
}

EVP_PKEY* okp_from_jwk(const Json& jwk) {
  if (jwk["crv"] != Json("Ed25519")) return nullptr;
  auto x = member_bytes(jwk, "x", 32);
  if (!x || x->size() != 32) return nullptr;
  return EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, bytes(*x), x->size());
}

// ES256 signs as raw r||s (RFC 7518 3.4); EVP wants a DER ECDSA-Sig-Value.
std::optional<std::string> es256_to_der(std::string_view raw) {
  if (raw.size() != 64) return std::nullopt;
  EcdsaSigPtr sig(ECDSA_SIG_new());
  BIGNUM* r = BN_bin2bn(bytes(raw), 32, nullptr);
  BIGNUM* s = BN_bin2bn(bytes(raw.substr(32)), 32, nullptr);
  if (!sig || !r || !s || ECDSA_SIG_set0(sig.get(), r, s) != 1) {
    BN_free(r);
    BN_free(s);
    return std::nullopt;
  }
  unsigned char* der = nullptr;
  const int len = i2d_ECDSA_SIG(sig.get(), &der);
  if (len <= 0) return std::nullopt;
  std::string out(reinterpret_cast<const char*>(der), static_cast<std::size_t>(len));
  OPENSSL_free(der);
  return out;
}

bool verify_with(const JwtKeySet::Key& key, std::string_view alg, std::string_view input, std::string_view signature) {
  MdCtxPtr md(EVP_MD_CTX_new());
  if (!md) return false;
  EVP_PKEY_CTX* pctx = nullptr;  // owned by md
  std::string der;
  bool ok = false;
  if (key.type == JwtKeyType::ed25519) {
    ok = EVP_DigestVerifyInit(md.get(), nullptr, nullptr, nullptr, key.pkey.get()) == 1;
  } else {
    ok = EVP_DigestVerifyInit(md.get(), &pctx, EVP_sha256(), nullptr, key.pkey.get()) == 1;
    if (ok && alg == "PS256")
      ok = EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1 &&
           EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) == 1;
    if (ok && key.type == JwtKeyType::ec_p256) {
      auto d = es256_to_der(signature);
      if (!d) return false;
      der = std::move(*d);
      signature = der;
    }
  }
  ok = ok && EVP_DigestVerify(md.get(), bytes(signature), signature.size(), bytes(input), input.size()) == 1;
  ERR_clear_error();  // a failed check leaves errors on this thread's queue
  return ok;
}

}  // namespace

JwtKeySet::~JwtKeySet() = default;

Result<std::shared_ptr<const JwtKeySet>> JwtKeySet::from_pem(std::string_view pem, const JwtKeyLimits& limits) {
  if (pem.size() > limits.max_document_bytes)
    return Status::bad_request("the public key file is larger than " + std::to_string(limits.max_document_bytes) + " bytes");
  const std::size_t blocks = count_of(pem, "-----BEGIN ");
  const std::size_t public_blocks = count_of(pem, "-----BEGIN PUBLIC KEY-----");
  if (public_blocks == 0) return Status::bad_request("no PUBLIC KEY block in the public key file");
  if (blocks != public_blocks)
    return Status::bad_request("the public key file must hold only PUBLIC KEY blocks (no private keys or certificates)");
  if (public_blocks > limits.max_keys)
    return Status::bad_request("the public key file holds more than " + std::to_string(limits.max_keys) + " keys");
  std::shared_ptr<JwtKeySet> set(new JwtKeySet());
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) return Status::internal("out of memory");
  for (std::size_t i = 0; i < public_blocks; ++i) {
    auto pkey = own(PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr));
    ERR_clear_error();
    std::string which = "key ";
    which += std::to_string(i + 1);
    if (!pkey) return Status::bad_request(which + " of the public key file is not a valid PUBLIC KEY");
    auto type = type_of(pkey.get());
    if (!type)
      return Status::bad_request(which + " of the public key file is not RSA (2048 bits or more), EC P-256 or Ed25519");
    set->keys_.push_back(std::make_shared<const Key>(Key{std::move(pkey), *type, "", ""}));
  }
  return std::shared_ptr<const JwtKeySet>(std::move(set));
}

Result<std::shared_ptr<const JwtKeySet>> JwtKeySet::from_jwks(std::string_view json, const JwtKeyLimits& limits) {
  if (json.size() > limits.max_document_bytes)
    return Status::bad_request("the JWKS document is larger than " + std::to_string(limits.max_document_bytes) + " bytes");
  auto doc = Json::parse(json, 8);
  if (!doc.ok() || !doc->is_object()) return Status::bad_request("the JWKS document is not a JSON object");
  const Json* keys = doc->find("keys");
  if (!keys || !keys->is_array()) return Status::bad_request("the JWKS document has no keys array");
  if (keys->size() > limits.max_keys)
    return Status::bad_request("the JWKS document holds more than " + std::to_string(limits.max_keys) + " keys");
  std::shared_ptr<JwtKeySet> set(new JwtKeySet());
  for (const Json& jwk : keys->as_array()) {
    if (!jwk.is_object()) continue;
    if (const Json* use = jwk.find("use"); use && *use != Json("sig")) continue;
    const Json& kty = jwk["kty"];
    EVP_PKEY* raw = nullptr;
    if (kty == Json("RSA")) raw = rsa_from_jwk(jwk);
    else if (kty == Json("EC")) raw = ec_from_jwk(jwk);
    else if (kty == Json("OKP")) raw = okp_from_jwk(jwk);
    ERR_clear_error();
    auto pkey = own(raw);
    if (!pkey) continue;
    auto type = type_of(pkey.get());
    if (!type) continue;
    const Json& kid = jwk["kid"];
    const Json& alg = jwk["alg"];
    set->keys_.push_back(std::make_shared<const Key>(Key{std::move(pkey), *type, kid.is_string() ? kid.as_string() : "",
                                                         alg.is_string() ? alg.as_string() : ""}));
  }
  if (set->keys_.empty()) return Status::bad_request("the JWKS document has no usable signing key");
  return std::shared_ptr<const JwtKeySet>(std::move(set));
}

bool JwtKeySet::has_kid(std::string_view kid) const {
  if (kid.empty()) return false;
  for (const auto& k : keys_)
    if (k->kid == kid) return true;
  return false;
}

Status JwtKeySet::verify(std::string_view alg, std::string_view kid, std::string_view signing_input,
                         std::string_view signature) const {
  const auto type = type_for_alg(alg);
  if (!type) return Status::unauthorized("token alg is not one of RS256, PS256, ES256, EdDSA");
  bool any_kids = false;
  for (const auto& k : keys_) any_kids = any_kids || !k->kid.empty();
  const bool by_kid = !kid.empty() && any_kids;
  if (by_kid && !has_kid(kid)) return Status::not_found("no key has the token's kid");
  bool fitting = false;
  for (const auto& k : keys_) {
    if (by_kid && k->kid != kid) continue;
    if (k->type != *type || (!k->alg.empty() && k->alg != alg)) continue;
    fitting = true;
    if (verify_with(*k, alg, signing_input, signature)) return Status::ok_status();
  }
  if (!fitting) return Status::unauthorized("no key of the token's kid fits its alg");
  return Status::unauthorized("bad signature");
}

}  // namespace realtime
