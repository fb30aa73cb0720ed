// LruCache: the budget holds after every put, the least recently used
// entry goes first, and an entry bigger than the budget still stays alone.
#include "chat/lru_cache.h"

#include <gtest/gtest.h>

namespace realtime::chat {
namespace {

TEST(LruCacheTest, ForgetsTheLeastRecentlyUsedToStayWithinTheBudget) {
  LruCache<int> cache(10);
  cache.put("a", 1, 4);
  cache.put("b", 2, 4);
  ASSERT_NE(cache.find("a"), nullptr);  // a is now newer than b
  cache.put("c", 3, 4);
  EXPECT_EQ(cache.size(), 2u);
  EXPECT_EQ(cache.cost(), 8u);
  EXPECT_EQ(cache.find("b"), nullptr) << "the least recently used went";
  EXPECT_EQ(*cache.find("a"), 1);
  EXPECT_EQ(*cache.find("c"), 3);
}

TEST(LruCacheTest, ReplacingChargesTheNewCostAndTakeGivesTheValueBack) {
  LruCache<std::string> cache(100);
  cache.put("k", "small", 10);
  cache.put("k", "bigger", 60);
  EXPECT_EQ(cache.cost(), 60u);
  EXPECT_EQ(cache.size(), 1u);
  EXPECT_EQ(cache.take("k"), std::optional<std::string>("bigger"));
  EXPECT_EQ(cache.cost(), 0u);
  EXPECT_FALSE(cache.take("k").has_value());
}

TEST(LruCacheTest, AnEntryOverTheBudgetStaysAloneUntilTheNextPut) {
  LruCache<int> cache(10);
  cache.put("a", 1, 5);
  cache.put("huge", 2, 50);
  EXPECT_EQ(cache.size(), 1u);
  EXPECT_TRUE(cache.contains("huge"));
  cache.put("b", 3, 5);
  EXPECT_FALSE(cache.contains("huge"));
  EXPECT_EQ(cache.cost(), 5u);
}

TEST(LruCacheTest, ManyPutsNeverPassTheBudget) {
  LruCache<int> cache(1000);
  for (int i = 0; i < 100000; ++i) {
    cache.put("key" + std::to_string(i), i, 7);
    ASSERT_LE(cache.cost(), 1000u);
  }
  EXPECT_EQ(cache.size(), 142u);
}

}  // namespace
}  // namespace realtime::chat
