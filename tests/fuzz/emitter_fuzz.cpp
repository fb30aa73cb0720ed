// libFuzzer target for the @socket.io/redis-emitter decoder: the input is
// one message as it would arrive on an emitter channel.
//
// Single-threaded. Invariants checked: nothing crashes, hangs or allocates
// past the input's size (libFuzzer's -malloc_limit_mb, ASan); an accepted
// message has an array of args whose first item is a string, only valid
// UTF-8, rooms within the limit and a namespace starting with '/'; and it
// survives re-encoding: the decoded message, packed again with msgpack-c,
// decodes to the same message.
#include <msgpack.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "protocol/socketio_emitter.h"

namespace {

using realtime::Json;
using namespace realtime::protocol::socketio;

void pack_str(msgpack_packer& pk, std::string_view s) {
  msgpack_pack_str(&pk, s.size());
  msgpack_pack_str_body(&pk, s.data(), s.size());
}

void pack(msgpack_packer& pk, const Json& v) {
  switch (v.kind()) {
    case Json::Kind::null:
      msgpack_pack_nil(&pk);
      break;
    case Json::Kind::boolean:
      v.as_bool() ? msgpack_pack_true(&pk) : msgpack_pack_false(&pk);
      break;
    case Json::Kind::integer:
      msgpack_pack_int64(&pk, v.as_int());
      break;
    case Json::Kind::number:
      msgpack_pack_double(&pk, v.as_double());
      break;
    case Json::Kind::string:
      pack_str(pk, v.as_string());
      break;
    case Json::Kind::binary:
      __builtin_trap();  // the decoder never yields binary
    case Json::Kind::array:
      msgpack_pack_array(&pk, v.as_array().size());
      for (const auto& item : v.as_array()) pack(pk, item);
      break;
    case Json::Kind::object:
      msgpack_pack_map(&pk, v.as_object().size());
      for (const auto& [key, value] : v.as_object()) {
        pack_str(pk, key);
        pack(pk, value);
      }
      break;
  }
}

std::string reencode(const EmitterMessage& m) {
  msgpack_sbuffer buf;
  msgpack_sbuffer_init(&buf);
  msgpack_packer pk;
  msgpack_packer_init(&pk, &buf, msgpack_sbuffer_write);
  msgpack_pack_array(&pk, 3);
  pack_str(pk, "emitter");
  msgpack_pack_map(&pk, 3);
  pack_str(pk, "type");
  msgpack_pack_uint8(&pk, 2);
  pack_str(pk, "data");
  pack(pk, m.args);
  pack_str(pk, "nsp");
  pack_str(pk, m.nsp);
  msgpack_pack_map(&pk, 3);
  pack_str(pk, "rooms");
  msgpack_pack_array(&pk, m.rooms.size());
  for (const auto& r : m.rooms) pack_str(pk, r);
  pack_str(pk, "except");
  msgpack_pack_array(&pk, m.except.size());
  for (const auto& r : m.except) pack_str(pk, r);
  pack_str(pk, "flags");
  msgpack_pack_map(&pk, 1);
  pack_str(pk, "volatile");
  m.droppable ? msgpack_pack_true(&pk) : msgpack_pack_false(&pk);
  std::string out(buf.data, buf.size);
  msgpack_sbuffer_destroy(&buf);
  return out;
}

void check(std::string_view bytes, const EmitterLimits& limits) {
  auto r = decode_emitter_message(bytes, limits);
  if (!r.ok()) return;
  const EmitterMessage& m = r.value();
  if (!m.args.is_array() || m.args.size() == 0 || !m.args.as_array()[0].is_string()) __builtin_trap();
  if (!m.args.valid_utf8() || m.nsp.empty() || m.nsp[0] != '/') __builtin_trap();
  if (m.rooms.size() > limits.max_rooms || m.except.size() > limits.max_rooms) __builtin_trap();
  EmitterLimits roomy;
  roomy.max_bytes = 1u << 30;
  auto again = decode_emitter_message(reencode(m), roomy);
  if (!again.ok()) __builtin_trap();
  if (again->nsp != m.nsp || again->rooms != m.rooms || again->except != m.except ||
      again->droppable != m.droppable || !(again->args == m.args)) {
    __builtin_trap();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  check(bytes, EmitterLimits{});
  EmitterLimits tight;
  tight.max_bytes = 2048;
  tight.max_depth = 8;
  tight.max_rooms = 3;
  check(bytes, tight);
  return 0;
}
