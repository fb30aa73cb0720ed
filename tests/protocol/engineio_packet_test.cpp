// Unit tests for the Engine.IO v4 packet codec (lib/protocol/engineio_packet).
#include "protocol/engineio_packet.h"

#include <gtest/gtest.h>

namespace realtime::protocol::engineio {
namespace {

TEST(EngineioPacket, EncodesTextTypes) {
  EXPECT_EQ(encode_ws(Packet::text(PacketType::message, "hello")), "4hello");
  EXPECT_EQ(encode_ws(Packet::text(PacketType::ping, "probe")), "2probe");
  EXPECT_EQ(encode_ws(Packet::text(PacketType::noop)), "6");
  EXPECT_EQ(encode_ws(Packet::text(PacketType::open, "{}")), "0{}");
}

TEST(EngineioPacket, BinaryOverWebSocketIsRaw) {
  std::string raw("\x01\x02\x00\x04", 4);
  EXPECT_EQ(encode_ws(Packet::blob(raw)), raw);
  auto p = decode_ws(raw, true);
  ASSERT_TRUE(p.ok());
  EXPECT_TRUE(p->binary);
  EXPECT_EQ(p->data, raw);
}

TEST(EngineioPacket, DecodesEveryTextType) {
  for (char c = '0'; c <= '6'; ++c) {
    auto p = decode_ws(std::string(1, c) + "x", false);
    ASSERT_TRUE(p.ok()) << c;
    EXPECT_EQ(static_cast<int>(p->type), c - '0');
    EXPECT_EQ(p->data, "x");
  }
}

TEST(EngineioPacket, RejectsUnknownTypeAndEmpty) {
  EXPECT_FALSE(decode_ws("7abc", false).ok());
  EXPECT_FALSE(decode_ws("x", false).ok());
  EXPECT_FALSE(decode_ws("", false).ok());
}

TEST(EngineioPacket, PayloadJoinsWithRecordSeparator) {
  std::vector<Packet> ps{Packet::text(PacketType::message, "a"),
                         Packet::blob(std::string("\x01\x02\x03\x04", 4)), Packet::text(PacketType::ping)};
  EXPECT_EQ(encode_payload(ps),
            "4a\x1e"
            "bAQIDBA==\x1e"
            "2");
  auto back = decode_payload(
      "4a\x1e"
      "bAQIDBA==\x1e"
      "2");
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, ps);
}

TEST(EngineioPacket, PayloadRejectsMalformedRecords) {
  EXPECT_FALSE(decode_payload("").ok());
  EXPECT_FALSE(decode_payload("4a\x1e").ok());  // empty trailing record
  EXPECT_FALSE(decode_payload("\x1e"
                              "4a")
                   .ok());
  EXPECT_FALSE(decode_payload("9hello").ok());
  EXPECT_FALSE(decode_payload("b!!!!").ok());
}

TEST(EngineioPacket, PayloadPacketCapStopsFloods) {
  std::string body = "6";
  for (int i = 0; i < 20; ++i)
    body +=
        "\x1e"
        "6";
  EXPECT_TRUE(decode_payload(body, 21).ok());
  EXPECT_FALSE(decode_payload(body, 20).ok());
}

TEST(EngineioPacket, Base64RoundTripsAllLengths) {
  std::string bytes;
  for (int i = 0; i < 40; ++i) {
    auto back = base64_decode(base64_encode(bytes));
    ASSERT_TRUE(back.ok());
    EXPECT_EQ(*back, bytes);
    bytes.push_back(static_cast<char>(i * 37));
  }
  EXPECT_EQ(base64_encode("hello"), "aGVsbG8=");
  EXPECT_EQ(*base64_decode("aGVsbG8"), "hello");  // padding optional
  EXPECT_FALSE(base64_decode("a").ok());
}

}  // namespace
}  // namespace realtime::protocol::engineio
