// Decoding @socket.io/redis-emitter messages with msgpack-c (C API).
//
// Called by chatd's cluster code for each message on an emitter channel,
// on whatever thread it receives on; no state. Two passes over the bytes:
// check_shape() walks the MessagePack headers only, so that msgpack-c is
// never handed input that would make it allocate more than the input's
// size (it reserves a container's whole element array as soon as it reads
// the header, and a 5-byte array32 header may claim four billion
// elements), nor nesting past the limit; then msgpack_unpack_next builds
// the object tree in its zone and to_json() converts it.
#include "protocol/socketio_emitter.h"

#include <msgpack.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <unordered_map>
#include <utility>

#include "realtime/utf8.h"

namespace realtime::protocol::socketio {
namespace {

// msgpack-c's unpacker keeps at most this many open containers
// (MSGPACK_EMBED_STACK_SIZE in its build).
constexpr int kMsgpackMaxDepth = 32;

std::uint64_t read_be(const unsigned char* p, std::size_t n) {
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < n; ++i) v = (v << 8) | p[i];
  return v;
}

// The MessagePack formats 0xc0..0xdf: how long the length field after the
// type byte is (0: none), how many bytes follow it besides what the length
// counts (fixed-size values, an extension's type byte), and whether the
// length counts container elements (array) or key-value pairs (map).
struct Format {
  enum Kind : std::uint8_t { scalar, invalid, array, map } kind;
  std::uint8_t len_bytes;
  std::uint8_t skip;
};
// clang-format off
constexpr Format kS = {Format::scalar, 0, 0};
constexpr Format kFormats[32] = {
    kS, {Format::invalid, 0, 0}, kS, kS,                                     // nil, (unused), false, true
    {Format::scalar, 1, 0}, {Format::scalar, 2, 0}, {Format::scalar, 4, 0},  // bin 8/16/32
    {Format::scalar, 1, 1}, {Format::scalar, 2, 1}, {Format::scalar, 4, 1},  // ext 8/16/32 (+ type byte)
    {Format::scalar, 0, 4}, {Format::scalar, 0, 8},                          // float 32/64
    {Format::scalar, 0, 1}, {Format::scalar, 0, 2}, {Format::scalar, 0, 4}, {Format::scalar, 0, 8},  // uint
    {Format::scalar, 0, 1}, {Format::scalar, 0, 2}, {Format::scalar, 0, 4}, {Format::scalar, 0, 8},  // int
    {Format::scalar, 0, 2}, {Format::scalar, 0, 3}, {Format::scalar, 0, 5}, {Format::scalar, 0, 9},  // fixext
    {Format::scalar, 0, 17},                                                 // fixext 16
    {Format::scalar, 1, 0}, {Format::scalar, 2, 0}, {Format::scalar, 4, 0},  // str 8/16/32
    {Format::array, 2, 0}, {Format::array, 4, 0}, {Format::map, 2, 0}, {Format::map, 4, 0},  // 16/32
};
// clang-format on

// Verifies that `bytes` is exactly one complete MessagePack value, nested at
// most max_depth deep, and that the elements every container declares,
// added up, never exceed the bytes left (each element takes at least one),
// which bounds what msgpack-c allocates by the input size.
Status check_shape(std::string_view bytes, int max_depth) {
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  const std::size_t size = bytes.size();
  std::size_t pos = 0;
  std::uint64_t open[kMsgpackMaxDepth];  // elements still due in each open container
  int depth = 0;
  std::uint64_t pending = 1;  // elements still due overall (the top value first)
  while (pending > 0) {
    if (pos >= size) return Status::bad_request("emitter message: truncated");
    --pending;
    if (depth > 0) --open[depth - 1];
    const unsigned char b = p[pos++];
    std::size_t skip = 0;     // payload bytes after the header
    std::uint64_t items = 0;  // container elements (map: keys and values)
    bool container = false;
    if (b <= 0x7f || b >= 0xe0) {
      // fixint: the header is the value
    } else if (b <= 0x8f) {
      container = true;
      items = 2 * std::uint64_t{b & 0x0fu};
    } else if (b <= 0x9f) {
      container = true;
      items = b & 0x0fu;
    } else if (b <= 0xbf) {
      skip = b & 0x1fu;
    } else {
      const Format f = kFormats[b - 0xc0];
      if (f.kind == Format::invalid) {
        return Status::bad_request("emitter message: invalid MessagePack byte 0xc1");
      }
      skip = f.skip;
      container = f.kind == Format::array || f.kind == Format::map;
      if (f.len_bytes > 0) {
        if (size - pos < f.len_bytes) return Status::bad_request("emitter message: truncated");
        const std::uint64_t n = read_be(p + pos, f.len_bytes);
        pos += f.len_bytes;
        if (!container) {
          skip += n;
        } else {
          items = f.kind == Format::map ? 2 * n : n;
        }
      }
    }
    if (skip > size - pos) return Status::bad_request("emitter message: truncated");
    pos += skip;
    if (container) {
      if (depth >= max_depth) return Status::bad_request("emitter message: nested too deep");
      if (items > size - pos || pending + items > size - pos) {
        return Status::bad_request(
            "emitter message: truncated (a container claims more elements than bytes follow)");
      }
      open[depth++] = items;
      pending += items;
    }
    while (depth > 0 && open[depth - 1] == 0) --depth;
  }
  if (pos != size) return Status::bad_request("emitter message: trailing bytes after the message");
  return {};
}

std::string_view str_of(const msgpack_object& o) { return {o.via.str.ptr, o.via.str.size}; }

Result<std::string> utf8_string(const msgpack_object& o, std::string_view what) {
  if (o.type != MSGPACK_OBJECT_STR) {
    std::string m = "emitter message: ";
    m.append(what);
    m.append(" is not a string");
    return Status::bad_request(std::move(m));
  }
  std::string_view s = str_of(o);
  if (!is_valid_utf8(s)) {
    std::string m = "emitter message: ";
    m.append(what);
    m.append(" is not valid UTF-8");
    return Status::bad_request(std::move(m));
  }
  return std::string(s);
}

// A map key as JavaScript would name the property.
Result<std::string> key_text(const msgpack_object& k) {
  switch (k.type) {
    case MSGPACK_OBJECT_STR:
      return utf8_string(k, "a map key");
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
      return std::to_string(k.via.u64);
    case MSGPACK_OBJECT_NEGATIVE_INTEGER:
      return std::to_string(k.via.i64);
    case MSGPACK_OBJECT_BOOLEAN:
      return std::string(k.via.boolean ? "true" : "false");
    case MSGPACK_OBJECT_NIL:
      return std::string("null");
    default:
      return Status::bad_request("emitter message: a map key is not a string, integer, boolean or nil");
  }
}

Result<Json> to_json(const msgpack_object& o) {
  switch (o.type) {
    case MSGPACK_OBJECT_NIL:
      return Json();
    case MSGPACK_OBJECT_BOOLEAN:
      return Json(o.via.boolean);
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
      if (o.via.u64 > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
        return Json(static_cast<double>(o.via.u64));
      }
      return Json(static_cast<long long>(o.via.u64));
    case MSGPACK_OBJECT_NEGATIVE_INTEGER:
      return Json(static_cast<long long>(o.via.i64));
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64:
      if (!std::isfinite(o.via.f64)) return Json();
      return Json(o.via.f64);
    case MSGPACK_OBJECT_STR: {
      auto s = utf8_string(o, "a string");
      if (!s.ok()) return s.status();
      return Json(std::move(s).value());
    }
    case MSGPACK_OBJECT_ARRAY: {
      Json::Array items;
      items.reserve(o.via.array.size);
      for (std::uint32_t i = 0; i < o.via.array.size; ++i) {
        auto item = to_json(o.via.array.ptr[i]);
        if (!item.ok()) return item.status();
        items.push_back(std::move(item).value());
      }
      return Json(std::move(items));
    }
    case MSGPACK_OBJECT_MAP: {
      Json::Object members;
      members.reserve(o.via.map.size);
      std::unordered_map<std::string, std::size_t> index;  // key -> position in members
      for (std::uint32_t i = 0; i < o.via.map.size; ++i) {
        auto key = key_text(o.via.map.ptr[i].key);
        if (!key.ok()) return key.status();
        auto value = to_json(o.via.map.ptr[i].val);
        if (!value.ok()) return value.status();
        auto [it, inserted] = index.try_emplace(key.value(), members.size());
        if (inserted) {
          members.emplace_back(std::move(key).value(), std::move(value).value());
        } else {
          members[it->second].second = std::move(value).value();
        }
      }
      return Json(std::move(members));
    }
    case MSGPACK_OBJECT_BIN:
      return Status::bad_request("emitter message: binary values (Buffer, ArrayBuffer) are not supported");
    case MSGPACK_OBJECT_EXT:
      return Status::bad_request(
          "emitter message: MessagePack extension values (Date, ...) are not supported");
  }
  return Status::bad_request("emitter message: unknown MessagePack type");
}

const msgpack_object* member(const msgpack_object& map, std::string_view key) {
  for (std::uint32_t i = 0; i < map.via.map.size; ++i) {
    const msgpack_object& k = map.via.map.ptr[i].key;
    if (k.type == MSGPACK_OBJECT_STR && str_of(k) == key) return &map.via.map.ptr[i].val;
  }
  return nullptr;
}

Status room_list(const msgpack_object& opts, std::string_view key, std::size_t max_rooms,
                 std::vector<std::string>& out) {
  const msgpack_object* list = member(opts, key);
  if (list == nullptr || list->type == MSGPACK_OBJECT_NIL) return {};
  std::string what = "emitter message: opts.";
  what.append(key);
  if (list->type != MSGPACK_OBJECT_ARRAY) {
    what.append(" is not an array");
    return Status::bad_request(std::move(what));
  }
  if (list->via.array.size > max_rooms) {
    what.append(" names more rooms than the limit");
    return Status::payload_too_large(std::move(what));
  }
  what.erase(0, std::string_view("emitter message: ").size());
  what.append(" entry");
  out.reserve(list->via.array.size);
  for (std::uint32_t i = 0; i < list->via.array.size; ++i) {
    auto room = utf8_string(list->via.array.ptr[i], what);
    if (!room.ok()) return room.status();
    out.push_back(std::move(room).value());
  }
  return {};
}

Result<EmitterMessage> from_object(const msgpack_object& top, const EmitterLimits& limits) {
  if (top.type != MSGPACK_OBJECT_ARRAY || top.via.array.size != 3) {
    return Status::bad_request("emitter message: not an array [uid, packet, opts]");
  }
  const msgpack_object& uid = top.via.array.ptr[0];
  const msgpack_object& packet = top.via.array.ptr[1];
  const msgpack_object& opts = top.via.array.ptr[2];
  if (uid.type != MSGPACK_OBJECT_STR) return Status::bad_request("emitter message: uid is not a string");
  if (packet.type != MSGPACK_OBJECT_MAP) return Status::bad_request("emitter message: packet is not a map");
  if (opts.type != MSGPACK_OBJECT_MAP) return Status::bad_request("emitter message: opts is not a map");

  const msgpack_object* type = member(packet, "type");
  if (type == nullptr || type->type != MSGPACK_OBJECT_POSITIVE_INTEGER) {
    return Status::bad_request("emitter message: packet.type is not a packet type");
  }
  if (type->via.u64 == 5) {
    return Status::bad_request("emitter message: BINARY_EVENT packets (binary arguments) are not supported");
  }
  if (type->via.u64 != 2) {
    std::string m = "emitter message: packet type ";
    m.append(std::to_string(type->via.u64));
    m.append(" is not EVENT (2); only events are delivered");
    return Status::bad_request(std::move(m));
  }
  if (const msgpack_object* id = member(packet, "id"); id != nullptr && id->type != MSGPACK_OBJECT_NIL) {
    return Status::bad_request("emitter message: acknowledgements (packet.id) are not supported");
  }

  EmitterMessage msg;
  const msgpack_object* nsp = member(packet, "nsp");
  if (nsp == nullptr) return Status::bad_request("emitter message: packet.nsp is missing");
  auto nsp_text = utf8_string(*nsp, "packet.nsp");
  if (!nsp_text.ok()) return nsp_text.status();
  msg.nsp = std::move(nsp_text).value();
  if (msg.nsp.empty() || msg.nsp[0] != '/') {
    return Status::bad_request("emitter message: packet.nsp does not start with '/'");
  }

  const msgpack_object* data = member(packet, "data");
  if (data == nullptr || data->type != MSGPACK_OBJECT_ARRAY || data->via.array.size == 0) {
    return Status::bad_request("emitter message: packet.data is not a non-empty array");
  }
  auto name = utf8_string(data->via.array.ptr[0], "the event name");
  if (!name.ok()) return name.status();
  auto args = to_json(*data);
  if (!args.ok()) return args.status();
  msg.args = std::move(args).value();

  if (Status s = room_list(opts, "rooms", limits.max_rooms, msg.rooms); !s.ok()) return s;
  if (Status s = room_list(opts, "except", limits.max_rooms, msg.except); !s.ok()) return s;
  if (const msgpack_object* flags = member(opts, "flags");
      flags != nullptr && flags->type != MSGPACK_OBJECT_NIL) {
    if (flags->type != MSGPACK_OBJECT_MAP)
      return Status::bad_request("emitter message: opts.flags is not a map");
    const msgpack_object* vol = member(*flags, "volatile");
    if (vol != nullptr && vol->type != MSGPACK_OBJECT_NIL) {
      if (vol->type != MSGPACK_OBJECT_BOOLEAN) {
        return Status::bad_request("emitter message: opts.flags.volatile is not a boolean");
      }
      msg.droppable = vol->via.boolean;
    }
  }
  return msg;
}

// Owns the zone of one msgpack_unpacked for the scope of a decode.
class Unpacked {
 public:
  Unpacked() { msgpack_unpacked_init(&u_); }
  ~Unpacked() { msgpack_unpacked_destroy(&u_); }
  Unpacked(const Unpacked&) = delete;
  Unpacked& operator=(const Unpacked&) = delete;
  msgpack_unpacked* get() { return &u_; }

