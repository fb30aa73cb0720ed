// The JWKS side of chatd's fetcher: a GET through http_client.h, run on
// the fetcher's worker thread.
#include "jwks_fetcher.h"

#include "http_client.h"

namespace chatd {

realtime::Result<std::string> http_get(const JwksFetchOptions& options) {
  HttpCall call;
  call.url = options.url;
  call.timeout = options.timeout;
  call.max_bytes = options.max_bytes;
  call.follow_redirects = true;
  auto answer = http_call(call);
  if (!answer.ok() && answer.status().code() == realtime::StatusCode::payload_too_large) {
    std::string why = "the JWKS document is larger than ";
    why += std::to_string(options.max_bytes);
    why += " bytes";
    return realtime::Status::unavailable(std::move(why));
  }
  if (!answer.ok()) {
    std::string why = "JWKS fetch failed: ";
    why += answer.status().message();
    return realtime::Status::unavailable(std::move(why));
  }
  if (answer->status != 200) {
    std::string why = "JWKS fetch answered HTTP ";
    why += std::to_string(answer->status);
    return realtime::Status::unavailable(std::move(why));
  }
  return std::move(answer->body);
}

CurlJwksFetcher::CurlJwksFetcher(realtime::Executor& loop, JwksFetchOptions options)
    : loop_(loop), options_(std::move(options)), worker_(loop, 4) {
  http_client_init();  // before any thread uses curl
}

void CurlJwksFetcher::fetch(std::function<void(realtime::Result<std::string>)> done) {
  auto shared = std::make_shared<std::function<void(realtime::Result<std::string>)>>(std::move(done));
  const bool queued = worker_.run([this, shared]() -> std::function<void()> {
    auto result = std::make_shared<realtime::Result<std::string>>(http_get(options_));
    return [shared, result] { (*shared)(std::move(*result)); };
  });
  if (!queued) loop_.post([shared] { (*shared)(realtime::Status::unavailable("the JWKS fetcher is stopping")); });
}

}  // namespace chatd
