// The reaction emoji rule (chat/emoji.h) and reaction:add's payload parse.
#include "chat/emoji.h"

#include <gtest/gtest.h>

#include "chat/payloads.h"

namespace realtime::chat {
namespace {

TEST(Emoji, OneGraphemeClusterPasses) {
  for (const char* e : {"👍", "👍🏽", "❤️", "1️⃣", "👨‍👩‍👧", "👩🏽‍💻", "🇫🇷", "🏴󠁧󠁢󠁳󠁣󠁴󠁿", "é", "é", "x", "★"})
    EXPECT_TRUE(is_valid_emoji(e)) << e;
}

TEST(Emoji, MoreThanOneClusterOrNoBaseFails) {
  for (const char* e : {"", "ab", "👍👍", "🇫", "🇫🇷🇩", " ", "\t", "\u0301", "\u200d👍", "👍\u200d", "\xc2\xa0", "\u200b",
                        "🏽", "\xef\xb8\x8f"})
    EXPECT_FALSE(is_valid_emoji(e)) << e;
  EXPECT_FALSE(is_valid_emoji("\xff"));  // not UTF-8
}

TEST(Emoji, ShortNames) {
  EXPECT_TRUE(is_valid_emoji(":thumbsup:"));
  EXPECT_TRUE(is_valid_emoji(":+1:"));
  EXPECT_TRUE(is_valid_emoji(":a_b-c+1:"));
  EXPECT_TRUE(is_valid_emoji(":" + std::string(30, 'z') + ":"));
  EXPECT_FALSE(is_valid_emoji(":" + std::string(31, 'z') + ":"));  // 33 bytes
  for (const char* e : {"::", ":", ":Thumbs:", ":a b:", ":a", "a:", ":é:", ":a:b:"}) EXPECT_FALSE(is_valid_emoji(e)) << e;
}

TEST(Emoji, ReactionPayload) {
  auto ok = parse_reaction(Json::object({{"id", "m1"}, {"emoji", "👍"}}));
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->id, "m1");
  EXPECT_EQ(ok->emoji, "👍");
  EXPECT_EQ(parse_reaction(Json::object({{"emoji", "👍"}})).status().code(), StatusCode::bad_request);
  EXPECT_EQ(parse_reaction(Json::object({{"id", "m1"}})).status().code(), StatusCode::bad_request);
  EXPECT_EQ(parse_reaction(Json::object({{"id", "m1"}, {"emoji", 5}})).status().code(), StatusCode::bad_request);
  EXPECT_EQ(parse_reaction(Json::object({{"id", "m1"}, {"emoji", "ab"}})).status().code(), StatusCode::bad_request);
  EXPECT_EQ(parse_reaction(Json::object({{"id", "m1"}, {"emoji", std::string(40, 'a')}})).status().code(),
            StatusCode::payload_too_large);
}

}  // namespace
}  // namespace realtime::chat
