// Socket.IO v5 packets: the value type and its text/binary encoding.
//
// Pure code with no I/O, called by the Socket.IO server (lib/socketio) on
// the loop thread and by the fuzz target. A packet travels as one text
// Engine.IO message `<type>[<n>-][<nsp>,][<id>][<json>]`, followed, for the
// binary types, by n binary messages that replace the placeholders
// {"_placeholder":true,"num":i} in the JSON. Decoding is strict: anything
// the official server would reject is an error, so the caller can close
// that connection.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "realtime/connection.h"
#include "realtime/json.h"
#include "realtime/status.h"

namespace realtime::protocol::socketio {

enum class PacketType : std::uint8_t {
  connect = 0,
  disconnect = 1,
  event = 2,
  ack = 3,
  connect_error = 4,
  binary_event = 5,
  binary_ack = 6,
};

struct Packet {
  PacketType type = PacketType::event;
  std::string nsp = "/";
  std::optional<std::uint64_t> id;  // ack id
  Json data;                        // null when the packet carries no payload
};

// Largest ack id accepted: JavaScript's safe integer range stays exact.
inline constexpr std::uint64_t kMaxAckId = (std::uint64_t{1} << 53) - 1;

// Encodes a packet. Binary values anywhere in `data` become placeholders
// plus one binary frame each, and event/ack become binary_event/binary_ack;
// the first frame is always the text header.
std::vector<Frame> encode(const Packet& packet);

// True when some value inside `value` is Binary.
bool has_binary(const Json& value);

// A copy of `value` with every Binary replaced by a placeholder; the bytes
// are appended to `attachments` in the order the placeholders number them.
Json deconstruct_binary(const Json& value, std::vector<std::string>& attachments);

struct DecoderLimits {
  std::size_t max_attachments = 10;               // per packet
  std::size_t max_attachment_bytes = 10'000'000;  // per packet, all attachments together
  int max_depth = 32;                             // JSON nesting
};

// What the text header announced: the packet (placeholders unresolved) and
// how many binary frames follow.
struct Header {
  Packet packet;
  std::size_t attachments = 0;
};

// Parses and validates one text message. Errors are bad_request (or
// payload_too_large for too many attachments).
Result<Header> decode_text(std::string_view text, const DecoderLimits& limits);

// Moves the attachments into the placeholders of `data` that name them.
// Fails (bad_request) on a placeholder whose num is not an index into
// attachments, on two placeholders naming the same attachment, and on an
// attachment no placeholder names; `attachments` is left moved-from.
Status reconstruct(Json& data, std::vector<std::string>& attachments);

// Reassembles packets from a connection's message stream. One per
// connection; not thread-safe.
class Decoder {
 public:
  explicit Decoder(DecoderLimits limits = {}) : limits_(limits) {}

  // Feeds one Engine.IO message. Returns the completed packet, nullopt
  // while attachments are still expected, or an error; after an error the
  // connection should be closed (the decoder's state is reset).
  Result<std::optional<Packet>> feed(std::string_view data, bool binary);

  bool awaiting_attachments() const { return pending_.has_value(); }
  std::size_t pending_bytes() const { return pending_bytes_; }

 private:
  DecoderLimits limits_;
  std::optional<Header> pending_;
  std::vector<std::string> attachments_;
  std::size_t pending_bytes_ = 0;
  void reset();
};

}  // namespace realtime::protocol::socketio
