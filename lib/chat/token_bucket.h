// TokenBucket: the rate limiter behind every per-socket and per-caller
// limit. `rate` tokens per second refill up to `burst`; each event takes one.
#pragma once

#include <algorithm>
#include <chrono>

namespace realtime::chat {

class TokenBucket {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;
  TokenBucket(double rate, double burst, TimePoint now) : rate_(rate), burst_(burst), tokens_(burst), last_(now) {}

  // Takes a token if one is there; false means "over the limit".
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

}  // namespace realtime::chat
