// realtime/jwks_cache.h: the fetch schedule and the unknown-kid rate limit
// around a JwksFetcher. Loop thread only; the fetcher's answer comes back
// on the loop, so no state here needs a lock.
#include "realtime/jwks_cache.h"

#include <algorithm>

namespace realtime {

JwksCache::JwksCache(EventLoop& loop, JwksFetcher& fetcher, JwksOptions options)
    : loop_(loop),
      fetcher_(fetcher),
      options_(std::move(options)),
      unknown_kid_budget_(std::max(0.0, options_.unknown_kid_fetches_per_minute) / 60.0, options_.unknown_kid_fetch_burst,
                          loop.now()) {}

JwksCache::~JwksCache() {
  *alive_ = false;
  if (timer_) loop_.cancel_timer(timer_);
}

void JwksCache::start() { fetch_now(); }

void JwksCache::schedule(std::chrono::milliseconds delay) {
  if (timer_) loop_.cancel_timer(timer_);
  timer_ = loop_.set_timer(std::max(delay, std::chrono::milliseconds(1)), [this] {
    timer_ = 0;
    fetch_now();
  });
}

void JwksCache::fetch_now() {
  if (in_flight_) return;
  in_flight_ = true;
  ++fetches_started_;
  std::weak_ptr<bool> alive = alive_;
  fetcher_.fetch([this, alive](Result<std::string> document) {
    if (alive.expired() || !*alive.lock()) return;
    on_document(std::move(document));
  });
}

bool JwksCache::refresh_for_unknown_kid() {
  if (in_flight_) return true;
  if (!unknown_kid_budget_.take(loop_.now())) return false;
  fetch_now();
  return true;
}

void JwksCache::on_document(Result<std::string> document) {
  in_flight_ = false;
  Status outcome;
  if (!document.ok()) {
    outcome = document.status();
  } else {
    auto parsed = JwtKeySet::from_jwks(*document, options_.limits);
    if (parsed.ok()) keys_ = std::move(parsed).value();
    else outcome = parsed.status();
  }
  if (outcome.ok()) {
    last_error_.clear();
    schedule(options_.refresh_interval);
  } else {
    ++fetches_failed_;
    last_error_ = outcome.message();
    schedule(std::min(options_.retry_interval, options_.refresh_interval));
  }
  if (on_update_) on_update_(outcome, keys_.get());
}

}  // namespace realtime
