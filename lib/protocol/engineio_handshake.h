// Engine.IO v4 handshake: the open packet's JSON and the error bodies.
//
// Pure code used by the lws transport on the loop thread. The field names,
// error codes and messages are what the official engine.io server sends
// (lib/server.ts), because clients and the conformance suite check them.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace realtime::protocol::engineio {

struct OpenInfo {
  std::string sid;
  std::vector<std::string> upgrades;  // ["websocket"] on polling, [] on WebSocket
  std::int64_t ping_interval_ms = 25000;
  std::int64_t ping_timeout_ms = 20000;
  std::int64_t max_payload = 1000000;
};

// {"sid":"..","upgrades":[..],"pingInterval":N,"pingTimeout":N,"maxPayload":N}
std::string encode_open(const OpenInfo& info);

enum class ErrorCode : int {
  unknown_transport = 0,
  unknown_sid = 1,
  bad_handshake_method = 2,
  bad_request = 3,
  forbidden = 4,
  unsupported_protocol_version = 5,
};
std::string_view error_message(ErrorCode code);
// {"code":N,"message":"..."}: the body of an HTTP 400 (403 for forbidden).
std::string encode_error(ErrorCode code);

}  // namespace realtime::protocol::engineio
