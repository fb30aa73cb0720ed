// realtime/web_push.h: the aes128gcm body against RFC 8291's worked
// example (Appendix A) byte for byte, the shape checks, and a VAPID token
// whose ES256 signature OpenSSL verifies with the public key.
#include "realtime/web_push.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "realtime/base64.h"
#include "realtime/json.h"

namespace realtime {
namespace {

std::string b64(std::string_view s) { return *base64url_decode(s); }

// RFC 8291 Appendix A.
constexpr std::string_view kPlaintext = "When I grow up, I want to be a watermelon";
constexpr std::string_view kAsPrivate = "yfWPiYE-n46HLnH0KqZOF1fJJU3MYrct3AELtAQ-oRw";
constexpr std::string_view kAsPublic =
    "BP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A8";
constexpr std::string_view kUaPublic =
    "BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4";
constexpr std::string_view kAuth = "BTBZMqHH6r4Tts7J_aSIgg";
constexpr std::string_view kSalt = "DGv6ra1nlYgDCS1FRnbzlw";
constexpr std::string_view kBody =
    "DGv6ra1nlYgDCS1FRnbzlwAAEABBBP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A_"
    "yl95bQpu6cVPTpK4Mqgkf1CXztLVBSt2Ks3oZwbuwXPXLWyouBWLVWGNWQexSgSxsj_Qulcy4a-fN";

TEST(WebPush, EncryptsRfc8291AppendixAByteForByte) {
  auto body = web_push_encrypt_with(kPlaintext, {b64(kUaPublic), b64(kAuth)}, b64(kAsPrivate), b64(kAsPublic), b64(kSalt));
  ASSERT_TRUE(body.ok()) << body.status().message();
  EXPECT_EQ(base64url_encode(*body), kBody);
}

TEST(WebPush, AFreshKeyAndSaltEachTimeInTheSameShape) {
  const WebPushKeys to{b64(kUaPublic), b64(kAuth)};
  auto a = web_push_encrypt(kPlaintext, to);
  auto b = web_push_encrypt(kPlaintext, to);
  ASSERT_TRUE(a.ok() && b.ok());
  // salt 16, rs 4, idlen 1, key 65; the record: text, delimiter, tag.
  EXPECT_EQ(a->size(), 86 + kPlaintext.size() + 1 + 16);
  EXPECT_EQ(a->substr(16, 5), std::string("\x00\x00\x10\x00\x41", 5));
  EXPECT_NE(a->substr(0, 16), b->substr(0, 16)) << "a new salt";
  EXPECT_NE(a->substr(21, 65), b->substr(21, 65)) << "a new sender key";
}

TEST(WebPush, RefusesKeysOfTheWrongShapeAndTooLongAPayload) {
  const WebPushKeys good{b64(kUaPublic), b64(kAuth)};
  EXPECT_EQ(web_push_encrypt("x", {good.p256dh.substr(1), good.auth}).status().code(), StatusCode::bad_request);
  EXPECT_EQ(web_push_encrypt("x", {good.p256dh, good.auth.substr(2)}).status().code(), StatusCode::bad_request);
  std::string off_curve = good.p256dh;
  off_curve[40] ^= 1;
  EXPECT_FALSE(web_push_encrypt("x", {off_curve, good.auth}).ok()) << "a point off the curve";
  EXPECT_TRUE(web_push_encrypt(std::string(kWebPushMaxPlaintext, 'x'), good).ok());
  EXPECT_EQ(web_push_encrypt(std::string(kWebPushMaxPlaintext + 1, 'x'), good).status().code(),
            StatusCode::payload_too_large);
}

TEST(WebPush, OriginOfAnEndpoint) {
  EXPECT_EQ(web_push_origin("https://fcm.googleapis.com/fcm/send/abc"), "https://fcm.googleapis.com");
  EXPECT_EQ(web_push_origin("https://push.example.net:8443/x?y"), "https://push.example.net:8443");
  EXPECT_EQ(web_push_origin("http://127.0.0.1:9000/p/1"), std::nullopt) << "plain http only when allowed";
  EXPECT_EQ(web_push_origin("http://127.0.0.1:9000/p/1", true), "http://127.0.0.1:9000");
  EXPECT_EQ(web_push_origin("https:///nohost"), std::nullopt);
  EXPECT_EQ(web_push_origin("https://user@evil.example/x"), std::nullopt);
  EXPECT_EQ(web_push_origin("ftp://x/y"), std::nullopt);
}

std::string pem_of(EVP_PKEY* key) {
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr);
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio, &data);
  std::string out(data, static_cast<std::size_t>(n));
  BIO_free(bio);
  return out;
}

