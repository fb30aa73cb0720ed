// realtime/token_bucket.h: the public rate limiter (chat limits, chatd's
// REST buckets).
#include "realtime/token_bucket.h"

#include <gtest/gtest.h>

namespace realtime {
namespace {

using std::chrono::milliseconds;

TEST(TokenBucket, StartsFullThenRefusesUntilRefilled) {
  const TokenBucket::TimePoint t0{};
  TokenBucket b(2.0, 3.0, t0);  // 2 per second, burst 3
  EXPECT_TRUE(b.take(t0));
  EXPECT_TRUE(b.take(t0));
  EXPECT_TRUE(b.take(t0));
  EXPECT_FALSE(b.take(t0));
  EXPECT_FALSE(b.take(t0 + milliseconds(400)));  // 0.8 of a token
  EXPECT_TRUE(b.take(t0 + milliseconds(500)));   // 1.0
  EXPECT_FALSE(b.take(t0 + milliseconds(500)));
}

TEST(TokenBucket, RefillStopsAtBurst) {
  const TokenBucket::TimePoint t0{};
  TokenBucket b(100.0, 2.0, t0);
  const auto later = t0 + std::chrono::hours(1);
  EXPECT_TRUE(b.take(later));
  EXPECT_TRUE(b.take(later));
  EXPECT_FALSE(b.take(later));
}

TEST(TokenBucket, TimeGoingBackwardsAddsNothing) {
  const TokenBucket::TimePoint t0 = TokenBucket::TimePoint{} + std::chrono::seconds(10);
  TokenBucket b(1.0, 1.0, t0);
  EXPECT_TRUE(b.take(t0));
  EXPECT_FALSE(b.take(t0 - std::chrono::seconds(5)));
  EXPECT_FALSE(b.take(t0 + milliseconds(999)));
  EXPECT_TRUE(b.take(t0 + milliseconds(1000)));
}

TEST(TokenBucket, BurstBelowOneAllowsNothing) {
  const TokenBucket::TimePoint t0{};
  TokenBucket b(10.0, 0.5, t0);
  EXPECT_FALSE(b.take(t0));
  EXPECT_FALSE(b.take(t0 + std::chrono::seconds(60)));
}

}  // namespace
}  // namespace realtime
