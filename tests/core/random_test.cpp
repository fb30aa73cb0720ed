// realtime/random.h: sizes, the token alphabet, and that values differ.
#include "realtime/random.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

namespace realtime {
namespace {

TEST(Random, BytesAndTokensHaveTheirSizes) {
  EXPECT_EQ(random_bytes(0).size(), 0u);
  EXPECT_EQ(random_bytes(1000).size(), 1000u);
  EXPECT_EQ(random_token(15).size(), 20u);  // an Engine.IO sid
  EXPECT_EQ(random_token(16).size(), 22u);  // a socket id, an attachment id
  EXPECT_EQ(random_token(32).size(), 43u);  // a join token
  for (char c : random_token(300)) EXPECT_TRUE(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_') << c;
}

TEST(Random, TokensDoNotRepeat) {
  std::set<std::string> seen;
  for (int i = 0; i < 10000; ++i) EXPECT_TRUE(seen.insert(random_token(16)).second);
}

}  // namespace
}  // namespace realtime
