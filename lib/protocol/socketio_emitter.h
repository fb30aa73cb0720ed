// What the stock @socket.io/redis-emitter publishes, decoded: the channel
// names it publishes on and its MessagePack broadcast message.
//
// An application backend (any process with a Redis client) emits events to
// chatd's sockets through the npm package @socket.io/redis-emitter; it
// publishes one MessagePack array [uid, packet, opts] per emit on
// "<key>#<nsp>#" (to every socket, or to several rooms) or
// "<key>#<nsp>#<room>#" (to exactly one room). chatd's cluster code
// subscribes to those channels, decodes each message here and delivers it to
// its own sockets. Pure code with no I/O and no state: callable from any
// thread (chatd calls it on the loop thread). The bytes come from whoever
// can publish on the Redis, so decoding is strict and bounded: anything this
// cannot deliver exactly as a Socket.IO server would is an error Status,
// never a crash, and memory stays proportional to the message size.
// Built only when msgpack-c is found (REALTIME_HAS_MSGPACK).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "realtime/json.h"
#include "realtime/status.h"

namespace realtime::protocol::socketio {

// One emit, ready to deliver to the sockets of namespace `nsp` that are in
// at least one of `rooms` (every socket of nsp when rooms is empty) and in
// none of `except`.
struct EmitterMessage {
  std::string nsp;                 // "/" or "/other", as the packet names it
  std::vector<std::string> rooms;  // Socket.IO room names; empty: every socket
  std::vector<std::string> except;
  bool droppable = false;  // flags.volatile: may be dropped for a slow socket
  Json args;               // array: the event name (a string) first, then its arguments
};

struct EmitterLimits {
  // Largest message accepted (payload_too_large above it). Checked before
  // anything is parsed.
  std::size_t max_bytes = 1'000'000;
  // Containers nested inside each other in the whole message, the envelope
  // included ([uid, {data: [event, ...]}] is already 3 deep). msgpack-c
  // itself stops at 32, so larger values act as 32.
  int max_depth = 32;
  // Entries in opts.rooms, and separately in opts.except
  // (payload_too_large above it).
  std::size_t max_rooms = 1000;
};

// Decodes one published message. Refused, with a bad_request Status naming
// the reason: bytes that are not exactly one MessagePack value (truncated,
// trailing bytes), a top level other than [string, map, map], a packet whose
// type is not EVENT (2) (BINARY_EVENT, acks and the rest), a packet with an
// ack id, binary or extension values (Buffer, Date) anywhere, strings or map
// keys that are not UTF-8, map keys that are not strings, integers, booleans
// or nil (integer and boolean keys become their decimal/"true" text, like a
// JavaScript object's keys), nesting deeper than max_depth, room names that
// are not strings. Too large or too many rooms: payload_too_large.
// Conversion: nil -> null, integers -> integer (a uint64 above INT64_MAX
// -> a double, as JavaScript reads it), floats -> double (NaN and the
// infinities -> null, as JSON.stringify writes them), maps -> objects in
// their order (a repeated key keeps its first place and its last value).
Result<EmitterMessage> decode_emitter_message(std::string_view bytes, const EmitterLimits& limits = {});

// The channel the emitter publishes on: "<key>#<nsp>#" for a broadcast (and
// any emit to several rooms), "<key>#<nsp>#<room>#" when it targets exactly
// one room. nsp as the packet names it ("/", "/other"); the emitter's
// default key is "socket.io". An empty room means the broadcast channel.
std::string emitter_channel(std::string_view key, std::string_view nsp, std::string_view room = {});

}  // namespace realtime::protocol::socketio
