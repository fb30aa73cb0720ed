// JwtAuthenticator with public keys (PEM and JWKS) and JwksCache's schedule
// and bounds. Keys are made by the test (jwt_test_keys.h); the JWKS
// "provider" is a fetcher the test answers by hand on an in-process loop.
#include <gtest/gtest.h>

#include <deque>

#include "jwt_test_keys.h"
#include "realtime/digest.h"
#include "realtime/in_process_transport.h"
#include "realtime/jwks_cache.h"
#include "realtime/jwt_authenticator.h"
#include "realtime/jwt_keys.h"

namespace realtime {
namespace {

using test::TestKey;

constexpr std::int64_t kNow = 1'800'000'000;

Json claims(std::int64_t exp = kNow + 600) {
  return Json::object({{"sub", "u1"}, {"name", "Ann"}, {"role", "tutor"}, {"exp", exp}});
}

std::shared_ptr<const JwtKeySet> pem_keys(std::initializer_list<const TestKey*> keys) {
  std::string pem;
  for (const TestKey* k : keys) pem += k->pem();
  auto set = JwtKeySet::from_pem(pem);
  EXPECT_TRUE(set.ok()) << set.status().to_string();
  return set.ok() ? *set : nullptr;
}

class JwtKeysTest : public ::testing::Test {
 protected:
  ManualClock clock{Timestamp{std::chrono::milliseconds{kNow * 1000}}};
  JwtAuthenticator with(JwtOptions o) { return JwtAuthenticator(std::move(o), clock); }
};

TEST_F(JwtKeysTest, EachAsymmetricAlgVerifiesFromPemAndFromJwks) {
  for (const char* alg : {"RS256", "PS256", "ES256", "EdDSA"}) {
    SCOPED_TRACE(alg);
    TestKey key(alg, "k1");
    JwtOptions o;
    o.public_keys = pem_keys({&key});
    auto id = with(o).verify(key.token(claims()));
    ASSERT_TRUE(id.ok()) << id.status().to_string();
    EXPECT_EQ(id->user_id, "u1");
    EXPECT_EQ(id->name, "Ann");
    EXPECT_EQ(id->role, "tutor");

    auto set = JwtKeySet::from_jwks(test::jwks_of({&key}).dump());
    ASSERT_TRUE(set.ok()) << set.status().to_string();
    EXPECT_TRUE(set.value()->has_kid("k1"));
    const std::string token = key.token(claims());
    const auto dot = token.rfind('.');
    EXPECT_TRUE(set.value()->verify(alg, "k1", token.substr(0, dot), *base64url_decode(token.substr(dot + 1))).ok());
  }
}

TEST_F(JwtKeysTest, PemFileWithSeveralKeysAcceptsEach) {
  TestKey rsa("RS256"), ec("ES256"), ed("EdDSA");
  JwtOptions o;
  o.public_keys = pem_keys({&rsa, &ec, &ed});
  auto auth = with(o);
  for (const TestKey* k : {&rsa, &ec, &ed}) EXPECT_TRUE(auth.verify(k->token(claims())).ok()) << k->alg();
}

TEST_F(JwtKeysTest, BadSignatureAndWrongKeyAreRefused) {
  TestKey key("ES256"), other("ES256");
  JwtOptions o;
  o.public_keys = pem_keys({&key});
  auto auth = with(o);
  EXPECT_EQ(auth.verify(other.token(claims())).status().code(), StatusCode::unauthorized);
  std::string t = key.token(claims());
  t[t.size() - 5] = t[t.size() - 5] == 'A' ? 'B' : 'A';
  EXPECT_EQ(auth.verify(t).status().code(), StatusCode::unauthorized);
  // A signature of the wrong length for ES256 is refused, not misread.
  EXPECT_FALSE(auth.verify(t.substr(0, t.rfind('.') + 1) + "AAAA").ok());
}

// The classic confusion: a verifier that took "the key" as an HMAC secret
// for alg HS256 would accept a token MACed with the public key's PEM text.
TEST_F(JwtKeysTest, PublicKeyUsedAsHs256SecretIsRefused) {
  TestKey rsa("RS256");
  JwtOptions o;
  o.public_keys = pem_keys({&rsa});
  auto auth = with(o);
  const std::string pem = rsa.pem();
  std::string input = base64url_encode(R"({"alg":"HS256","typ":"JWT"})") + "." + base64url_encode(claims().dump());
  const std::string forged = input + "." + base64url_encode(hmac_sha256(pem, input));
  auto r = auth.verify(forged);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("HS256"), std::string::npos) << r.status().message();
  // Also with a secret configured: the PEM is still not the secret.
  o.secret = "the real secret";
  EXPECT_FALSE(with(o).verify(forged).ok());
  // And an RSA key's token relabelled as another alg fails.
  EXPECT_FALSE(auth.verify(rsa.token(claims(), "ES256")).ok());
  EXPECT_FALSE(auth.verify(rsa.token(claims(), "EdDSA")).ok());
}

TEST_F(JwtKeysTest, AlgNoneAndUnknownAlgsAreRefused) {
  TestKey rsa("RS256");
  JwtOptions o;
  o.secret = "s";
  o.public_keys = pem_keys({&rsa});
  auto auth = with(o);
  for (const char* alg : {"none", "None", "RS512", "HS512", ""}) {
    std::string input = base64url_encode(Json::object({{"alg", alg}}).dump()) + "." + base64url_encode(claims().dump());
    EXPECT_FALSE(auth.verify(input + ".").ok()) << alg;
    EXPECT_FALSE(auth.verify(input + "." + base64url_encode(rsa.sign(input, "RS256"))).ok()) << alg;
  }
}

TEST_F(JwtKeysTest, KidSelectsTheKeyAndAnUnknownKidIsRefused) {
  TestKey a("RS256", "a"), b("RS256", "b");
  auto set = JwtKeySet::from_jwks(test::jwks_of({&a, &b}).dump());
  ASSERT_TRUE(set.ok());
  auto check = [&](const TestKey& k, std::string_view kid) {
    const std::string t = k.token(claims());
    const auto dot = t.rfind('.');
    return (*set)->verify("RS256", kid, t.substr(0, dot), *base64url_decode(t.substr(dot + 1)));
  };
  EXPECT_TRUE(check(a, "a").ok());
  EXPECT_TRUE(check(b, "b").ok());
  EXPECT_EQ(check(a, "b").code(), StatusCode::unauthorized);  // b's key does not check a's signature
  EXPECT_EQ(check(a, "zzz").code(), StatusCode::not_found);
}

TEST_F(JwtKeysTest, IssuerAudienceAndClaimNames) {
  TestKey key("EdDSA");
  JwtOptions o;
  o.public_keys = pem_keys({&key});
  o.issuer = "https://idp.example/";
  o.audiences = {"chat", "other"};
  o.user_claim = "user_id";
  o.name_claim = "preferred_username";
  auto auth = with(o);
  Json c = Json::object({{"user_id", "fb-1"}, {"preferred_username", "ann"}, {"iss", "https://idp.example/"},
                         {"aud", "chat"}, {"exp", kNow + 60}});
  auto id = auth.verify(key.token(c));
  ASSERT_TRUE(id.ok()) << id.status().to_string();
  EXPECT_EQ(id->user_id, "fb-1");
  EXPECT_EQ(id->name, "ann");
  c.set("aud", Json::array({"x", "other"}));
  EXPECT_TRUE(auth.verify(key.token(c)).ok());
  c.set("aud", Json::array({"x", "y"}));
  EXPECT_EQ(auth.verify(key.token(c)).status().message(), "token audience (aud) is not accepted");
  c.set("aud", "chat");
  c.set("iss", "https://evil.example/");
  EXPECT_EQ(auth.verify(key.token(c)).status().message(), "token issuer (iss) is not accepted");
  Json no_iss = Json::object({{"user_id", "fb-1"}, {"aud", "chat"}, {"exp", kNow + 60}});
  EXPECT_FALSE(auth.verify(key.token(no_iss)).ok());
  Json no_user = Json::object({{"sub", "fb-1"}, {"iss", "https://idp.example/"}, {"aud", "chat"}, {"exp", kNow + 60}});
  EXPECT_FALSE(auth.verify(key.token(no_user)).ok());
}

TEST_F(JwtKeysTest, ExpiryAndNotBeforeApplyToPublicKeyTokens) {
  TestKey key("ES256");
  JwtOptions o;
  o.public_keys = pem_keys({&key});
  auto auth = with(o);
  EXPECT_EQ(auth.verify(key.token(claims(kNow - 31))).status().message(), "token expired");
  Json c = claims();
  c.set("nbf", kNow + 31);
  EXPECT_EQ(auth.verify(key.token(c)).status().message(), "token not valid yet");
  c.set("nbf", kNow + 29);
  EXPECT_TRUE(auth.verify(key.token(c)).ok());
}

TEST_F(JwtKeysTest, SetPublicKeysReplacesTheKeys) {
  TestKey old_key("RS256"), new_key("RS256");
  JwtOptions o;
  o.public_keys = pem_keys({&old_key});
  auto auth = with(o);
  EXPECT_TRUE(auth.verify(old_key.token(claims())).ok());
  EXPECT_FALSE(auth.verify(new_key.token(claims())).ok());
  auth.set_public_keys(pem_keys({&new_key}));
  EXPECT_FALSE(auth.verify(old_key.token(claims())).ok());
  EXPECT_TRUE(auth.verify(new_key.token(claims())).ok());
}

TEST_F(JwtKeysTest, KeySourcesThatBreakTheBoundsAreRefused) {
  TestKey a("EdDSA", "a"), b("EdDSA", "b"), c("EdDSA", "c");
  JwtKeyLimits limits;
  limits.max_keys = 2;
  EXPECT_TRUE(JwtKeySet::from_jwks(test::jwks_of({&a, &b}).dump(), limits).ok());
  auto three = JwtKeySet::from_jwks(test::jwks_of({&a, &b, &c}).dump(), limits);
  ASSERT_FALSE(three.ok());
  EXPECT_NE(three.status().message().find("more than 2 keys"), std::string::npos);
  EXPECT_FALSE(JwtKeySet::from_pem(a.pem() + b.pem() + c.pem(), limits).ok());

  limits = {};
  limits.max_document_bytes = 1000;
  Json big = test::jwks_of({&a});
  big.set("padding", std::string(1000, 'x'));
  auto oversized = JwtKeySet::from_jwks(big.dump(), limits);
  ASSERT_FALSE(oversized.ok());
  EXPECT_NE(oversized.status().message().find("larger than 1000 bytes"), std::string::npos);
}

TEST_F(JwtKeysTest, UnusableKeysAreSkippedOrRefused) {
  TestKey good("ES256", "good");
  TestKey weak("RS256", "weak", 1024);
  Json doc = test::jwks_of({&good, &weak});
  doc.find("keys")->push(Json::object({{"kty", "oct"}, {"k", "c2VjcmV0"}, {"kid", "hmac"}}));
  Json enc = good.jwk();
  enc.set("use", "enc");
  enc.set("kid", "enc");
  doc.find("keys")->push(enc);
  Json off_curve = good.jwk();
  off_curve.set("kid", "bad");
  off_curve.set("y", base64url_encode(std::string(32, '\x01')));
  doc.find("keys")->push(off_curve);
  auto set = JwtKeySet::from_jwks(doc.dump());
  ASSERT_TRUE(set.ok()) << set.status().to_string();
  EXPECT_EQ((*set)->size(), 1u);
  EXPECT_TRUE((*set)->has_kid("good"));
  EXPECT_FALSE(JwtKeySet::from_jwks(R"({"keys":[{"kty":"oct","k":"c2VjcmV0"}]})").ok());
  EXPECT_FALSE(JwtKeySet::from_jwks("not json").ok());
  EXPECT_FALSE(JwtKeySet::from_pem(weak.pem()).ok());
  EXPECT_FALSE(JwtKeySet::from_pem("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n").ok());
}

// A fetcher the test answers by hand, counting requests.
class ManualFetcher final : public JwksFetcher {
 public:
  void fetch(std::function<void(Result<std::string>)> done) override { pending.push_back(std::move(done)); }
  void answer(Result<std::string> document) {
    auto done = std::move(pending.front());
    pending.pop_front();
    done(std::move(document));
  }
  std::deque<std::function<void(Result<std::string>)>> pending;
};

class JwksCacheTest : public JwtKeysTest {
 protected:
  InProcessTransport loop;
  ManualFetcher fetcher;
};

TEST_F(JwksCacheTest, RefusesClearlyUntilTheFirstFetchThenRotatesOnUnknownKid) {
  TestKey k1("RS256", "k1"), k2("ES256", "k2");
  JwksOptions jo;
  jo.unknown_kid_fetch_burst = 2;
  jo.unknown_kid_fetches_per_minute = 2;
  JwksCache cache(loop, fetcher, jo);
  JwtOptions o;
  o.jwks = &cache;
  auto auth = with(o);
  cache.start();
  ASSERT_EQ(fetcher.pending.size(), 1u);
  auto early = auth.verify(k1.token(claims()));
  EXPECT_EQ(early.status().message(), "the identity provider's keys (JWKS) are not loaded yet; retry shortly");

  fetcher.answer(test::jwks_of({&k1}).dump());
  EXPECT_TRUE(auth.verify(k1.token(claims())).ok());

  // The provider rotates: k2's first token triggers a fetch and is refused;
  // once the fetch is in, it works.
  auto first = auth.verify(k2.token(claims()));
  EXPECT_NE(first.status().message().find("unknown kid"), std::string::npos);
  ASSERT_EQ(fetcher.pending.size(), 1u);
  fetcher.answer(test::jwks_of({&k1, &k2}).dump());
  EXPECT_TRUE(auth.verify(k2.token(claims())).ok());
  EXPECT_EQ(cache.fetches_started(), 2u);
}

TEST_F(JwksCacheTest, AFloodOfUnknownKidsFetchesAtMostTheBudget) {
  TestKey k1("EdDSA", "k1");
  JwksOptions jo;
  jo.unknown_kid_fetch_burst = 3;
  jo.unknown_kid_fetches_per_minute = 6;  // one per 10 s
  JwksCache cache(loop, fetcher, jo);
  JwtOptions o;
  o.jwks = &cache;
  auto auth = with(o);
  cache.start();
  fetcher.answer(test::jwks_of({&k1}).dump());
  // Tokens with made-up kids: refused before any signature check, so the
  // signature can be anything.
  auto bogus = [&](int i) {
    std::string kid = "bogus-";
    kid += std::to_string(i);
    return base64url_encode(Json::object({{"alg", "EdDSA"}, {"kid", kid}}).dump()) + "." +
           base64url_encode(claims().dump()) + ".AAAA";
  };
  auto flood = [&](int from) {
    for (int i = from; i < from + 1000; ++i) {
      EXPECT_FALSE(auth.verify(bogus(i)).ok());
      while (!fetcher.pending.empty()) fetcher.answer(test::jwks_of({&k1}).dump());
    }
  };
  flood(0);
  EXPECT_EQ(cache.fetches_started(), 1u + 3u);  // the first fetch, then the burst
  loop.advance(std::chrono::seconds(10));       // refills one
  flood(1000);
  EXPECT_EQ(cache.fetches_started(), 1u + 3u + 1u);
  // The good key still works throughout.
  EXPECT_TRUE(auth.verify(k1.token(claims())).ok());
}

TEST_F(JwksCacheTest, AProviderThatIsDownOrSendsGarbageKeepsTheLastGoodKeys) {
  TestKey k1("ES256", "k1");
  JwksOptions jo;
  jo.refresh_interval = std::chrono::minutes(10);
  jo.retry_interval = std::chrono::seconds(30);
  jo.limits.max_document_bytes = 4096;
  JwksCache cache(loop, fetcher, jo);
  JwtOptions o;
  o.jwks = &cache;
  auto auth = with(o);
  cache.start();
  fetcher.answer(Status::unavailable("connection refused"));
  EXPECT_EQ(cache.fetches_failed(), 1u);
  EXPECT_FALSE(auth.verify(k1.token(claims())).ok());
  loop.advance(std::chrono::seconds(30));  // the retry
  ASSERT_EQ(fetcher.pending.size(), 1u);
  fetcher.answer(test::jwks_of({&k1}).dump());
  EXPECT_TRUE(auth.verify(k1.token(claims())).ok());

  loop.advance(std::chrono::minutes(10));  // the schedule
  ASSERT_EQ(fetcher.pending.size(), 1u);
  fetcher.answer(Status::unavailable("HTTP 503"));
  EXPECT_TRUE(auth.verify(k1.token(claims())).ok());
  EXPECT_EQ(cache.last_error(), "HTTP 503");
  loop.advance(std::chrono::seconds(30));
  ASSERT_EQ(fetcher.pending.size(), 1u);
  Json big = test::jwks_of({});
  big.set("padding", std::string(5000, 'x'));
  fetcher.answer(big.dump());  // over the document bound
  EXPECT_TRUE(auth.verify(k1.token(claims())).ok());
  EXPECT_NE(cache.last_error().find("larger than"), std::string::npos);
  EXPECT_EQ(cache.fetches_failed(), 3u);
}

TEST_F(JwksCacheTest, DestroyedCacheIgnoresALateAnswer) {
  auto cache = std::make_unique<JwksCache>(loop, fetcher);
  cache->start();
  cache.reset();
  ASSERT_EQ(fetcher.pending.size(), 1u);
  fetcher.answer(Status::unavailable("late"));  // must not touch the freed cache (ASan)
}

}  // namespace
}  // namespace realtime
