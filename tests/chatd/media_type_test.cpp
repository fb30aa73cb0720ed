// Tests of chatd's media type check: what an upload's Content-Type (raw or
// a multipart part's) may be, and what is stored.
#include "media_type.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace chatd {
namespace {

TEST(MediaType, NormalizesCaseAndKeepsOnlyATokenCharset) {
  EXPECT_EQ(*normalize_media_type("image/png"), "image/png");
  EXPECT_EQ(*normalize_media_type("  Image/PNG  "), "image/png");
  EXPECT_EQ(*normalize_media_type("text/plain; charset=UTF-8"), "text/plain; charset=utf-8");
  EXPECT_EQ(*normalize_media_type("text/plain;charset=\"utf-8\";format=flowed"), "text/plain; charset=utf-8");
  EXPECT_EQ(*normalize_media_type("application/vnd.api+json; q=\"a \\\"b\\\"\""), "application/vnd.api+json");
  EXPECT_EQ(*normalize_media_type("text/plain;;"), "text/plain");
  EXPECT_EQ(media_type_essence("text/plain; charset=utf-8"), "text/plain");
}

// Regression: a part's Content-Type with a bare LF was stored and sent back
// as a download's header, and passed the --attachment-types prefix check.
TEST(MediaType, RefusesWhatIsNotAMediaType) {
  const std::vector<std::string> bad = {
      "", "image", "image/", "/png", "image/png\nx-evil: 1", "image/png\r\nx-evil: 1", "image/png\rx",
      "image/png; charset", "image/png; charset=", "image/png; a=\"unterminated", "image/png x",
      std::string("image/png\0x", 11), "ima ge/png", "image/pn\x7fg", "image/png; a=b\tc",
      "t/" + std::string(128, 's'), std::string(128, 't') + "/s",
  };
  for (const auto& v : bad) {
    auto r = normalize_media_type(v);
    EXPECT_FALSE(r.ok()) << '"' << v << "\" became " << (r.ok() ? *r : "");
    if (!r.ok()) {
      EXPECT_EQ(r.status().code(), realtime::StatusCode::bad_request);
    }
  }
}

}  // namespace
}  // namespace chatd
