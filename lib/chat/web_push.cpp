// Web Push encryption (RFC 8291 with RFC 8188) and VAPID (RFC 8292):
// realtime/web_push.h. Every primitive is OpenSSL 3 EVP: ECDH
// (EVP_PKEY_derive), HKDF-SHA256 (EVP_KDF), AES-128-GCM (EVP_Cipher) and
// ES256 signatures (EVP_DigestSign); this file only strings the RFC's
// steps together.
#include "realtime/web_push.h"

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>

#include <cstring>

#include "chat/openssl_ptr.h"
#include "realtime/base64.h"
#include "realtime/json.h"
#include "realtime/random.h"

namespace realtime {
namespace {

using namespace ossl;

constexpr std::size_t kPointBytes = 65;  // 0x04 || X || Y
constexpr std::uint32_t kRecordSize = 4096;

const unsigned char* bytes(std::string_view s) { return reinterpret_cast<const unsigned char*>(s.data()); }

// A P-256 key from its parts: the public point, and the private scalar when given.
PkeyPtr p256_key(std::string_view public_point, std::string_view private_scalar = {}) {
  ParamBldPtr bld(OSSL_PARAM_BLD_new());
  BnPtr priv(private_scalar.empty() ? nullptr
                                    : BN_bin2bn(bytes(private_scalar), static_cast<int>(private_scalar.size()), nullptr));
  if (!bld || OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) != 1 ||
      OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, public_point.data(), public_point.size()) != 1)
    return nullptr;
  if (!private_scalar.empty() && (!priv || OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_PRIV_KEY, priv.get()) != 1))
    return nullptr;
  ParamPtr params(OSSL_PARAM_BLD_to_param(bld.get()));
  PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr));
  EVP_PKEY* pkey = nullptr;
  const int selection = private_scalar.empty() ? EVP_PKEY_PUBLIC_KEY : EVP_PKEY_KEYPAIR;
  if (!params || !ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      EVP_PKEY_fromdata(ctx.get(), &pkey, selection, params.get()) != 1)
    return nullptr;
  return PkeyPtr(pkey);
}

std::optional<std::string> public_point_of(EVP_PKEY* pkey) {
  unsigned char buf[kPointBytes + 8];
  std::size_t len = 0;
  if (EVP_PKEY_get_octet_string_param(pkey, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, buf, sizeof buf, &len) != 1 ||
      len != kPointBytes || buf[0] != 0x04)
    return std::nullopt;
  return std::string(reinterpret_cast<const char*>(buf), len);
}

bool is_p256(EVP_PKEY* pkey) {
  char group[64] = {};
  std::size_t len = 0;
  return EVP_PKEY_get_base_id(pkey) == EVP_PKEY_EC &&
         EVP_PKEY_get_group_name(pkey, group, sizeof group, &len) == 1 &&
         (std::strcmp(group, "prime256v1") == 0 || std::strcmp(group, "P-256") == 0);
}

std::optional<std::string> ecdh(EVP_PKEY* mine, EVP_PKEY* theirs) {
  PkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, mine, nullptr));
  std::size_t len = 0;
  if (!ctx || EVP_PKEY_derive_init(ctx.get()) != 1 || EVP_PKEY_derive_set_peer(ctx.get(), theirs) != 1 ||
      EVP_PKEY_derive(ctx.get(), nullptr, &len) != 1)
    return std::nullopt;
  std::string out(len, '\0');
  if (EVP_PKEY_derive(ctx.get(), reinterpret_cast<unsigned char*>(out.data()), &len) != 1) return std::nullopt;
  out.resize(len);
  return out;
}

// HKDF-SHA256 extract-then-expand (RFC 5869) of `length` bytes.
std::optional<std::string> hkdf(std::string_view salt, std::string_view ikm, std::string_view info, std::size_t length) {
  KdfPtr kdf(EVP_KDF_fetch(nullptr, "HKDF", nullptr));
  KdfCtxPtr ctx(kdf ? EVP_KDF_CTX_new(kdf.get()) : nullptr);
  if (!ctx) return std::nullopt;
  char digest[] = "SHA256";
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest, 0),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, const_cast<char*>(salt.data()), salt.size()),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, const_cast<char*>(ikm.data()), ikm.size()),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, const_cast<char*>(info.data()), info.size()),
      OSSL_PARAM_construct_end()};
  std::string out(length, '\0');
  if (EVP_KDF_derive(ctx.get(), reinterpret_cast<unsigned char*>(out.data()), length, params) != 1) return std::nullopt;
  return out;
}

