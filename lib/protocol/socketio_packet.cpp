// Socket.IO v5 packet text format: encode and strict decode of the header
// and JSON payload. Called by the Socket.IO server on the loop thread (and
// by the fuzz target); pure functions.
#include "protocol/socketio_packet.h"

#include <charconv>
#include <string>
#include <utility>

namespace realtime::protocol::socketio {
namespace {

bool is_binary_type(PacketType t) {
  return t == PacketType::binary_event || t == PacketType::binary_ack;
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// The payload rules of the official parser: what each type may carry.
Status validate_payload(const Packet& p, bool has_payload) {
  switch (p.type) {
    case PacketType::connect:
      if (has_payload && !p.data.is_object()) return Status::bad_request("CONNECT payload must be an object");
      return {};
    case PacketType::disconnect:
      if (has_payload) return Status::bad_request("DISCONNECT carries no payload");
      return {};
    case PacketType::connect_error:
      if (!p.data.is_object() && !p.data.is_string()) return Status::bad_request("CONNECT_ERROR payload must be an object or string");
      return {};
    case PacketType::event:
    case PacketType::binary_event:
      if (!p.data.is_array() || p.data.as_array().empty() || !p.data.as_array()[0].is_string())
        return Status::bad_request("EVENT payload must be an array starting with the event name");
      return {};
    case PacketType::ack:
    case PacketType::binary_ack:
      if (!p.id) return Status::bad_request("ACK without an id");
      if (!p.data.is_array()) return Status::bad_request("ACK payload must be an array");
      return {};
  }
  return Status::bad_request("unknown packet type");
}

}  // namespace

std::vector<Frame> encode(const Packet& packet) {
  std::vector<std::string> attachments;
  const bool binary = has_binary(packet.data);
  Json stripped;
  if (binary) stripped = deconstruct_binary(packet.data, attachments);
  const Json& payload = binary ? stripped : packet.data;

  PacketType type = packet.type;
  if (binary && type == PacketType::event) type = PacketType::binary_event;
  if (binary && type == PacketType::ack) type = PacketType::binary_ack;

  std::string text;
  text.push_back(static_cast<char>('0' + static_cast<int>(type)));
  if (is_binary_type(type)) {
    text += std::to_string(attachments.size());
    text.push_back('-');
  }
  if (packet.nsp != "/" && !packet.nsp.empty()) {
    text += packet.nsp;
    text.push_back(',');
  }
  if (packet.id) text += std::to_string(*packet.id);
  if (!payload.is_null()) payload.dump_to(text);

  std::vector<Frame> frames;
  frames.reserve(1 + attachments.size());
  frames.push_back(Frame::text(std::move(text)));
  for (auto& a : attachments) frames.push_back(Frame::blob(std::move(a)));
  return frames;
}

Result<Header> decode_text(std::string_view text, const DecoderLimits& limits) {
  if (text.empty() || text[0] < '0' || text[0] > '6') return Status::bad_request("unknown packet type");
  Header h;
  h.packet.type = static_cast<PacketType>(text[0] - '0');
  std::size_t i = 1;

  if (is_binary_type(h.packet.type)) {
    const std::size_t start = i;
    while (i < text.size() && is_digit(text[i]) && i - start < 10) ++i;
    if (i == start || i >= text.size() || text[i] != '-') return Status::bad_request("illegal attachments");
    std::size_t n = 0;
    std::from_chars(text.data() + start, text.data() + i, n);
    if (n > limits.max_attachments) return Status::payload_too_large("too many attachments");
    h.attachments = n;
    ++i;  // '-'
  }

  if (i < text.size() && text[i] == '/') {
    const std::size_t comma = text.find(',', i);
    const std::size_t end = comma == std::string_view::npos ? text.size() : comma;
    h.packet.nsp.assign(text.substr(i, end - i));
    i = comma == std::string_view::npos ? text.size() : comma + 1;
  }

  if (i < text.size() && is_digit(text[i])) {
    const std::size_t start = i;
    while (i < text.size() && is_digit(text[i])) ++i;
    std::uint64_t id = 0;
    auto [ptr, ec] = std::from_chars(text.data() + start, text.data() + i, id);
    if (ec != std::errc() || ptr != text.data() + i || id > kMaxAckId) return Status::bad_request("bad ack id");
    h.packet.id = id;
  }

  const bool has_payload = i < text.size();
  if (has_payload) {
    // Strings with invalid Unicode (a lone surrogate from JavaScript) are
    // kept: the application answers them with an error instead of losing
    // the whole connection to one bad string.
    auto parsed = Json::parse(text.substr(i), limits.max_depth, /*keep_invalid_utf8=*/true);
    if (!parsed.ok()) return Status::bad_request("bad JSON payload: " + parsed.status().message());
    h.packet.data = std::move(parsed).value();
  }
  Status s = validate_payload(h.packet, has_payload);
  if (!s.ok()) return s;
  return h;
}

}  // namespace realtime::protocol::socketio
