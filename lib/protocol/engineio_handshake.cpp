// Engine.IO v4 handshake JSON (see engineio_handshake.h). Pure; any thread.
#include "protocol/engineio_handshake.h"

#include "realtime/json.h"

namespace realtime::protocol::engineio {

std::string encode_open(const OpenInfo& info) {
  Json::Array upgrades;
  for (const auto& u : info.upgrades) upgrades.emplace_back(u);
  Json j = Json::object({{"sid", info.sid},
                         {"upgrades", Json(std::move(upgrades))},
                         {"pingInterval", Json(static_cast<long long>(info.ping_interval_ms))},
                         {"pingTimeout", Json(static_cast<long long>(info.ping_timeout_ms))},
                         {"maxPayload", Json(static_cast<long long>(info.max_payload))}});
  return j.dump();
}

std::string_view error_message(ErrorCode code) {
  switch (code) {
    case ErrorCode::unknown_transport:
      return "Transport unknown";
    case ErrorCode::unknown_sid:
      return "Session ID unknown";
    case ErrorCode::bad_handshake_method:
      return "Bad handshake method";
    case ErrorCode::bad_request:
      return "Bad request";
    case ErrorCode::forbidden:
      return "Forbidden";
    case ErrorCode::unsupported_protocol_version:
      return "Unsupported protocol version";
  }
  return "Bad request";
}

std::string encode_error(ErrorCode code) {
  Json j = Json::object({{"code", Json(static_cast<int>(code))}, {"message", Json(error_message(code))}});
  return j.dump();
}

}  // namespace realtime::protocol::engineio
