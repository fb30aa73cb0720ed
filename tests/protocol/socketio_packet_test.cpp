// Socket.IO v5 codec: encoding, strict decoding and attachment reassembly.
// Cases marked "suite" mirror what the official protocol test suite sends.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "protocol/socketio_packet.h"

namespace realtime::protocol::socketio {
namespace {

Json bin(std::initializer_list<std::uint8_t> b) { return Json(Json::Binary(b)); }

std::vector<std::string> texts(const std::vector<Frame>& frames) {
  std::vector<std::string> out;
  for (const auto& f : frames) out.emplace_back(f.view());
  return out;
}

Packet decode_ok(std::string_view text) {
  auto h = decode_text(text, {});
  EXPECT_TRUE(h.ok()) << text << ": " << h.status().to_string();
  return h.ok() ? h->packet : Packet{};
}

TEST(SocketIoEncode, ConnectReplyOnMainAndCustomNamespace) {
  auto sid = Json::object({{"sid", "abc"}});
  EXPECT_EQ(texts(encode({PacketType::connect, "/", std::nullopt, sid})), std::vector<std::string>{R"(0{"sid":"abc"})"});
  EXPECT_EQ(texts(encode({PacketType::connect, "/custom", std::nullopt, sid})),
            std::vector<std::string>{R"(0/custom,{"sid":"abc"})"});
}

TEST(SocketIoEncode, EventWithAckIdAndDisconnect) {
  EXPECT_EQ(texts(encode({PacketType::event, "/", 12, Json::array({"hi", 1})})),
            std::vector<std::string>{R"(212["hi",1])"});
  EXPECT_EQ(texts(encode({PacketType::disconnect, "/chat", std::nullopt, {}})), std::vector<std::string>{"1/chat,"});
}

TEST(SocketIoEncode, BinaryBecomesPlaceholdersAndFrames) {  // suite
  auto frames = encode({PacketType::event, "/", std::nullopt, Json::array({"message-back", bin({1, 2, 3}), bin({4, 5, 6})})});
  ASSERT_EQ(frames.size(), 3u);
  EXPECT_EQ(frames[0].view(), R"(52-["message-back",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}])");
  EXPECT_FALSE(frames[0].binary);
  EXPECT_TRUE(frames[1].binary);
  EXPECT_EQ(frames[1].view(), std::string("\x01\x02\x03"));
  EXPECT_EQ(frames[2].view(), std::string("\x04\x05\x06"));
}

TEST(SocketIoEncode, BinaryAckKeepsIdAndNamespace) {  // suite
  auto frames = encode({PacketType::ack, "/x", 789, Json::array({Json::object({{"f", bin({9})}})})});
  ASSERT_EQ(frames.size(), 2u);
  EXPECT_EQ(frames[0].view(), R"(61-/x,789[{"f":{"_placeholder":true,"num":0}}])");
}

TEST(SocketIoDecode, SuitePackets) {
  Packet p = decode_ok("0");
  EXPECT_EQ(p.type, PacketType::connect);
  EXPECT_EQ(p.nsp, "/");
  EXPECT_TRUE(p.data.is_null());

  p = decode_ok(R"(0/custom,{"token":"abc"})");
  EXPECT_EQ(p.nsp, "/custom");
  EXPECT_EQ(p.data["token"].as_string(), "abc");

  p = decode_ok("0/custom");  // no trailing comma
  EXPECT_EQ(p.nsp, "/custom");
  p = decode_ok("1/custom");
  EXPECT_EQ(p.type, PacketType::disconnect);
  EXPECT_EQ(p.nsp, "/custom");

  p = decode_ok(R"(2456["message-with-ack",1,"2",{"3":[false]}])");
  EXPECT_EQ(p.type, PacketType::event);
  ASSERT_TRUE(p.id);
  EXPECT_EQ(*p.id, 456u);
  EXPECT_EQ(p.data.size(), 4u);

  p = decode_ok(R"(3/admin,7["ok"])");
  EXPECT_EQ(p.type, PacketType::ack);
  EXPECT_EQ(p.nsp, "/admin");
  EXPECT_EQ(*p.id, 7u);
}

TEST(SocketIoDecode, RejectsMalformedPackets) {
  const char* bad[] = {
      "",                          // empty
      "abc",                       // unknown type (suite: "4abc")
      "7",                         // type out of range
      "2{}",                       // EVENT payload not an array (suite)
      R"(2abc["message"])",        // bad ack id (suite)
      "2[]",                       // no event name
      "2[1]",                      // event name not a string
      "2",                         // EVENT without payload
      "2[\"a\"",                   // truncated JSON
      "2[\"a\"]x",                 // trailing garbage
      "3[]",                       // ACK without id
      "31{}",                      // ACK payload not an array
      "0[1]",                      // CONNECT payload not an object
      "0\"x\"",                    // CONNECT payload not an object
      "1{}",                       // DISCONNECT with a payload
      "4",                         // CONNECT_ERROR without payload
      "5[\"a\"]",                  // binary type without count
      "5x-[\"a\"]",                // binary type with a bad count
      "511-[\"a\"]",               // more attachments than allowed
      "599999999999-[\"a\"]",      // absurd count
      "29007199254740992[\"a\"]",  // ack id past 2^53-1
  };
  for (const char* text : bad) {
    EXPECT_FALSE(decode_text(text, {}).ok()) << "accepted: " << text;
  }
}

TEST(SocketIoDecode, DepthCapApplies) {
  std::string deep = "2[\"e\",";
  for (int i = 0; i < 40; ++i) deep += "[";
  for (int i = 0; i < 40; ++i) deep += "]";
  deep += "]";
  EXPECT_FALSE(decode_text(deep, {}).ok());
  DecoderLimits loose;
  loose.max_depth = 64;
  EXPECT_TRUE(decode_text(deep, loose).ok());
}

TEST(SocketIoDecoder, ReassemblesAttachments) {  // suite
  Decoder d;
  auto r = d.feed(R"(52-789["message-with-ack",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}])", false);
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->has_value());
  EXPECT_TRUE(d.awaiting_attachments());
  r = d.feed("\x01\x02\x03", true);
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->has_value());
  r = d.feed("\x04\x05\x06", true);
  ASSERT_TRUE(r.ok());
  ASSERT_TRUE(r->has_value());
  const Packet& p = **r;
  EXPECT_EQ(p.type, PacketType::binary_event);
  EXPECT_EQ(*p.id, 789u);
  EXPECT_EQ(p.data.as_array()[1], bin({1, 2, 3}));
  EXPECT_EQ(p.data.as_array()[2], bin({4, 5, 6}));
  EXPECT_FALSE(d.awaiting_attachments());
  EXPECT_EQ(d.pending_bytes(), 0u);
}

