// Clock: wall-clock time for timestamps that are stored and shown to users
// (createdAt, lastSeen). Injected so tests can pin and advance time.
// Monotonic time for timeouts comes from EventLoop::now() instead.
#pragma once

#include <atomic>
#include <chrono>
#include <string>

#include "realtime/export.h"

namespace realtime {

// Milliseconds since the Unix epoch, UTC: the resolution of the protocol.
using Timestamp = std::chrono::sys_time<std::chrono::milliseconds>;

class REALTIME_EXPORT Clock {
 public:
  virtual ~Clock() = default;
  // Thread-safe.
  virtual Timestamp now() const = 0;
};

class REALTIME_EXPORT SystemClock final : public Clock {
 public:
  Timestamp now() const override;
};

// A clock that moves only when told to. Thread-safe.
class REALTIME_EXPORT ManualClock final : public Clock {
 public:
  explicit ManualClock(Timestamp start = Timestamp{std::chrono::milliseconds{1'800'000'000'000}})
      : ms_(start.time_since_epoch().count()) {}
  Timestamp now() const override { return Timestamp{std::chrono::milliseconds{ms_.load()}}; }
  void advance(std::chrono::milliseconds d) { ms_ += d.count(); }

 private:
  std::atomic<long long> ms_;
};

// "2026-11-22T10:30:00.123Z"
REALTIME_EXPORT std::string format_iso8601(Timestamp t);

}  // namespace realtime
