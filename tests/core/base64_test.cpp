#include "realtime/base64.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace realtime {
namespace {

TEST(Base64, BothAlphabetsRoundTrip) {
  for (const std::string& s : std::vector<std::string>{"", "f", "fo", "foo", "foob", std::string("\x00\xff\xfe\xfb", 4)}) {
    EXPECT_EQ(base64_decode(base64_encode(s, Base64::standard), Base64::standard), s);
    EXPECT_EQ(base64url_decode(base64url_encode(s)), s);
  }
}

TEST(Base64, StandardPadsAndUrlDoesNot) {
  EXPECT_EQ(base64_encode("hello", Base64::standard), "aGVsbG8=");
  EXPECT_EQ(base64_encode("\xfb\xff", Base64::standard), "+/8=");
  EXPECT_EQ(base64url_encode("\xfb\xff"), "-_8");
  EXPECT_EQ(base64_decode("aGVsbG8", Base64::standard), "hello") << "padding is optional on input";
}

TEST(Base64, RejectsForeignCharactersAndImpossibleLengths) {
  EXPECT_FALSE(base64url_decode("ab+/"));
  EXPECT_FALSE(base64_decode("ab-_", Base64::standard));
  EXPECT_FALSE(base64url_decode("abcde"));
  EXPECT_FALSE(base64_decode("a", Base64::standard));
}

}  // namespace
}  // namespace realtime
