// CurlJwksFetcher: chatd's realtime::JwksFetcher, an HTTP(S) GET of the
// --jwks-url with libcurl on a thread of its own, so the loop never waits
// on the network (and a slow provider never delays attachment files).
// Created and destroyed on the main thread; fetch() is called on the loop
// and answers on the loop.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>

#include "realtime/blocking_worker.h"
#include "realtime/jwks_cache.h"

namespace chatd {

struct JwksFetchOptions {
  std::string url;                                  // http:// or https:// only
  std::chrono::milliseconds timeout{5000};          // the whole request, connect included
  std::size_t max_bytes = 256 * 1024;               // a longer body fails the fetch
};

class CurlJwksFetcher final : public realtime::JwksFetcher {
 public:
  CurlJwksFetcher(realtime::Executor& loop, JwksFetchOptions options);
  void fetch(std::function<void(realtime::Result<std::string>)> done) override;

 private:
  realtime::Executor& loop_;
  JwksFetchOptions options_;
  // Last: destroyed first, so a fetch under way ends (within the timeout)
  // while the options it reads still exist.
  realtime::BlockingWorker worker_;
};

// One GET, blocking: the body of a 200 answer, or why there is none.
// Exposed for the fetcher's thread only.
realtime::Result<std::string> http_get(const JwksFetchOptions& options);

}  // namespace chatd
