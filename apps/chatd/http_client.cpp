// http_call() (http_client.h) over libcurl's easy interface.
#include "http_client.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>

#include <algorithm>
#include <cstdint>
#include <cstring>

#include <memory>
#include <mutex>

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

bool public_v4(std::uint32_t ip) {  // host byte order
  const auto in = [ip](std::uint32_t net, int bits) { return (ip >> (32 - bits)) == (net >> (32 - bits)); };
  return !(in(0x00000000, 8) ||   // "this" network
           in(0x0a000000, 8) ||   // 10/8
           in(0x64400000, 10) ||  // 100.64/10, shared address space
           in(0x7f000000, 8) ||   // loopback
           in(0xa9fe0000, 16) ||  // link-local (cloud metadata services)
           in(0xac100000, 12) ||  // 172.16/12
           in(0xc0000000, 24) ||  // IETF protocol assignments
           in(0xc0a80000, 16) ||  // 192.168/16
           in(0xc6120000, 15) ||  // 198.18/15, benchmarking
           in(0xe0000000, 4) ||   // multicast
           in(0xf0000000, 4));    // reserved and broadcast
}

curl_socket_t open_public_only(void*, curlsocktype purpose, curl_sockaddr* address) {
  if (purpose != CURLSOCKTYPE_IPCXN || !is_public_address(&address->addr)) return CURL_SOCKET_BAD;
  return socket(address->family, address->socktype, address->protocol);
}

}  // namespace

bool is_public_address(const sockaddr* a) {
  if (a->sa_family == AF_INET) {
    sockaddr_in v4;
    std::memcpy(&v4, a, sizeof v4);
    return public_v4(ntohl(v4.sin_addr.s_addr));
  }
  if (a->sa_family != AF_INET6) return false;
  sockaddr_in6 v6;
  std::memcpy(&v6, a, sizeof v6);
  const unsigned char* b = v6.sin6_addr.s6_addr;
  static const unsigned char kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (std::memcmp(b, kMapped, 12) == 0) {
    return public_v4(static_cast<std::uint32_t>(b[12]) << 24 | static_cast<std::uint32_t>(b[13]) << 16 |
                     static_cast<std::uint32_t>(b[14]) << 8 | b[15]);
  }
  static const unsigned char kZero[15] = {};
  if (std::memcmp(b, kZero, 15) == 0) return false;  // :: and ::1
  if ((b[0] & 0xfe) == 0xfc) return false;           // fc00::/7, unique local
  if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80) return false;  // fe80::/10, link-local
  if (b[0] == 0xff) return false;                    // multicast
  return true;
}

void http_client_init() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

realtime::Result<HttpAnswer> http_call(const HttpCall& call) {
  std::unique_ptr<CURL, void (*)(CURL*)> curl(curl_easy_init(), curl_easy_cleanup);
  if (!curl) return realtime::Status::internal("cannot start an HTTP request");
  std::unique_ptr<curl_slist, void (*)(curl_slist*)> headers(nullptr, curl_slist_free_all);
  for (const auto& h : call.headers) {
    curl_slist* next = curl_slist_append(headers.get(), h.c_str());
    if (!next) return realtime::Status::internal("cannot build the request headers");
    (void)headers.release();
    headers.reset(next);
  }
  Body body;
  body.max = call.max_bytes;
  char error[CURL_ERROR_SIZE] = {};
  CURL* c = curl.get();
  curl_easy_setopt(c, CURLOPT_URL, call.url.c_str());
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  if (call.follow_redirects) {
    curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "https");
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(c, CURLOPT_MAXREDIRS, 3L);
  }
  if (call.method == "POST") {
    curl_easy_setopt(c, CURLOPT_POST, 1L);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, call.body.data());
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(call.body.size()));
  } else if (call.method == "DELETE") {
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, "DELETE");
  }
  if (headers) curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers.get());
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, static_cast<long>(call.timeout.count()));
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(std::min(call.connect_timeout, call.timeout).count()));
  if (call.public_only) curl_easy_setopt(c, CURLOPT_OPENSOCKETFUNCTION, open_public_only);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);  // timeouts without SIGALRM: chatd owns its signals
  curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(call.max_bytes));
  curl_easy_setopt(c, CURLOPT_USERAGENT, "chatd");
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &body);
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, error);
  const CURLcode rc = curl_easy_perform(c);
  if (body.too_large || rc == CURLE_FILESIZE_EXCEEDED) {
    std::string why = "the answer is larger than ";
    why += std::to_string(call.max_bytes);
    why += " bytes";
    return realtime::Status::payload_too_large(std::move(why));
  }
  if (rc != CURLE_OK) return realtime::Status::unavailable(error[0] ? error : curl_easy_strerror(rc));
  HttpAnswer out;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &out.status);
  out.body = std::move(body.text);
  return out;
}

}  // namespace chatd
