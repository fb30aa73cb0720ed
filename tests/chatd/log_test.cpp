// Tests of chatd's log lines (log.h): logfmt quoting and JSON encoding, so
// that no value, whatever a client put in it, can break a line in two or
// forge a key.
#include "log.h"

#include <gtest/gtest.h>

#include <string>

#include "realtime/json.h"

namespace chatd {
namespace {

constexpr const char* kTs = "2026-12-03T18:00:00.000Z";

TEST(LogLine, LogfmtQuotesValuesThatNeedIt) {
  EXPECT_EQ(Log::format_line(LogFormat::logfmt, kTs, Level::info, "chatd listening", {{"port", "8080"}, {"host", ""}}),
            "ts=2026-12-03T18:00:00.000Z level=info msg=\"chatd listening\" port=8080 host=\"\"");
  EXPECT_EQ(Log::format_line(LogFormat::logfmt, kTs, Level::warn, "m", {{"k", "a \"b\" c=d\\e"}}),
            "ts=2026-12-03T18:00:00.000Z level=warn msg=\"m\" k=\"a \\\"b\\\" c=d\\\\e\"");
}

// A value with a line break and no space used to go out unquoted, its
// second half a line of its own.
TEST(LogLine, LogfmtValueCannotStartANewLine) {
  for (const char* v : {"x\nts=1", "x\rlevel=error", "a\nb"}) {
    const std::string line = Log::format_line(LogFormat::logfmt, kTs, Level::info, "m", {{"k", v}});
    EXPECT_EQ(line.find_first_of("\r\n"), std::string::npos) << line;
  }
  EXPECT_EQ(Log::format_line(LogFormat::logfmt, kTs, Level::info, "m", {{"k", "a\nb"}}),
            "ts=2026-12-03T18:00:00.000Z level=info msg=\"m\" k=\"a b\"");
}

TEST(LogLine, JsonIsOneObjectPerLineWithTheSameKeys) {
  const std::string line =
      Log::format_line(LogFormat::json, kTs, Level::error, "bad \"thing\"\n", {{"cause", "a\nb\tc\x01"}, {"port", "80"}});
  EXPECT_EQ(line.find('\n'), std::string::npos) << line;
  auto parsed = realtime::Json::parse(line);
  ASSERT_TRUE(parsed.ok()) << line;
  EXPECT_EQ((*parsed)["ts"], realtime::Json(kTs));
  EXPECT_EQ((*parsed)["level"], realtime::Json("error"));
  EXPECT_EQ((*parsed)["msg"], realtime::Json("bad \"thing\"\n"));
  EXPECT_EQ((*parsed)["cause"], realtime::Json("a\nb\tc\x01"));
  EXPECT_EQ((*parsed)["port"], realtime::Json("80"));
}

TEST(LogLine, FormatsParse) {
  EXPECT_EQ(Log::parse_format("logfmt"), LogFormat::logfmt);
  EXPECT_EQ(Log::parse_format("json"), LogFormat::json);
  EXPECT_EQ(Log::parse_format("JSON"), std::nullopt);
  EXPECT_EQ(Log::parse(""), Level::info);
  EXPECT_EQ(Log::parse("debug"), Level::debug);
}

}  // namespace
}  // namespace chatd
