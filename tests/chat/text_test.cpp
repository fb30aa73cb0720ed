#include "chat/text.h"

#include <gtest/gtest.h>


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

}  // namespace
}  // namespace realtime::chat