// AES-128-GCM: ciphertext || 16-byte tag.
std::optional<std::string> aes128gcm(std::string_view key, std::string_view nonce, std::string_view plaintext) {
  CipherCtxPtr ctx(EVP_CIPHER_CTX_new());
  if (!ctx || EVP_EncryptInit_ex2(ctx.get(), EVP_aes_128_gcm(), nullptr, nullptr, nullptr) != 1) return std::nullopt;
  std::size_t iv_len = nonce.size();
  OSSL_PARAM iv_params[] = {OSSL_PARAM_construct_size_t(OSSL_CIPHER_PARAM_AEAD_IVLEN, &iv_len), OSSL_PARAM_construct_end()};
  if (EVP_CIPHER_CTX_set_params(ctx.get(), iv_params) != 1 ||
      EVP_EncryptInit_ex2(ctx.get(), nullptr, bytes(key), bytes(nonce), nullptr) != 1)
    return std::nullopt;
  std::string out(plaintext.size() + 16, '\0');
  auto* o = reinterpret_cast<unsigned char*>(out.data());
  int n = 0, tail = 0;
  if (EVP_EncryptUpdate(ctx.get(), o, &n, bytes(plaintext), static_cast<int>(plaintext.size())) != 1 ||
      EVP_EncryptFinal_ex(ctx.get(), o + n, &tail) != 1)
    return std::nullopt;
  OSSL_PARAM tag_params[] = {OSSL_PARAM_construct_octet_string(OSSL_CIPHER_PARAM_AEAD_TAG, o + n + tail, 16),
                             OSSL_PARAM_construct_end()};
  if (EVP_CIPHER_CTX_get_params(ctx.get(), tag_params) != 1) return std::nullopt;
  out.resize(static_cast<std::size_t>(n + tail) + 16);
  return out;
}

Result<std::string> encrypt(std::string_view plaintext, const WebPushKeys& to, EVP_PKEY* sender,
                            std::string_view sender_public, std::string_view salt) {
  PkeyPtr receiver = p256_key(to.p256dh);
  if (!receiver) return Status::bad_request("p256dh is not a P-256 public key");
  auto shared = ecdh(sender, receiver.get());
  if (!shared) return Status::internal("ECDH failed");
  // RFC 8291 section 3.4: the auth secret and both public keys go into
  // the input keying material; RFC 8188 section 2.2 derives the content
  // key and nonce from it under the salt.
  std::string key_info = "WebPush: info";
  key_info += '\0';
  key_info += to.p256dh;
  key_info += sender_public;
  auto ikm = hkdf(to.auth, *shared, key_info, 32);
  auto cek = ikm ? hkdf(salt, *ikm, std::string_view("Content-Encoding: aes128gcm\0", 28), 16) : std::nullopt;
  auto nonce = ikm ? hkdf(salt, *ikm, std::string_view("Content-Encoding: nonce\0", 24), 12) : std::nullopt;
  if (!cek || !nonce) return Status::internal("HKDF failed");
  // One record, the last: the plaintext, then the delimiter 0x02 and no padding.
  std::string record(plaintext);
  record += '\x02';
  auto sealed = aes128gcm(*cek, *nonce, record);
  if (!sealed) return Status::internal("AES-128-GCM failed");
  std::string body(salt);
  for (int shift = 24; shift >= 0; shift -= 8) body += static_cast<char>((kRecordSize >> shift) & 0xFF);
  body += static_cast<char>(sender_public.size());
  body += sender_public;
  body += *sealed;
  return body;
}

Status check_shapes(std::string_view plaintext, const WebPushKeys& to) {
  if (to.p256dh.size() != kPointBytes || to.p256dh[0] != '\x04')
    return Status::bad_request("p256dh must be a 65-byte uncompressed P-256 point");
  if (to.auth.size() != 16) return Status::bad_request("auth must be 16 bytes");
  if (plaintext.size() > kWebPushMaxPlaintext) return Status::payload_too_large("a push message carries at most 3993 bytes");
  return {};
}

}  // namespace

