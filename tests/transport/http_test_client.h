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

// One loopback connection driven step by step: for requests whose body is
// sent late, slowly or never. Optionally from another loopback source
// address (127.0.0.2, ...) to act as a second client address.
class RawConnection {
 public:
  explicit RawConnection(int port, const char* source_address = nullptr);
  ~RawConnection();
  RawConnection(const RawConnection&) = delete;
  RawConnection& operator=(const RawConnection&) = delete;

  bool connected() const { return fd_ >= 0; }
  bool send(std::string_view bytes);  // false once the server has closed or reset
  // The reply, once whole (or cut short by a close); nullopt on timeout.
  std::optional<HttpReply> reply(int timeout_ms);
  // Whether the server closed the connection within the time (EOF or reset).
  bool closed_within(int timeout_ms);

 private:
  int fd_ = -1;
  std::string raw_;
};
// GET/POST/... with Connection: close and the body's Content-Length.
std::optional<HttpReply> http(int port, std::string_view method, std::string_view target,
                              std::string_view body = {}, std::string_view extra_headers = {});

}  // namespace realtime::testing