TEST(SocketIoDecoder, RoundTripsWhatTheEncoderMakes) {
  Packet in{PacketType::ack, "/n", 3, Json::array({bin({0, 255}), Json::object({{"k", bin({7})}}), "s"})};
  Decoder d;
  std::optional<Packet> out;
  for (const auto& f : encode(in)) {
    auto r = d.feed(f.view(), f.binary);
    ASSERT_TRUE(r.ok()) << r.status().to_string();
    if (r->has_value()) out = std::move(**r);
  }
  ASSERT_TRUE(out);
  EXPECT_EQ(out->type, PacketType::binary_ack);
  EXPECT_EQ(out->nsp, "/n");
  EXPECT_EQ(out->data, in.data);
}

TEST(SocketIoDecoder, RejectsOutOfOrderFrames) {
  Decoder d;
  EXPECT_FALSE(d.feed("\x01", true).ok());  // binary with nothing pending
  ASSERT_TRUE(d.feed(R"(51-["e",{"_placeholder":true,"num":0}])", false).ok());
  EXPECT_FALSE(d.feed(R"(2["e"])", false).ok());  // text while attachments pending
  EXPECT_FALSE(d.awaiting_attachments());          // reset after the error
  EXPECT_TRUE(d.feed(R"(2["e"])", false).ok());
}

TEST(SocketIoDecoder, RejectsBadPlaceholders) {
  Decoder d;
  ASSERT_TRUE(d.feed(R"(51-["e",{"_placeholder":true,"num":1}])", false).ok());
  EXPECT_FALSE(d.feed("x", true).ok());
  ASSERT_TRUE(d.feed(R"(51-["e",{"_placeholder":true,"num":"0"}])", false).ok());
  EXPECT_FALSE(d.feed("x", true).ok());
  EXPECT_FALSE(d.feed(R"(50-["e",{"_placeholder":true,"num":0}])", false).ok());
  auto r = d.feed(R"(50-["e"])", false);  // zero attachments is a complete packet
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->has_value());
}

// Regression: each reference to an attachment copied its bytes, so one
// 64 KB attachment named from a 60 KB packet made the server allocate
// gigabytes, before the namespace or the token were checked.
TEST(SocketIoDecoder, RefusesAPlaceholderUsedTwice) {
  Decoder d;
  ASSERT_TRUE(d.feed(R"(51-["e",{"_placeholder":true,"num":0},[{"_placeholder":true,"num":0}]])", false).ok());
  auto r = d.feed("x", true);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::bad_request);
  EXPECT_FALSE(d.awaiting_attachments());
}

TEST(SocketIoDecoder, RefusesAnAttachmentNoPlaceholderNames) {
  Decoder d;
  ASSERT_TRUE(d.feed(R"(52-["e",{"_placeholder":true,"num":1}])", false).ok());
  ASSERT_TRUE(d.feed("unused", true).ok());
  EXPECT_FALSE(d.feed("x", true).ok());
}

TEST(SocketIoDecoder, AReconstructedPacketHoldsOnlyTheBytesItCarried) {
  Decoder d;
  ASSERT_TRUE(d.feed(R"(52-["e",{"a":{"_placeholder":true,"num":1}},{"_placeholder":true,"num":0}])", false).ok());
  ASSERT_TRUE(d.feed(std::string(100, 'a'), true).ok());
  auto r = d.feed(std::string(200, 'b'), true);
  ASSERT_TRUE(r.ok());
  ASSERT_TRUE(r->has_value());
  const Json& data = (**r).data;
  EXPECT_EQ(data.as_array()[1]["a"].as_binary().size(), 200u);
  EXPECT_EQ(data.as_array()[2].as_binary().size(), 100u);
}

TEST(SocketIoDecoder, BoundsAttachmentBytes) {
  DecoderLimits limits;
  limits.max_attachment_bytes = 10;
  Decoder d(limits);
  ASSERT_TRUE(d.feed(R"(52-["e",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}])", false).ok());
  ASSERT_TRUE(d.feed("123456", true).ok());
  auto r = d.feed("123456", true);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::payload_too_large);
  EXPECT_EQ(d.pending_bytes(), 0u);
}

}  // namespace
}  // namespace realtime::protocol::socketio
