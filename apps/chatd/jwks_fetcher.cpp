// The libcurl side of chatd's JWKS fetcher: the only file that includes
// curl. http_get() runs on the fetcher's worker thread.
#include "jwks_fetcher.h"

#include <curl/curl.h>

namespace chatd {
namespace {

struct Body {
  std::string text;
  std::size_t max = 0;
  bool too_large = false;
};

std::size_t on_data(char* data, std::size_t size, std::size_t count, void* user) {
  auto* body = static_cast<Body*>(user);
  const std::size_t n = size * count;
  if (body->text.size() + n > body->max) {
    body->too_large = true;
    return 0;  // makes curl stop with CURLE_WRITE_ERROR
  }
  body->text.append(data, n);
  return n;
}

}  // namespace

realtime::Result<std::string> http_get(const JwksFetchOptions& options) {
  std::unique_ptr<CURL, void (*)(CURL*)> curl(curl_easy_init(), curl_easy_cleanup);
  if (!curl) return realtime::Status::internal("cannot start a JWKS request");
  Body body;
  body.max = options.max_bytes;
  char error[CURL_ERROR_SIZE] = {};
  CURL* c = curl.get();
  curl_easy_setopt(c, CURLOPT_URL, options.url.c_str());
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "https");
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(c, CURLOPT_MAXREDIRS, 3L);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, static_cast<long>(options.timeout.count()));
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);  // timeouts without SIGALRM: chatd owns its signals
  curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(options.max_bytes));
  curl_easy_setopt(c, CURLOPT_USERAGENT, "chatd");
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &body);
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, error);
  const CURLcode rc = curl_easy_perform(c);
  if (body.too_large || rc == CURLE_FILESIZE_EXCEEDED) {
    std::string why = "the JWKS document is larger than ";
    why += std::to_string(options.max_bytes);
    why += " bytes";
    return realtime::Status::unavailable(std::move(why));
  }
  if (rc != CURLE_OK) {
    std::string why = "JWKS fetch failed: ";
    why += error[0] ? error : curl_easy_strerror(rc);
    return realtime::Status::unavailable(std::move(why));
  }
  long code = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
  if (code != 200) {
    std::string why = "JWKS fetch answered HTTP ";
    why += std::to_string(code);
    return realtime::Status::unavailable(std::move(why));
  }
  return std::move(body.text);
}

CurlJwksFetcher::CurlJwksFetcher(realtime::Executor& loop, JwksFetchOptions options)
    : loop_(loop), options_(std::move(options)), worker_(loop, 4) {
  curl_global_init(CURL_GLOBAL_DEFAULT);  // before any thread uses curl
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
