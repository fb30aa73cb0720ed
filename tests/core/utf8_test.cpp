// Tests of the UTF-8 helpers: validation, counting, and cutting a string on
// a character boundary.
#include "realtime/utf8.h"

#include <gtest/gtest.h>

#include <string>

namespace realtime {
namespace {

TEST(Utf8, LengthCountsCodePointsAndRefusesInvalid) {
  EXPECT_EQ(utf8_length("h\xC3\xA9llo"), 5u);
  EXPECT_FALSE(utf8_length("\xC3"));
  EXPECT_FALSE(utf8_length("\xED\xA0\x80"));  // a surrogate
}

TEST(Utf8, PrefixNeverSplitsACharacter) {
  const std::string euro = "\xE2\x82\xAC";  // 3 bytes
  const std::string s = "ab" + euro + euro;  // 8 bytes
  EXPECT_EQ(utf8_prefix(s, 100), s);
  EXPECT_EQ(utf8_prefix(s, 8), s);
  EXPECT_EQ(utf8_prefix(s, 7), "ab" + euro);
  EXPECT_EQ(utf8_prefix(s, 5), "ab" + euro);
  EXPECT_EQ(utf8_prefix(s, 4), "ab");
  EXPECT_EQ(utf8_prefix(s, 2), "ab");
  EXPECT_EQ(utf8_prefix(s, 0), "");
  // Whatever the cut, what is left stays valid.
  const std::string emoji = "\xF0\x9F\x98\x80";
  std::string name;
  for (int i = 0; i < 100; ++i) name += emoji + "x";
  for (std::size_t n = 0; n <= name.size(); ++n) EXPECT_TRUE(is_valid_utf8(utf8_prefix(name, n))) << n;
}

}  // namespace
}  // namespace realtime
