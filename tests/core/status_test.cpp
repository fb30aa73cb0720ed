#include "realtime/status.h"

#include <gtest/gtest.h>

namespace realtime {
namespace {

TEST(Status, DefaultIsOk) {
  Status s;
  EXPECT_TRUE(s.ok());
  EXPECT_EQ(s.to_string(), "ok");
}

TEST(Status, CarriesCodeAndMessage) {
  Status s = Status::not_found("no room r1");
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.code(), StatusCode::not_found);
  EXPECT_EQ(s.to_string(), "not_found: no room r1");
}

TEST(Status, EveryCodeHasItsWireName) {
  EXPECT_EQ(code_name(StatusCode::bad_request), "bad_request");
  EXPECT_EQ(code_name(StatusCode::payload_too_large), "payload_too_large");
  EXPECT_EQ(code_name(StatusCode::peer_not_found), "peer_not_found");
  EXPECT_EQ(code_name(StatusCode::room_ended), "room_ended");
  EXPECT_EQ(code_name(StatusCode::rate_limited), "rate_limited");
}

TEST(Result, HoldsValueOrError) {
  Result<int> v = 7;
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(*v, 7);
  EXPECT_TRUE(v.status().ok());

  Result<int> e = Status::conflict("taken");
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.status().code(), StatusCode::conflict);
}

// Regression: a Result built from an ok Status must not claim a value.
TEST(Result, OkStatusBecomesInternalError) {
  Result<std::string> r = Status{};
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::internal);
}

TEST(Result, OkStatusBecomesInternalErrorThatSaysSo) {
  Result<int> r = Status::ok_status();
  EXPECT_EQ(r.status().code(), StatusCode::internal);
  EXPECT_EQ(r.status().message(), "Result built from an ok Status");
}

// value() on an error aborts naming the Status; it used to throw
// std::bad_variant_access, an exception crossing every layer above.
TEST(ResultDeathTest, ValueOnErrorAbortsNamingTheStatus) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  Result<std::string> r = Status::not_found("room r1 does not exist");
  EXPECT_DEATH((void)r.value(), "Result::value\\(\\) on an error: not_found: room r1 does not exist");
  EXPECT_DEATH((void)*r, "not_found");
  EXPECT_DEATH((void)r->size(), "not_found");
  EXPECT_DEATH((void)std::move(r).value(), "not_found");
  const Result<int> c = Status::conflict("taken");
  EXPECT_DEATH((void)c.value(), "conflict: taken");
}

TEST(Result, ValueOnOkDoesNotAbort) {
  Result<std::string> r = std::string("abc");
  EXPECT_EQ(r->size(), 3U);
  EXPECT_EQ(std::move(r).value(), "abc");
}

}  // namespace
}  // namespace realtime
