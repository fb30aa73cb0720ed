// TokenBucket: the rate limiter behind every per-socket and per-caller limit
// of the chat service, public so that an embedder's own routes (chatd's REST
// API) limit callers the same way. Header-only, no locks: one bucket belongs
// to one thread (the loop, in the library); callers serialise access.
#pragma once

#include <algorithm>
#include <chrono>

namespace realtime {

class TokenBucket {
 public:
  // Time is the caller's steady clock, so tests pass any time they like and
  // a wall-clock jump never refills or drains a bucket.
  using TimePoint = std::chrono::steady_clock::time_point;

  // `rate` tokens per second refill up to `burst`; the bucket starts full.
  // A rate of 0 never refills; a burst below 1 never lets anything through
  // (that is how a limit of "none allowed" is written, not an error).
  TokenBucket(double rate, double burst, TimePoint now) : rate_(rate), burst_(burst), tokens_(burst), last_(now) {}

  // Takes one token if there is one: true = allowed, false = over the limit
  // (nothing is taken). `now` going backwards is treated as no time passing.
  bool take(TimePoint now) {
    const double elapsed = std::chrono::duration<double>(now - last_).count();
    if (elapsed > 0) {
      tokens_ = std::min(burst_, tokens_ + elapsed * rate_);
      last_ = now;
    }
    if (tokens_ < 1.0) return false;
    tokens_ -= 1.0;
    return true;
  }

 private:
  double rate_;
  double burst_;
  double tokens_;
  TimePoint last_;
};

}  // namespace realtime
