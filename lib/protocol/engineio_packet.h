// Engine.IO v4 packets: the codec for WebSocket frames and polling payloads.
//
// Pure functions, no I/O. The lws transport calls them on the loop thread;
// tests and the fuzz target call them directly. A text packet is its type
// digit followed by its data; a binary message is raw bytes over WebSocket
// and "b" + base64 inside a polling payload, where packets are joined by
// the record separator 0x1e.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "realtime/status.h"

namespace realtime::protocol::engineio {

enum class PacketType : std::uint8_t { open = 0, close, ping, pong, message, upgrade, noop };

struct Packet {
  PacketType type = PacketType::message;
  std::string data;     // after the type digit; raw bytes when binary
  bool binary = false;  // only message packets are ever binary

  static Packet text(PacketType t, std::string d = {}) { return {t, std::move(d), false}; }
  static Packet blob(std::string d) { return {PacketType::message, std::move(d), true}; }
  friend bool operator==(const Packet&, const Packet&) = default;
};

inline constexpr char kRecordSeparator = '\x1e';

// "4hello" for a text message; just the data for a binary one (WebSocket).
std::string encode_ws(const Packet& p);
// One WebSocket frame. A binary frame is a binary message; a text frame
// must start with a known type digit.
Result<Packet> decode_ws(std::string_view frame, bool binary);

// Appends one packet in polling form ("b<base64>" for binary).
void append_polling(std::string& out, const Packet& p);
std::string encode_payload(const std::vector<Packet>& packets);
// A polling body. Rejects empty bodies, empty records, unknown types and
// bad base64, and more than max_packets records (a flood cap).
Result<std::vector<Packet>> decode_payload(std::string_view body, std::size_t max_packets = 10000);

std::string base64_encode(std::string_view bytes);
Result<std::string> base64_decode(std::string_view text);

}  // namespace realtime::protocol::engineio
