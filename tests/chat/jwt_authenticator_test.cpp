#include "realtime/jwt_authenticator.h"

#include <gtest/gtest.h>

#include <limits>

#include "realtime/base64.h"
#include "realtime/digest.h"

namespace realtime {
namespace {

using std::chrono::hours;
using std::chrono::seconds;

class JwtTest : public ::testing::Test {
 protected:
  ManualClock clock{Timestamp{std::chrono::milliseconds{1'800'000'000'000}}};
  JwtAuthenticator auth{JwtOptions{"s3cret"}, clock};

  // A token with arbitrary header and claims, signed with `secret`.
  static std::string forge(const std::string& header, const std::string& claims, const std::string& secret) {
    std::string input = realtime::base64url_encode(header) + "." + realtime::base64url_encode(claims);
    return input + "." + realtime::base64url_encode(realtime::hmac_sha256(secret, input));
  }
  std::int64_t now_s() const { return 1'800'000'000; }
};

TEST_F(JwtTest, SignedTokenVerifiesWithClaims) {
  auto id = auth.verify(auth.sign({"u1", "Ann", "tutor"}, hours(1)));
  ASSERT_TRUE(id.ok()) << id.status().to_string();
  EXPECT_EQ(id->user_id, "u1");
  EXPECT_EQ(id->name, "Ann");
  EXPECT_EQ(id->role, "tutor");
}

TEST_F(JwtTest, NameAndRoleDefault) {
  auto id = auth.verify(forge(R"({"alg":"HS256"})", R"({"sub":"u2","exp":)" + std::to_string(now_s() + 60) + "}", "s3cret"));
  ASSERT_TRUE(id.ok());
  EXPECT_EQ(id->name, "u2");
  EXPECT_EQ(id->role, "user");
}

TEST_F(JwtTest, RejectsWrongSecretTamperingAndAlgNone) {
  const std::string claims = R"({"sub":"u","exp":)" + std::to_string(now_s() + 60) + "}";
  EXPECT_FALSE(auth.verify(forge(R"({"alg":"HS256"})", claims, "other")).ok());
  EXPECT_FALSE(auth.verify(forge(R"({"alg":"none"})", claims, "s3cret")).ok());
  std::string good = auth.sign({"u", "", ""}, hours(1));
  std::string tampered = good;
  tampered[good.find('.') + 3] ^= 1;
  EXPECT_FALSE(auth.verify(tampered).ok());
  auto unsigned_token = good.substr(0, good.rfind('.') + 1);
  EXPECT_EQ(auth.verify(unsigned_token).status().code(), StatusCode::unauthorized);
}

TEST_F(JwtTest, ExpiryAndNotBeforeHaveThirtySecondLeeway) {
  auto token = [&](std::int64_t exp, std::optional<std::int64_t> nbf) {
    std::string c = R"({"sub":"u","exp":)" + std::to_string(exp);
    if (nbf) c += R"(,"nbf":)" + std::to_string(*nbf);
    return forge(R"({"alg":"HS256"})", c + "}", "s3cret");
  };
  EXPECT_TRUE(auth.verify(token(now_s() - 29, std::nullopt)).ok());
  EXPECT_FALSE(auth.verify(token(now_s() - 31, std::nullopt)).ok());
  EXPECT_TRUE(auth.verify(token(now_s() + 60, now_s() + 29)).ok());
  EXPECT_FALSE(auth.verify(token(now_s() + 60, now_s() + 31)).ok());
  EXPECT_FALSE(auth.verify(forge(R"({"alg":"HS256"})", R"({"sub":"u"})", "s3cret")).ok()) << "exp is required";
}

// Claims at the ends of the int64 range: the comparisons with the leeway
// must not overflow (the sanitizer build aborts on signed overflow).
TEST_F(JwtTest, TimeClaimsAtTheInt64LimitsCompareWithoutOverflow) {
  constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();
  constexpr std::int64_t kMin = std::numeric_limits<std::int64_t>::min();
  auto token = [&](const std::string& times) {
    return forge(R"({"alg":"HS256"})", R"({"sub":"u",)" + times + "}", "s3cret");
  };
  auto n = [](std::int64_t v) { return std::to_string(v); };
  EXPECT_TRUE(auth.verify(token(R"("exp":)" + n(kMax))).ok()) << "expires at the end of time";
  EXPECT_FALSE(auth.verify(token(R"("exp":)" + n(kMin))).ok()) << "expired at the start of time";
  EXPECT_FALSE(auth.verify(token(R"("exp":)" + n(kMax) + R"(,"nbf":)" + n(kMax))).ok()) << "not valid yet";
  EXPECT_TRUE(auth.verify(token(R"("exp":)" + n(kMax) + R"(,"nbf":)" + n(kMin))).ok());
  EXPECT_TRUE(auth.verify(token(R"("exp":)" + n(kMax) + R"(,"iat":)" + n(kMin))).ok());
  EXPECT_TRUE(auth.verify(token(R"("exp":)" + n(kMax) + R"(,"iat":)" + n(kMax))).ok());
  // sign() with a lifetime past the end of the range still makes a token
  // that verifies (its exp saturates instead of wrapping into the past).
  EXPECT_TRUE(auth.verify(auth.sign({"u", "", ""}, std::chrono::seconds(kMax))).ok());
}

TEST_F(JwtTest, SubMustBeOneTo128Bytes) {
  auto with_sub = [&](const std::string& sub) {
    return forge(R"({"alg":"HS256"})", R"({"sub":")" + sub + R"(","exp":)" + std::to_string(now_s() + 60) + "}", "s3cret");
  };
  EXPECT_TRUE(auth.verify(with_sub(std::string(128, 'a'))).ok());
  EXPECT_FALSE(auth.verify(with_sub(std::string(129, 'a'))).ok());
  EXPECT_FALSE(auth.verify(with_sub("")).ok());
}

TEST_F(JwtTest, GarbageIsUnauthorizedNeverACrash) {
  for (std::string_view bad : {"", ".", "..", "a.b.c", "a.b", "a.b.c.d", "!!!.???.***", "eyJhbGciOiJIUzI1NiJ9.e30."}) {
    auto r = auth.verify(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.status().code(), StatusCode::unauthorized);
  }
}

TEST_F(JwtTest, CarrierOrderAuthQueryHeaderCookie) {
  const std::string ann = auth.sign({"ann", "", ""}, hours(1));
  const std::string bob = auth.sign({"bob", "", ""}, hours(1));
  Handshake hs;
  hs.query["token"] = bob;
  hs.headers["authorization"] = "Bearer garbage";
  EXPECT_EQ(auth.authenticate(hs, Json::object({{"token", ann}}))->user_id, "ann");
  EXPECT_EQ(auth.authenticate(hs, Json())->user_id, "bob");

  Handshake header_only;
  header_only.headers["authorization"] = "Bearer " + ann;
  header_only.headers["cookie"] = "chatd_token=" + bob;
  EXPECT_EQ(auth.authenticate(header_only, Json())->user_id, "ann");

  Handshake cookie_only;
  cookie_only.headers["cookie"] = "theme=dark; chatd_token=" + bob;
  EXPECT_EQ(auth.authenticate(cookie_only, Json())->user_id, "bob");

  // The first carrier present decides: an invalid one is not skipped.
  Handshake bad_first;
  bad_first.query["token"] = "garbage";
  bad_first.headers["authorization"] = "Bearer " + ann;
  EXPECT_FALSE(auth.authenticate(bad_first, Json()).ok());
  EXPECT_FALSE(auth.authenticate(Handshake{}, Json()).ok());
}

// Regression: a cookie-borne token was accepted from any page's handshake
// (cross-site WebSocket hijacking).
TEST_F(JwtTest, CookieTokenOnlyFromTheServersOwnOrListedOrigins) {
  JwtOptions o{"s3cret"};
  o.cookie_origins = {"https://app.example.com", "*"};
  JwtAuthenticator a(o, clock);
  const std::string cookie = "chatd_token=" + a.sign({"u", "", ""}, hours(1));
  auto with = [&](std::map<std::string, std::string, std::less<>> headers) {
    Handshake h;
    h.headers = std::move(headers);
    h.headers["cookie"] = cookie;
    return a.authenticate(h, Json()).ok();
  };
  EXPECT_TRUE(with({}));  // no Origin: not a web page
  EXPECT_TRUE(with({{"host", "chat.example.com"}, {"origin", "https://chat.example.com"}}));
  EXPECT_TRUE(with({{"host", "chat.example.com:443"}, {"origin", "https://chat.example.com"}}));
  EXPECT_TRUE(with({{"host", "127.0.0.1:8080"}, {"origin", "http://127.0.0.1:8080"}}));
  EXPECT_TRUE(with({{"host", "chat.example.com"}, {"origin", "https://app.example.com"}}));
  EXPECT_FALSE(with({{"host", "chat.example.com"}, {"origin", "https://evil.example"}}));
  EXPECT_FALSE(with({{"host", "127.0.0.1:8080"}, {"origin", "http://127.0.0.1:9090"}}));
  EXPECT_FALSE(with({{"host", "chat.example.com"}, {"origin", "null"}}));
  EXPECT_FALSE(with({{"host", "chat.example.com"}, {"origin", "*"}}));
  EXPECT_FALSE(with({{"origin", "https://chat.example.com"}}));  // no Host to compare with
  // The other carriers are not ambient: a page must hold the token to send them.
  Handshake h;
  h.headers = {{"host", "chat.example.com"}, {"origin", "https://evil.example"}};
  h.query = {{"token", a.sign({"u", "", ""}, hours(1))}};
  EXPECT_TRUE(a.authenticate(h, Json()).ok());
}

}  // namespace
}  // namespace realtime
