// MemoryRelease: when the lws transport hands the heap's free pages back to
// the system (malloc_trim), decided from how much work passed through it.
//
// A burst (thousands of clients joining a room at once, each given its own
// room-state reply while the kernel buffers are full) queues megabytes that
// are freed a moment later; glibc keeps those pages, scattered between the
// connections' long-lived state where its own top-of-heap trim never sees
// them, so an idle server held twice its live heap. Trimming costs a walk
// of the free lists (tens of ms at 100 MB) and is useless under steady
// traffic, which reuses the pages anyway; so it runs once after a burst,
// when the loop has gone quiet. EioSessions counts the work (bytes queued,
// sessions opened and closed) and the transport's interval timer asks
// tick(). Pure logic; loop thread only.
#pragma once

#include <cstddef>

namespace realtime::lws_detail {

class MemoryRelease {
 public:
  // Work worth a trim, and the most work in one interval that still counts
  // as quiet.
  static constexpr std::size_t kBurstBytes = 16u << 20;
  static constexpr std::size_t kQuietBytes = 2u << 20;
  // What a session's opening or closing is counted as: about what one
  // leaves behind in the heap (docs/benchmarks.md, "Memory per connection").
  static constexpr std::size_t kSessionBytes = 8u << 10;

  void add(std::size_t bytes) { work_ += bytes; }
  // At each interval: true when a trim is due now (a burst, then quiet);
  // the count starts again after it.
  bool tick() {
    const bool due = work_ >= kBurstBytes && work_ - work_at_tick_ < kQuietBytes;
    if (due) work_ = 0;
    work_at_tick_ = work_;
    return due;
  }

 private:
  std::size_t work_ = 0;          // since the last trim
  std::size_t work_at_tick_ = 0;  // work_ at the previous tick
};

}  // namespace realtime::lws_detail
