// Small helpers of the Connection vocabulary: close reason names, cookies.
#include "realtime/connection.h"

namespace realtime {

std::string_view close_reason_name(CloseReason r) {
  switch (r) {
    case CloseReason::client_close: return "client close";
    case CloseReason::server_close: return "server close";
    case CloseReason::transport_error: return "transport error";
    case CloseReason::ping_timeout: return "ping timeout";
    case CloseReason::parse_error: return "parse error";
    case CloseReason::too_slow: return "too slow";
    case CloseReason::server_shutdown: return "server shutting down";
  }
  return "unknown";
}

std::string Handshake::cookie(std::string_view name) const {
  auto it = headers.find("cookie");
  if (it == headers.end()) return {};
  std::string_view rest = it->second;
  while (!rest.empty()) {
    auto semi = rest.find(';');
    std::string_view part = rest.substr(0, semi);
    rest = semi == std::string_view::npos ? std::string_view() : rest.substr(semi + 1);
    while (!part.empty() && part.front() == ' ') part.remove_prefix(1);
    auto eq = part.find('=');
    if (eq == std::string_view::npos) continue;
    if (part.substr(0, eq) == name) return std::string(part.substr(eq + 1));
  }
  return {};
}

}  // namespace realtime
