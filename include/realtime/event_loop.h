// EventLoop: the thread that owns every connection, and how other threads
// hand work to it.
//
// librealtime is single-threaded by design above the transport: the Hub, the
// Socket.IO server and the chat service are touched only on the loop thread.
// Stores and other blocking work run elsewhere and come back through post().
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>

#include "realtime/export.h"

namespace realtime {

// Somewhere to run a task later. post() is safe from any thread; tasks run
// in the order posted, never inside the post() call itself.
class REALTIME_EXPORT Executor {
 public:
  virtual ~Executor() = default;
  virtual void post(std::function<void()> task) = 0;
};

// An Executor that also has timers and a monotonic clock. Everything but
// post() must be called on the loop thread.
class REALTIME_EXPORT EventLoop : public Executor {
 public:
  using TimerId = std::uint64_t;
  using TimePoint = std::chrono::steady_clock::time_point;

  // Runs fn once after delay. Ids are never 0, so 0 can mean "no timer".
  virtual TimerId set_timer(std::chrono::milliseconds delay, std::function<void()> fn) = 0;
  // Cancelling a timer that already fired or never existed is a no-op.
  virtual void cancel_timer(TimerId id) = 0;
  // Monotonic time as this loop sees it (a test loop may drive it by hand).
  virtual TimePoint now() const = 0;
};

}  // namespace realtime
