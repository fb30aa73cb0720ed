// JwksCache: an identity provider's signing keys (its JWKS document), kept
// fresh for JwtAuthenticator. It fetches at start, again on a schedule, and
// early when a token names a kid it does not know (a provider rotated its
// keys), at most a bounded number of times per interval, so a flood of
// tokens with made-up kids cannot make the server hammer the provider. A
// failed fetch or a document that does not parse keeps the last good keys.
//
// The fetching itself (HTTP, TLS, timeouts) is the embedder's JwksFetcher:
// the library knows no HTTP client. Everything here runs on the loop
// thread; the fetcher must do its network I/O elsewhere and answer on the
// loop.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "realtime/event_loop.h"
#include "realtime/export.h"
#include "realtime/jwt_keys.h"
#include "realtime/status.h"
#include "realtime/token_bucket.h"

namespace realtime {

// Gets the JWKS document. chatd's is libcurl on a worker thread.
class REALTIME_EXPORT JwksFetcher {
 public:
  virtual ~JwksFetcher() = default;
  // Starts one fetch and returns at once (never blocks the loop). `done`
  // runs exactly once, on the loop thread, with the document or why there
  // is none; JwksCache never has two fetches outstanding. The fetcher
  // enforces its own timeout and size bound, so `done` always comes.
  virtual void fetch(std::function<void(Result<std::string> document)> done) = 0;
};

struct JwksOptions {
  // How often the keys are fetched when all is well (providers rotate
  // keys in days; they announce new ones well before using them).
  std::chrono::milliseconds refresh_interval{std::chrono::minutes(10)};
  // After a failed fetch, the next try comes this soon (and not sooner).
  std::chrono::milliseconds retry_interval{std::chrono::seconds(30)};
  // Fetches that unknown kids may cause: a burst of this many, refilled at
  // this many per minute. Scheduled fetches are not counted.
  double unknown_kid_fetches_per_minute = 6;
  double unknown_kid_fetch_burst = 3;
  // Bounds on one document (bytes, keys): a larger one is refused and the
  // last good keys stay.
  JwtKeyLimits limits;
};

class REALTIME_EXPORT JwksCache {
 public:
  // `loop` and `fetcher` must outlive the cache. Loop thread.
  JwksCache(EventLoop& loop, JwksFetcher& fetcher, JwksOptions options = {});
  // Cancels the timer; a fetch still outstanding answers into nothing.
  ~JwksCache();
  JwksCache(const JwksCache&) = delete;
  JwksCache& operator=(const JwksCache&) = delete;

  // Starts the first fetch and the schedule. Loop thread.
  void start();

  // The last good keys; null until a fetch has succeeded. Loop thread.
  std::shared_ptr<const JwtKeySet> keys() const { return keys_; }

  // A token named a kid the keys lack (or came before any keys): fetch
  // again now if the rate limit allows and no fetch is outstanding. Returns whether a fetch started
  // (or was already under way). Loop thread.
  bool refresh_for_unknown_kid();

  // Counters for logs, metrics and tests. Loop thread.
  std::uint64_t fetches_started() const { return fetches_started_; }
  std::uint64_t fetches_failed() const { return fetches_failed_; }
  // Why the last fetch failed ("" when it succeeded or none ended yet).
  const std::string& last_error() const { return last_error_; }

  // Called after each fetch ends (ok, or why it failed and the old keys
  // stay), on the loop thread; for the app's log line.
  void set_on_update(std::function<void(const Status&, const JwtKeySet* keys)> fn) { on_update_ = std::move(fn); }

 private:
  void fetch_now();
  void schedule(std::chrono::milliseconds delay);
  void on_document(Result<std::string> document);

  EventLoop& loop_;
  JwksFetcher& fetcher_;
  JwksOptions options_;
  TokenBucket unknown_kid_budget_;
  std::shared_ptr<const JwtKeySet> keys_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
  EventLoop::TimerId timer_ = 0;
  bool in_flight_ = false;
  std::uint64_t fetches_started_ = 0;
  std::uint64_t fetches_failed_ = 0;
  std::string last_error_;
  std::function<void(const Status&, const JwtKeySet*)> on_update_;
};

}  // namespace realtime