Result<std::string> web_push_encrypt(std::string_view plaintext, const WebPushKeys& to) {
  if (Status s = check_shapes(plaintext, to); !s.ok()) return s;
  PkeyPtr sender(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  if (!sender) return Status::internal("cannot make a P-256 key");
  auto sender_public = public_point_of(sender.get());
  if (!sender_public) return Status::internal("cannot read the P-256 public key");
  return encrypt(plaintext, to, sender.get(), *sender_public, random_bytes(16));
}

Result<std::string> web_push_encrypt_with(std::string_view plaintext, const WebPushKeys& to,
                                          std::string_view sender_private, std::string_view sender_public,
                                          std::string_view salt) {
  if (Status s = check_shapes(plaintext, to); !s.ok()) return s;
  if (salt.size() != 16) return Status::bad_request("the salt must be 16 bytes");
  PkeyPtr sender = p256_key(sender_public, sender_private);
  if (!sender) return Status::bad_request("not a P-256 key pair");
  return encrypt(plaintext, to, sender.get(), sender_public, salt);
}

std::optional<std::string> web_push_origin(std::string_view endpoint, bool allow_http) {
  std::size_t scheme_end = 0;
  if (endpoint.starts_with("https://")) scheme_end = 8;
  else if (allow_http && endpoint.starts_with("http://")) scheme_end = 7;
  else return std::nullopt;
  const std::size_t host_end = endpoint.find_first_of("/?#", scheme_end);
  std::string_view authority = endpoint.substr(scheme_end, host_end == std::string_view::npos ? std::string_view::npos
                                                                                               : host_end - scheme_end);
  if (authority.empty() || authority.find('@') != std::string_view::npos) return std::nullopt;
  return std::string(endpoint.substr(0, scheme_end + authority.size()));
}

struct VapidKey::Key {
  PkeyPtr pkey;
};

Result<VapidKey> VapidKey::from_pem(std::string_view pem) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) return Status::internal("cannot read the key");
  PkeyPtr pkey(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  if (!pkey) return Status::bad_request("not a PEM private key");
  if (!is_p256(pkey.get())) return Status::bad_request("a VAPID key must be on the P-256 curve (prime256v1)");
  auto pub = public_point_of(pkey.get());
  if (!pub) return Status::bad_request("cannot read the key's public point");
  VapidKey out;
  auto key = std::make_shared<Key>();
  key->pkey = std::move(pkey);
  out.key_ = std::move(key);
  out.public_key_ = std::move(*pub);
  return out;
}

Result<std::string> VapidKey::authorization(std::string_view origin, std::string_view subject, Timestamp expires) const {
  const long long exp = std::chrono::duration_cast<std::chrono::seconds>(expires.time_since_epoch()).count();
  std::string input = base64url_encode(R"({"typ":"JWT","alg":"ES256"})");
  input += '.';
  input += base64url_encode(Json::object({{"aud", origin}, {"exp", exp}, {"sub", subject}}).dump());
  MdCtxPtr md(EVP_MD_CTX_new());
  std::size_t der_len = 0;
  if (!md || EVP_DigestSignInit(md.get(), nullptr, EVP_sha256(), nullptr, key_->pkey.get()) != 1 ||
      EVP_DigestSign(md.get(), nullptr, &der_len, bytes(input), input.size()) != 1)
    return Status::internal("cannot sign the VAPID token");
  std::string der(der_len, '\0');
  if (EVP_DigestSign(md.get(), reinterpret_cast<unsigned char*>(der.data()), &der_len, bytes(input), input.size()) != 1)
    return Status::internal("cannot sign the VAPID token");
  // JWS wants r || s, 32 bytes each (RFC 7518 section 3.4), not DER.
  const unsigned char* p = bytes(der);
  EcdsaSigPtr sig(d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der_len)));
  if (!sig) return Status::internal("cannot read the VAPID signature");
  std::string raw(64, '\0');
  auto* r = reinterpret_cast<unsigned char*>(raw.data());
  if (BN_bn2binpad(ECDSA_SIG_get0_r(sig.get()), r, 32) != 32 || BN_bn2binpad(ECDSA_SIG_get0_s(sig.get()), r + 32, 32) != 32)
    return Status::internal("cannot encode the VAPID signature");
  std::string out = "vapid t=";
  out += input;
  out += '.';
  out += base64url_encode(raw);
  out += ", k=";
  out += base64url_encode(public_key_);
  return out;
}

}  // namespace realtime
