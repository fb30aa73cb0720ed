// A blocking loopback HTTP/1.1 client for the transport tests: sends one
// raw request and reads one response (Content-Length framed), with a
// deadline. Test thread only; never used by the library.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace realtime::testing {

struct HttpReply {
  int status = 0;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
};

// nullopt on connect failure, timeout or an unparsable reply.
std::optional<HttpReply> http_raw(int port, std::string_view request, int timeout_ms = 3000);
// GET/POST/... with Connection: close and the body's Content-Length.
std::optional<HttpReply> http(int port, std::string_view method, std::string_view target,
                              std::string_view body = {}, std::string_view extra_headers = {});

}  // namespace realtime::testing
