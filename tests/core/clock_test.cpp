#include "realtime/clock.h"

#include <gtest/gtest.h>

namespace realtime {
namespace {

using std::chrono::milliseconds;

TEST(Clock, FormatsIso8601WithMilliseconds) {
  // 2026-11-22T10:30:00.123Z
  Timestamp t{milliseconds{1795343400123}};
  EXPECT_EQ(format_iso8601(t), "2026-11-22T10:30:00.123Z");
  EXPECT_EQ(format_iso8601(Timestamp{milliseconds{0}}), "1970-01-01T00:00:00.000Z");
}

TEST(Clock, ManualClockMovesOnlyWhenTold) {
  ManualClock c(Timestamp{milliseconds{1000}});
  EXPECT_EQ(c.now().time_since_epoch().count(), 1000);
  c.advance(milliseconds{250});
  EXPECT_EQ(c.now().time_since_epoch().count(), 1250);
}

TEST(Clock, SystemClockIsAfter2025) {
  EXPECT_GT(SystemClock{}.now().time_since_epoch().count(), 1735689600000LL);
}

}  // namespace
}  // namespace realtime