TEST(Vapid, ATokenForTheOriginThatThePublicKeyVerifies) {
  EVP_PKEY* key = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
  ASSERT_NE(key, nullptr);
  auto vapid = VapidKey::from_pem(pem_of(key));
  ASSERT_TRUE(vapid.ok()) << vapid.status().message();
  ASSERT_EQ(vapid->public_key().size(), 65u);
  const Timestamp exp{std::chrono::milliseconds(1'900'000'000'000)};
  auto auth = vapid->authorization("https://push.example.net", "mailto:ops@example.com", exp);
  ASSERT_TRUE(auth.ok());
  const std::string prefix = "vapid t=";
  ASSERT_EQ(auth->rfind(prefix, 0), 0u);
  const auto comma = auth->find(", k=");
  ASSERT_NE(comma, std::string::npos);
  EXPECT_EQ(auth->substr(comma + 4), base64url_encode(vapid->public_key()));
  const std::string jwt = auth->substr(prefix.size(), comma - prefix.size());
  const auto dot1 = jwt.find('.'), dot2 = jwt.rfind('.');
  auto claims = Json::parse(b64(jwt.substr(dot1 + 1, dot2 - dot1 - 1)));
  ASSERT_TRUE(claims.ok());
  EXPECT_EQ((*claims)["aud"], Json("https://push.example.net"));
  EXPECT_EQ((*claims)["sub"], Json("mailto:ops@example.com"));
  EXPECT_EQ((*claims)["exp"], Json(1'900'000'000LL));
  EXPECT_EQ(*Json::parse(b64(jwt.substr(0, dot1))), Json::object({{"typ", "JWT"}, {"alg", "ES256"}}));

  // r || s back to DER, and OpenSSL checks it with the key.
  const std::string raw = b64(jwt.substr(dot2 + 1));
  ASSERT_EQ(raw.size(), 64u);
  ECDSA_SIG* sig = ECDSA_SIG_new();
  ECDSA_SIG_set0(sig, BN_bin2bn(reinterpret_cast<const unsigned char*>(raw.data()), 32, nullptr),
                 BN_bin2bn(reinterpret_cast<const unsigned char*>(raw.data()) + 32, 32, nullptr));
  unsigned char* der = nullptr;
  const int der_len = i2d_ECDSA_SIG(sig, &der);
  const std::string input = jwt.substr(0, dot2);
  auto verify = [&](std::string_view text) {
    EVP_MD_CTX* md = EVP_MD_CTX_new();
    EVP_DigestVerifyInit(md, nullptr, EVP_sha256(), nullptr, key);
    const int r = EVP_DigestVerify(md, der, static_cast<std::size_t>(der_len),
                                   reinterpret_cast<const unsigned char*>(text.data()), text.size());
    EVP_MD_CTX_free(md);
    return r == 1;
  };
  EXPECT_TRUE(verify(input));
  EXPECT_FALSE(verify(input + "x"));
  OPENSSL_free(der);
  ECDSA_SIG_free(sig);
  EVP_PKEY_free(key);
}

TEST(Vapid, RefusesKeysThatAreNotP256) {
  EVP_PKEY* p384 = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-384");
  EXPECT_EQ(VapidKey::from_pem(pem_of(p384)).status().code(), StatusCode::bad_request);
  EVP_PKEY_free(p384);
  EXPECT_EQ(VapidKey::from_pem("not a key").status().code(), StatusCode::bad_request);
}

}  // namespace
}  // namespace realtime
