// Unit tests for the Engine.IO handshake and error JSON.
#include "protocol/engineio_handshake.h"

#include <gtest/gtest.h>

namespace realtime::protocol::engineio {
namespace {

TEST(EngineioHandshake, OpenJsonHasTheFieldsClientsRead) {
  OpenInfo info{"abc", {"websocket"}, 300, 200, 1000000};
  EXPECT_EQ(
      encode_open(info),
      R"({"sid":"abc","upgrades":["websocket"],"pingInterval":300,"pingTimeout":200,"maxPayload":1000000})");
  info.upgrades.clear();
  EXPECT_NE(encode_open(info).find(R"("upgrades":[])"), std::string::npos);
}

TEST(EngineioHandshake, ErrorsMatchTheEngineIoServer) {
  EXPECT_EQ(encode_error(ErrorCode::unknown_transport), R"({"code":0,"message":"Transport unknown"})");
  EXPECT_EQ(encode_error(ErrorCode::unknown_sid), R"({"code":1,"message":"Session ID unknown"})");
  EXPECT_EQ(encode_error(ErrorCode::bad_handshake_method), R"({"code":2,"message":"Bad handshake method"})");
  EXPECT_EQ(encode_error(ErrorCode::bad_request), R"({"code":3,"message":"Bad request"})");
  EXPECT_EQ(encode_error(ErrorCode::unsupported_protocol_version),
            R"({"code":5,"message":"Unsupported protocol version"})");
}

}  // namespace
}  // namespace realtime::protocol::engineio
