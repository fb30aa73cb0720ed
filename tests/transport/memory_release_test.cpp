// MemoryRelease: the heap goes back to the system once after a burst, when
// traffic has gone quiet, and never under steady traffic or small work.
#include "transport/lws/memory_release.h"

#include <gtest/gtest.h>

namespace realtime::lws_detail {
namespace {

constexpr std::size_t kBurst = MemoryRelease::kBurstBytes;
constexpr std::size_t kQuiet = MemoryRelease::kQuietBytes;

TEST(MemoryRelease, NothingDueWithoutABurst) {
  MemoryRelease r;
  for (int i = 0; i < 100; ++i) {
    r.add(kBurst / 200);
    EXPECT_FALSE(r.tick()) << "interval " << i;
  }
}

TEST(MemoryRelease, DueOnceWhenTheBurstIsOver) {
  MemoryRelease r;
  r.add(kBurst);
  EXPECT_FALSE(r.tick()) << "still busy: the whole burst came in this interval";
  EXPECT_TRUE(r.tick()) << "a quiet interval after the burst";
  EXPECT_FALSE(r.tick()) << "once per burst";
  r.add(kQuiet);
  EXPECT_FALSE(r.tick());
}

TEST(MemoryRelease, NeverUnderSteadyHeavyTraffic) {
  MemoryRelease r;
  for (int i = 0; i < 100; ++i) {
    r.add(kQuiet);  // each interval busier than quiet: the pages are being reused
    EXPECT_FALSE(r.tick()) << "interval " << i;
  }
  EXPECT_TRUE(r.tick()) << "and due once it calms down";
}

TEST(MemoryRelease, SessionsCountAsWork) {
  MemoryRelease r;
  for (std::size_t i = 0; i < kBurst / MemoryRelease::kSessionBytes; ++i) r.add(MemoryRelease::kSessionBytes);
  EXPECT_FALSE(r.tick());
  EXPECT_TRUE(r.tick()) << "a connect storm (or its end) is a burst too";
}

}  // namespace
}  // namespace realtime::lws_detail