 private:
  msgpack_unpacked u_;
};

}  // namespace

Result<EmitterMessage> decode_emitter_message(std::string_view bytes, const EmitterLimits& limits) {
  if (bytes.size() > limits.max_bytes) {
    return Status::payload_too_large("emitter message: larger than the limit");
  }
  const int max_depth = limits.max_depth < kMsgpackMaxDepth ? limits.max_depth : kMsgpackMaxDepth;
  if (Status s = check_shape(bytes, max_depth); !s.ok()) return s;

  Unpacked unpacked;
  std::size_t off = 0;
  switch (msgpack_unpack_next(unpacked.get(), bytes.data(), bytes.size(), &off)) {
    case MSGPACK_UNPACK_SUCCESS:
      break;
    case MSGPACK_UNPACK_EXTRA_BYTES:  // check_shape saw none; kept for safety
      return Status::bad_request("emitter message: trailing bytes after the message");
    case MSGPACK_UNPACK_CONTINUE:
      return Status::bad_request("emitter message: truncated");
    case MSGPACK_UNPACK_NOMEM_ERROR:
      return Status::bad_request("emitter message: too large or nested too deep");
    default:
      return Status::bad_request("emitter message: not valid MessagePack");
  }
  if (off != bytes.size()) return Status::bad_request("emitter message: trailing bytes after the message");
  return from_object(unpacked.get()->data, limits);
}

std::string emitter_channel(std::string_view key, std::string_view nsp, std::string_view room) {
  std::string channel;
  channel.reserve(key.size() + nsp.size() + room.size() + 3);
  channel.append(key);
  channel.push_back('#');
  channel.append(nsp);
  channel.push_back('#');
  if (!room.empty()) {
    channel.append(room);
    channel.push_back('#');
  }
  return channel;
}

}  // namespace realtime::protocol::socketio
