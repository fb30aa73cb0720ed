#include "realtime/json.h"

#include <gtest/gtest.h>

#include <limits>

namespace realtime {
namespace {

TEST(Json, ParsesAndDumpsRoundTrip) {
  const std::string text = R"({"a":1,"b":[true,null,"x",2.5],"c":{"d":-9007199254740993}})";
  auto v = Json::parse(text);
  ASSERT_TRUE(v.ok()) << v.status().to_string();
  EXPECT_EQ(v->dump(), text);
  EXPECT_EQ((*v)["a"].as_int(), 1);
  EXPECT_TRUE((*v)["b"].as_array()[1].is_null());
  EXPECT_EQ((*v)["c"]["d"].as_int(), -9007199254740993LL);
}

TEST(Json, KeepsObjectMemberOrder) {
  Json o = Json::object({{"z", 1}, {"a", 2}});
  o.set("m", 3);
  EXPECT_EQ(o.dump(), R"({"z":1,"a":2,"m":3})");
  o.set("z", "replaced");
  EXPECT_EQ(o.dump(), R"({"z":"replaced","a":2,"m":3})");
}

TEST(Json, MissingMemberReadsAsNull) {
  Json o = Json::object({{"a", 1}});
  EXPECT_TRUE(o["nope"].is_null());
  EXPECT_EQ(o.find("nope"), nullptr);
  EXPECT_TRUE(Json(5)["a"].is_null());  // not an object
}

TEST(Json, EscapesStringsAndKeepsUtf8) {
  Json s = std::string("quote\" backslash\\ newline\n tab\t \x01 é 😀");
  auto back = Json::parse(s.dump());
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, s);
}

TEST(Json, RejectsInvalidInputWithBadRequest) {
  for (std::string_view bad : {"", "{", "[1,]", "{\"a\"}", "nul", "[1] x", "\"\xff\"", "\"\\ud800\"", "01"}) {
    auto r = Json::parse(bad);
    EXPECT_FALSE(r.ok()) << bad;
    if (!r.ok()) {
      EXPECT_EQ(r.status().code(), StatusCode::bad_request) << bad;
    }
  }
}

TEST(Json, AcceptsTrailingWhitespace) {
  auto r = Json::parse("[1] \n");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->size(), 1u);
}

// Regression guard for stack exhaustion: hostile nesting is refused by
// depth, and even a very deep input never recurses.
TEST(Json, RefusesDeepNestingWithoutRecursing) {
  std::string deep(100000, '[');
  auto r = Json::parse(deep);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("deep"), std::string::npos);

  std::string ok = std::string(10, '[') + std::string(10, ']');
  EXPECT_TRUE(Json::parse(ok, 10).ok());
  EXPECT_FALSE(Json::parse("[" + ok + "]", 10).ok());
}

TEST(Json, LargeUnsignedBecomesDouble) {
  auto r = Json::parse("18446744073709551615");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->kind(), Json::Kind::number);
}

TEST(Json, BinaryDumpsAsNullAndCompares) {
  Json b = Json::Binary{1, 2, 3};
  EXPECT_TRUE(b.is_binary());
  EXPECT_EQ(b.dump(), "null");
  EXPECT_EQ(b, Json(Json::Binary{1, 2, 3}));
  EXPECT_NE(b, Json(Json::Binary{1, 2}));
}

TEST(Json, PushAndSetBuildContainersFromNull) {
  Json a;
  a.push(1).push("two");
  EXPECT_EQ(a.dump(), R"([1,"two"])");
  Json o;
  o.set("k", Json::array({1, 2}));
  EXPECT_EQ(o.dump(), R"({"k":[1,2]})");
}

}  // namespace
}  // namespace realtime

namespace realtime {
namespace {

// A browser can send a lone surrogate ("\ud800"); it must reach the
// application as a string it can refuse, not fail the whole packet.
TEST(JsonLenient, KeepsLoneSurrogatesAndRawBytesWhenAsked) {
  const std::string text = R"({"text":"a\ud800b","ok":"\ud83d\ude00","esc":"\\ud800"})";
  EXPECT_FALSE(Json::parse(text).ok()) << "strict by default";
  auto lenient = Json::parse(text, 64, true);
  ASSERT_TRUE(lenient.ok()) << lenient.status().to_string();
  EXPECT_EQ((*lenient)["text"].as_string(), "a\xED\xA0\x80" "b");
  EXPECT_EQ((*lenient)["ok"].as_string(), "\xF0\x9F\x98\x80") << "pairs are decoded normally";
  EXPECT_EQ((*lenient)["esc"].as_string(), "\\ud800") << "an escaped backslash is not an escape";
  EXPECT_FALSE(lenient->valid_utf8());

  auto raw = Json::parse("[\"\xff\"]", 64, true);
  ASSERT_TRUE(raw.ok());
  EXPECT_FALSE(raw->valid_utf8());
  EXPECT_TRUE(Json::parse(R"({"k":["fine"]})", 64, true)->valid_utf8());
  EXPECT_FALSE(Json::parse("[1,", 64, true).ok()) << "still not JSON";
}

}  // namespace
}  // namespace realtime

namespace realtime {
namespace {

// Regression (found by socketio_fuzz): a long decimal parsed with the fast
// number parser did not survive dump() and parse() unchanged.
TEST(Json, DoublesSurviveDumpAndParse) {
  for (std::string_view text : {"144.4444444444444444444", "0.1", "1e308", "-2.2250738585072014e-308",
                                "3.141592653589793238462643383279", "123456789.123456789"}) {
    auto first = Json::parse(text);
    ASSERT_TRUE(first.ok()) << text;
    auto again = Json::parse(first->dump());
    ASSERT_TRUE(again.ok()) << first->dump();
    EXPECT_EQ(*again, *first) << text << " -> " << first->dump();
  }
}

// Regression (found by socketio_fuzz): RapidJSON's full-precision parser hit
// undefined behaviour on a zero with a large exponent.
TEST(Json, NumberEdgesParseExactlyOrFailCleanly) {
  EXPECT_EQ(Json::parse("-0e280")->as_double(), 0.0);
  EXPECT_EQ(Json::parse("1e-400")->as_double(), 0.0) << "underflow is zero";
  EXPECT_EQ(Json::parse("9223372036854775807")->as_int(), 9223372036854775807LL);
  EXPECT_EQ(Json::parse("-9223372036854775808")->as_int(), std::numeric_limits<long long>::min());
  EXPECT_EQ(Json::parse("9223372036854775808")->kind(), Json::Kind::number);
  EXPECT_EQ(Json::parse("[0.1,2.5e3]")->dump(), "[0.1,2500.0]");
  auto big = Json::parse("[1e400]");
  ASSERT_FALSE(big.ok());
  EXPECT_EQ(big.status().code(), StatusCode::bad_request);
}

}  // namespace
}  // namespace realtime
