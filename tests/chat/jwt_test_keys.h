// Keys the JWT tests make with OpenSSL's EVP API, and tokens they sign: an
// identity provider in a header. Test-only; any thread.
#pragma once

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include <memory>
#include <stdexcept>
#include <string>

#include "realtime/base64.h"
#include "realtime/json.h"

namespace realtime::test {

// One generated key pair of a JWT alg's type.
class TestKey {
 public:
  // alg: RS256, PS256 (RSA 2048), ES256 (P-256), EdDSA (Ed25519).
  explicit TestKey(std::string alg, std::string kid = "", int rsa_bits = 2048) : alg_(std::move(alg)), kid_(std::move(kid)) {
    EVP_PKEY* k = nullptr;
    if (alg_ == "RS256" || alg_ == "PS256") k = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(rsa_bits));
    else if (alg_ == "ES256") k = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
    else if (alg_ == "EdDSA") k = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
    if (!k) throw std::runtime_error("keygen failed");
    key_.reset(k, EVP_PKEY_free);
  }
  const std::string& alg() const { return alg_; }
  const std::string& kid() const { return kid_; }

  // The public key as a PEM PUBLIC KEY block.
  std::string pem() const {
    BIO* bio = BIO_new(BIO_s_mem());
    PEM_write_bio_PUBKEY(bio, key_.get());
    char* data = nullptr;
    long n = BIO_get_mem_data(bio, &data);
    std::string out(data, static_cast<std::size_t>(n));
    BIO_free(bio);
    return out;
  }

  // The public key as a JWK object.
  Json jwk() const {
    Json j = Json::object();
    if (!kid_.empty()) j.set("kid", kid_);
    j.set("use", "sig");
    if (alg_ == "RS256" || alg_ == "PS256") {
      j.set("kty", "RSA");
      j.set("n", bn_param(OSSL_PKEY_PARAM_RSA_N, 0));
      j.set("e", bn_param(OSSL_PKEY_PARAM_RSA_E, 0));
    } else if (alg_ == "ES256") {
      j.set("kty", "EC");
      j.set("crv", "P-256");
      j.set("x", bn_param(OSSL_PKEY_PARAM_EC_PUB_X, 32));
      j.set("y", bn_param(OSSL_PKEY_PARAM_EC_PUB_Y, 32));
    } else {
      unsigned char raw[32];
      size_t len = sizeof raw;
      EVP_PKEY_get_raw_public_key(key_.get(), raw, &len);
      j.set("kty", "OKP");
      j.set("crv", "Ed25519");
      j.set("x", base64url_encode(std::string(reinterpret_cast<char*>(raw), len)));
    }
    return j;
  }

  // A compact token: header {"alg","kid"?} plus `extra_header` members,
  // the claims as given, signed with this key under `alg` (default: the
  // key's own).
  std::string token(const Json& claims, std::string alg = "") const {
    if (alg.empty()) alg = alg_;
    Json header = Json::object({{"alg", alg}, {"typ", "JWT"}});
    if (!kid_.empty()) header.set("kid", kid_);
    std::string input = base64url_encode(header.dump());
    input += '.';
    input += base64url_encode(claims.dump());
    return input + "." + base64url_encode(sign(input, alg));
  }

  // The raw JWS signature of `input`.
  std::string sign(const std::string& input, const std::string& alg) const {
    EVP_MD_CTX* md = EVP_MD_CTX_new();
    EVP_PKEY_CTX* pctx = nullptr;
    const bool ed = alg_ == "EdDSA";
    EVP_DigestSignInit(md, &pctx, ed ? nullptr : EVP_sha256(), nullptr, key_.get());
    if (alg == "PS256") {
      EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING);
      EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST);
    }
    size_t len = 0;
    EVP_DigestSign(md, nullptr, &len, reinterpret_cast<const unsigned char*>(input.data()), input.size());
    std::string sig(len, '\0');
    EVP_DigestSign(md, reinterpret_cast<unsigned char*>(sig.data()), &len,
                   reinterpret_cast<const unsigned char*>(input.data()), input.size());
    sig.resize(len);
    EVP_MD_CTX_free(md);
    if (alg_ == "ES256") return der_to_raw(sig);
    return sig;
  }

 private:
  std::string bn_param(const char* name, int pad) const {
    BIGNUM* bn = nullptr;
    EVP_PKEY_get_bn_param(key_.get(), name, &bn);
    std::string out(pad ? static_cast<std::size_t>(pad) : static_cast<std::size_t>(BN_num_bytes(bn)), '\0');
    BN_bn2binpad(bn, reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(out.size()));
    BN_free(bn);
    return base64url_encode(out);
  }
  static std::string der_to_raw(const std::string& der) {
    const unsigned char* p = reinterpret_cast<const unsigned char*>(der.data());
    ECDSA_SIG* sig = d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der.size()));
    std::string out(64, '\0');
    BN_bn2binpad(ECDSA_SIG_get0_r(sig), reinterpret_cast<unsigned char*>(out.data()), 32);
    BN_bn2binpad(ECDSA_SIG_get0_s(sig), reinterpret_cast<unsigned char*>(out.data()) + 32, 32);
    ECDSA_SIG_free(sig);
    return out;
  }

  std::string alg_;
  std::string kid_;
  std::shared_ptr<EVP_PKEY> key_;
};

inline Json jwks_of(std::initializer_list<const TestKey*> keys) {
  Json arr = Json::array();
  for (const TestKey* k : keys) arr.push(k->jwk());
  return Json::object({{"keys", arr}});
}

}  // namespace realtime::test
