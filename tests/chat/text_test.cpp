#include "chat/text.h"

#include <gtest/gtest.h>

#include "chat/base64url.h"

namespace realtime::chat {
namespace {

TEST(Text, CountsCodePointsNotBytes) {
  EXPECT_EQ(utf8_length("abc"), 3u);
  EXPECT_EQ(utf8_length("é"), 1u);
  EXPECT_EQ(utf8_length("😀x"), 2u);
  EXPECT_EQ(utf8_length(""), 0u);
}

TEST(Text, RejectsInvalidUtf8) {
  EXPECT_FALSE(utf8_length("\xff"));
  EXPECT_FALSE(utf8_length("\xc3"));              // truncated
  EXPECT_FALSE(utf8_length("\xc0\xaf"));          // overlong
  EXPECT_FALSE(utf8_length("\xed\xa0\x80"));      // surrogate
  EXPECT_FALSE(utf8_length("\xf4\x90\x80\x80"));  // past U+10FFFF
}

TEST(Text, BlankMeansOnlyWhitespace) {
  EXPECT_TRUE(is_blank(""));
  EXPECT_TRUE(is_blank(" \t\n"));
  EXPECT_TRUE(is_blank("\xe3\x80\x80"));  // ideographic space
  EXPECT_FALSE(is_blank(" a "));
}

TEST(Base64url, RoundTripsAndRejectsForeignCharacters) {
  for (const std::string& s : std::vector<std::string>{"", "f", "fo", "foo", "foob", std::string("\x00\xff\xfe", 3)})
    EXPECT_EQ(base64url_decode(base64url_encode(s)), s);
  EXPECT_EQ(base64url_encode("\xfb\xff"), "-_8");
  EXPECT_FALSE(base64url_decode("ab+/"));
  EXPECT_FALSE(base64url_decode("abcde"));
}

}  // namespace
}  // namespace realtime::chat
