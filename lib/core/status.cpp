// Wire names of status codes; shared by acks, REST errors and logs.
#include "realtime/status.h"

#include <cstdio>
#include <cstdlib>

namespace realtime {

std::string_view code_name(StatusCode code) {
  switch (code) {
    case StatusCode::ok: return "ok";
    case StatusCode::bad_request: return "bad_request";
    case StatusCode::unauthorized: return "unauthorized";
    case StatusCode::forbidden: return "forbidden";
    case StatusCode::not_found: return "not_found";
    case StatusCode::room_ended: return "room_ended";
    case StatusCode::rate_limited: return "rate_limited";
    case StatusCode::payload_too_large: return "payload_too_large";
    case StatusCode::peer_not_found: return "peer_not_found";
    case StatusCode::conflict: return "conflict";
    case StatusCode::internal: return "internal";
    case StatusCode::unavailable: return "unavailable";
  }
  return "internal";
}

std::string Status::to_string() const {
  std::string s(code_name(code_));
  if (!message_.empty()) {
    s += ": ";
    s += message_;
  }
  return s;
}

namespace detail {

void result_value_on_error(const Status& status) {
  std::fprintf(stderr, "librealtime: Result::value() on an error: %s\n", status.to_string().c_str());
  std::fflush(stderr);
  std::abort();
}

}  // namespace detail

}  // namespace realtime
