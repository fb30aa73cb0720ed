// http_call(): one blocking HTTP(S) request with libcurl, for chatd's
// requests out (JWKS fetches, webhooks, Web Push). The only place that
// includes curl. Call it on a worker thread, never on a loop: it waits for
// the network, up to `timeout`.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <vector>

#include <sys/socket.h>

#include "realtime/status.h"

namespace chatd {

struct HttpCall {
  std::string method = "GET";           // GET or POST
  std::string url;                      // http:// or https:// only
  std::vector<std::string> headers;     // "Name: value"
  std::string body;                     // sent with POST
  std::chrono::milliseconds timeout{5000};  // the whole request, connect included
  // A host that does not answer costs this, not the whole timeout: one
  // dead push endpoint must not hold the sender's thread for long.
  std::chrono::milliseconds connect_timeout{2000};
  // Connect only to public addresses: refuses loopback, private, link-local,
  // shared (CGNAT), multicast and reserved ones, checked on the address
  // actually connected to (so a DNS name that resolves inward is refused
  // too). For URLs a user gave (Web Push endpoints): no requests into the
  // operator's network.
  bool public_only = false;
  std::size_t max_bytes = 64 * 1024;    // a longer answer body fails the call
  bool follow_redirects = false;        // to https only, at most 3
};

struct HttpAnswer {
  long status = 0;
  std::string body;
};

// Any HTTP status is an answer; no answer (connect, timeout, TLS) is
// unavailable, and an answer body past max_bytes payload_too_large.
realtime::Result<HttpAnswer> http_call(const HttpCall& call);

// Whether public_only lets a connection to `a` through (IPv4 and IPv6;
// IPv4-mapped IPv6 judged by its IPv4 address).
bool is_public_address(const sockaddr* a);

// Once per process, before any thread calls http_call().
void http_client_init();

}  // namespace chatd
