// The @socket.io/redis-emitter decoder: channel names, every MessagePack
// value type, the envelope's rooms/except/flags, and each refusal. Inputs
// are built with msgpack-c's packer (Pack below), plus bytes the stock
// emitter 5.1.0 published, captured once (StockEmitterBytes).
#include "protocol/socketio_emitter.h"

#include <gtest/gtest.h>
#include <msgpack.h>

#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "test_util.h"

namespace realtime::protocol::socketio {
namespace {

using testing::cat;

// A MessagePack writer over msgpack-c's packer.
class Pack {
 public:
  Pack() {
    msgpack_sbuffer_init(&buf_);
    msgpack_packer_init(&pk_, &buf_, msgpack_sbuffer_write);
  }
  ~Pack() { msgpack_sbuffer_destroy(&buf_); }
  Pack(const Pack&) = delete;
  Pack& operator=(const Pack&) = delete;

  Pack& nil() { return check(msgpack_pack_nil(&pk_)); }
  Pack& boolean(bool b) { return check(b ? msgpack_pack_true(&pk_) : msgpack_pack_false(&pk_)); }
  Pack& u64(std::uint64_t v) { return check(msgpack_pack_uint64(&pk_, v)); }
  Pack& i64(std::int64_t v) { return check(msgpack_pack_int64(&pk_, v)); }
  Pack& f32(float v) { return check(msgpack_pack_float(&pk_, v)); }
  Pack& f64(double v) { return check(msgpack_pack_double(&pk_, v)); }
  Pack& str(std::string_view s) {
    check(msgpack_pack_str(&pk_, s.size()));
    return check(msgpack_pack_str_body(&pk_, s.data(), s.size()));
  }
  Pack& bin(std::string_view b) {
    check(msgpack_pack_bin(&pk_, b.size()));
    return check(msgpack_pack_bin_body(&pk_, b.data(), b.size()));
  }
  Pack& ext(std::int8_t type, std::string_view b) {
    check(msgpack_pack_ext(&pk_, b.size(), type));
    return check(msgpack_pack_ext_body(&pk_, b.data(), b.size()));
  }
  Pack& array(std::size_t n) { return check(msgpack_pack_array(&pk_, n)); }
  Pack& map(std::size_t n) { return check(msgpack_pack_map(&pk_, n)); }
  std::string bytes() const { return std::string(buf_.data, buf_.size); }

 private:
  Pack& check(int rc) {
    EXPECT_EQ(rc, 0);
    return *this;
  }
  msgpack_sbuffer buf_;
  msgpack_packer pk_;
};

// What the message around the event looks like; the defaults are what the
// stock emitter sends for emitter.emit(...).
struct Envelope {
  std::string nsp = "/";
  std::vector<std::string> rooms;
  std::vector<std::string> except;
  bool with_volatile = false;
  std::uint64_t type = 2;
};

Envelope on_nsp(std::string nsp) {
  Envelope e;
  e.nsp = std::move(nsp);
  return e;
}
Envelope to_rooms(std::vector<std::string> rooms, std::vector<std::string> except = {}) {
  Envelope e;
  e.rooms = std::move(rooms);
  e.except = std::move(except);
  return e;
}
Envelope of_type(std::uint64_t type) {
  Envelope e;
  e.type = type;
  return e;
}

EmitterLimits max_depth(int n) {
  EmitterLimits l;
  l.max_depth = n;
  return l;
}
EmitterLimits max_bytes(std::size_t n) {
  EmitterLimits l;
  l.max_bytes = n;
  return l;
}
EmitterLimits max_rooms(std::size_t n) {
  EmitterLimits l;
  l.max_rooms = n;
  return l;
}

using ArgsWriter = std::function<void(Pack&)>;

// [uid, {type, data: [event, <args>], nsp}, {rooms, flags, except}], where
// `args` writes `nargs` values.
std::string message(const Envelope& e, std::string_view event, std::size_t nargs, const ArgsWriter& args) {
  Pack p;
  p.array(3).str("emitter");
  p.map(3).str("type").u64(e.type).str("data").array(1 + nargs).str(event);
  if (args) args(p);
  p.str("nsp").str(e.nsp);
  p.map(3).str("rooms").array(e.rooms.size());
  for (const auto& r : e.rooms) p.str(r);
  p.str("flags");
  if (e.with_volatile) {
    p.map(1).str("volatile").boolean(true);
  } else {
    p.map(0);
  }
  p.str("except").array(e.except.size());
  for (const auto& r : e.except) p.str(r);
  return p.bytes();
}

// One argument written by `arg`, in a broadcast on "/".
std::string with_arg(const ArgsWriter& arg) { return message({}, "ev", 1, arg); }

EmitterMessage decode_ok(std::string_view bytes, const EmitterLimits& limits = {}) {
  auto r = decode_emitter_message(bytes, limits);
  EXPECT_TRUE(r.ok()) << r.status().to_string();
  return r.ok() ? std::move(r).value() : EmitterMessage{};
}

// The refusal's Status; fails the test when the bytes were accepted.
Status refused(std::string_view bytes, const EmitterLimits& limits = {}) {
  auto r = decode_emitter_message(bytes, limits);
  EXPECT_FALSE(r.ok()) << "accepted: " << r->args.dump();
  return r.ok() ? Status() : r.status();
}

void expect_refused(std::string_view bytes, StatusCode code, std::string_view says,
                    const EmitterLimits& limits = {}) {
  Status s = refused(bytes, limits);
  EXPECT_EQ(s.code(), code) << s.to_string();
  EXPECT_NE(s.message().find(says), std::string::npos) << s.to_string() << " does not say " << says;
}

std::string from_hex(std::string_view hex) {
  std::string out;
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2) {
    out.push_back(static_cast<char>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
  }
  return out;
}

TEST(EmitterChannel, BroadcastAndRoomChannelsAsTheEmitterNamesThem) {
  EXPECT_EQ(emitter_channel("socket.io", "/"), "socket.io#/#");
  EXPECT_EQ(emitter_channel("socket.io", "/", "room:r1"), "socket.io#/#room:r1#");
  EXPECT_EQ(emitter_channel("app", "/other", "x"), "app#/other#x#");
  EXPECT_EQ(emitter_channel("app", "/other", ""), "app#/other#");
}

// Bytes @socket.io/redis-emitter 5.1.0 (notepack.io 3) published for
//   emitter.to("room:r1").volatile.except("room:r2")
//          .emit("announce", {text: "hi", n: -3, f: 1.5, big: 2 ** 40}, null, [true, false])
//   emitter.of("/other").emit("x")
//   emitter.to(["a", "b"]).emit("y", "é")
TEST(EmitterDecode, StockEmitterBytes) {
  auto m =
      decode_ok(from_hex("93a7656d697474657283a47479706502a46461746194a8616e6e6f756e636584a474657874a26869a16"
                         "efda166cb3ff800000000"
                         "0000a3626967cf0000010000000000c092c3c2a36e7370a12f83a5726f6f6d7391a7726f6f6d3a7231a"
                         "5666c61677381a8766f6c61"
                         "74696c65c3a665786365707491a7726f6f6d3a7232"));
  EXPECT_EQ(m.nsp, "/");
  EXPECT_EQ(m.rooms, std::vector<std::string>{"room:r1"});
  EXPECT_EQ(m.except, std::vector<std::string>{"room:r2"});
  EXPECT_TRUE(m.droppable);
  EXPECT_EQ(m.args.dump(),
            R"(["announce",{"text":"hi","n":-3,"f":1.5,"big":1099511627776},null,[true,false]])");

  m =
      decode_ok(from_hex("93a7656d697474657283a47479706502a46461746191a178a36e7370a62f6f7468657283a5726f6f6d7"
                         "390a5666c61677380a66578"
                         "6365707490"));
  EXPECT_EQ(m.nsp, "/other");
  EXPECT_TRUE(m.rooms.empty());
  EXPECT_TRUE(m.except.empty());
  EXPECT_FALSE(m.droppable);
  EXPECT_EQ(m.args, Json::array({"x"}));

  m =
      decode_ok(from_hex("93a7656d697474657283a47479706502a46461746192a179a2c3a9a36e7370a12f83a5726f6f6d7392a"
                         "161a162a5666c61677380a6"
                         "65786365707490"));
  EXPECT_EQ(m.rooms, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(m.args, Json::array({"y", "\xc3\xa9"}));
}

TEST(EmitterDecode, RoomsExceptVolatileAndAnotherNamespace) {
  Envelope e;
  e.nsp = "/admin";
  e.rooms = {"room:1", "room:2"};
  e.except = {"room:3"};
  e.with_volatile = true;
  auto m = decode_ok(message(e, "tick", 1, [](Pack& p) { p.u64(7); }));
  EXPECT_EQ(m.nsp, "/admin");
  EXPECT_EQ(m.rooms, (std::vector<std::string>{"room:1", "room:2"}));
  EXPECT_EQ(m.except, std::vector<std::string>{"room:3"});
  EXPECT_TRUE(m.droppable);
  EXPECT_EQ(m.args, Json::array({"tick", 7}));
}

TEST(EmitterDecode, ScalarTypes) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  auto m = decode_ok(message({}, "ev", 15, [&](Pack& p) {
    p.nil().boolean(true).boolean(false);
    p.u64(5).u64(300).u64(70'000).u64(std::uint64_t{1} << 40);          // fixint, uint16, uint32, uint64
    p.i64(-1).i64(-200).i64(std::numeric_limits<std::int64_t>::min());  // negative fixint, int16, int64
    p.f32(1.5F).f64(0.1).f64(nan).f64(-std::numeric_limits<double>::infinity());
    p.u64(static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()));
  }));
  ASSERT_TRUE(m.args.is_array());
  const auto& a = m.args.as_array();
  ASSERT_EQ(a.size(), 16U);
  EXPECT_TRUE(a[1].is_null());
  EXPECT_EQ(a[2], Json(true));
  EXPECT_EQ(a[3], Json(false));
  EXPECT_EQ(a[4], Json(5));
  EXPECT_EQ(a[5], Json(300));
  EXPECT_EQ(a[6], Json(70'000));
  EXPECT_EQ(a[7], Json(1LL << 40));
  EXPECT_EQ(a[8], Json(-1));
  EXPECT_EQ(a[9], Json(-200));
  EXPECT_EQ(a[10], Json(static_cast<long long>(std::numeric_limits<std::int64_t>::min())));
  EXPECT_EQ(a[11], Json(1.5));
  EXPECT_EQ(a[12], Json(0.1));
  EXPECT_TRUE(a[13].is_null()) << "NaN reads as JSON.stringify writes it";
  EXPECT_TRUE(a[14].is_null());
  ASSERT_TRUE(a[15].is_int());
  EXPECT_EQ(a[15].as_int(), std::numeric_limits<std::int64_t>::max());
}

TEST(EmitterDecode, Int64MaxStaysIntegerAndLargerUint64BecomesDouble) {
  auto m = decode_ok(message({}, "ev", 2, [](Pack& p) {
    p.u64(static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()));
    p.u64(std::numeric_limits<std::uint64_t>::max());
  }));
  const auto& a = m.args.as_array();
  ASSERT_EQ(a.size(), 3U);
  ASSERT_TRUE(a[1].is_int());
  EXPECT_EQ(a[1].as_int(), std::numeric_limits<std::int64_t>::max());
  ASSERT_EQ(a[2].kind(), Json::Kind::number);
  EXPECT_EQ(a[2].as_double(), 18446744073709551615.0);
}

TEST(EmitterDecode, StringsArraysAndMaps) {
  auto m = decode_ok(with_arg([](Pack& p) {
    p.map(4);
    p.str("s").str("h\xc3\xa9llo \xf0\x9f\x98\x80");
    p.str("").str("");
    p.str("list").array(3).u64(1).array(0).map(0);
    p.str("nested").map(1).str("deeper").array(1).str("x");
  }));
  EXPECT_EQ(m.args.as_array()[1].dump(),
            "{\"s\":\"h\xc3\xa9llo "
            "\xf0\x9f\x98\x80\",\"\":\"\",\"list\":[1,[],{}],\"nested\":{\"deeper\":[\"x\"]}}");
}

TEST(EmitterDecode, NonStringMapKeysBecomeTheirJavaScriptPropertyNames) {
  auto m = decode_ok(with_arg([](Pack& p) {
    p.map(5)
        .u64(1)
        .str("one")
        .i64(-2)
        .str("minus two")
        .boolean(true)
        .u64(3)
        .boolean(false)
        .u64(4)
        .nil()
        .u64(5);
  }));
  EXPECT_EQ(m.args.as_array()[1].dump(), R"({"1":"one","-2":"minus two","true":3,"false":4,"null":5})");
}

TEST(EmitterDecode, RepeatedKeyKeepsItsFirstPlaceAndLastValue) {
  auto m = decode_ok(with_arg([](Pack& p) { p.map(3).str("a").u64(1).str("b").u64(2).str("a").u64(3); }));
  EXPECT_EQ(m.args.as_array()[1].dump(), R"({"a":3,"b":2})");
}

TEST(EmitterDecode, MissingOptionalPartsAndOtherKeyOrders) {
  Pack p;
  p.array(3).str("some-adapter-uid");
  p.map(4).str("nsp").str("/").str("data").array(1).str("ev").str("unknown").u64(1).str("type").u64(2);
  p.map(1).str("flags").map(2).str("compress").boolean(true).str("volatile").boolean(false);
  auto m = decode_ok(p.bytes());
  EXPECT_EQ(m.nsp, "/");
  EXPECT_TRUE(m.rooms.empty());
  EXPECT_TRUE(m.except.empty());
  EXPECT_FALSE(m.droppable);
  EXPECT_EQ(m.args, Json::array({"ev"}));

  Pack q;
  q.array(3).str("u").map(3).str("type").u64(2).str("data").array(1).str("ev").str("nsp").str("/");
  q.map(3).str("rooms").nil().str("except").nil().str("flags").nil();
  EXPECT_EQ(decode_ok(q.bytes()).args, Json::array({"ev"}));
}

TEST(EmitterRefuse, EveryTruncation) {
  Envelope e;
  e.rooms = {"room:1"};
  const std::string whole = message(e, "ev", 2, [](Pack& p) {
    p.map(1).str("k").f64(2.5);
    p.u64(std::numeric_limits<std::uint64_t>::max());
  });
  decode_ok(whole);
  for (std::size_t n = 0; n < whole.size(); ++n) {
    Status s = refused(std::string_view(whole).substr(0, n));
    EXPECT_EQ(s.code(), StatusCode::bad_request) << n;
    EXPECT_NE(s.message().find("truncated"), std::string::npos) << n << ": " << s.to_string();
  }
}

TEST(EmitterRefuse, TrailingBytes) {
  std::string bytes = with_arg([](Pack& p) { p.u64(1); });
  expect_refused(bytes + '\0', StatusCode::bad_request, "trailing");
  expect_refused(bytes + bytes, StatusCode::bad_request, "trailing");
}

TEST(EmitterRefuse, InvalidMessagePackByte) {
  expect_refused("\xc1", StatusCode::bad_request, "invalid MessagePack");
  expect_refused(std::string_view("\x93\xa1u\xc1\x80", 5), StatusCode::bad_request, "invalid MessagePack");
}

TEST(EmitterRefuse, WrongTopLevelShape) {
  const auto shape = [](const std::function<void(Pack&)>& write) {
    Pack p;
    write(p);
    return p.bytes();
  };
  const auto packet = [](Pack& p) {
    p.map(3).str("type").u64(2).str("data").array(1).str("e").str("nsp").str("/");
  };
  expect_refused(shape([](Pack& p) { p.map(0); }), StatusCode::bad_request, "[uid, packet, opts]");
  expect_refused(shape([](Pack& p) { p.str("emitter"); }), StatusCode::bad_request, "[uid, packet, opts]");
  expect_refused(shape([&](Pack& p) {
                   p.array(2).str("u");
                   packet(p);
                 }),
                 StatusCode::bad_request, "[uid, packet, opts]");
  expect_refused(shape([&](Pack& p) {
                   p.array(4).str("u");
                   packet(p);
                   p.map(0).nil();
                 }),
                 StatusCode::bad_request, "[uid, packet, opts]");
  expect_refused(shape([&](Pack& p) {
                   p.array(3).u64(1);
                   packet(p);
                   p.map(0);
                 }),
                 StatusCode::bad_request, "uid is not a string");
  expect_refused(shape([](Pack& p) { p.array(3).str("u").array(0).map(0); }), StatusCode::bad_request,
                 "packet is not a map");
  expect_refused(shape([&](Pack& p) {
                   p.array(3).str("u");
                   packet(p);
                   p.array(0);
                 }),
                 StatusCode::bad_request, "opts is not a map");
  // The packet's own fields.
  expect_refused(shape([](Pack& p) {
                   p.array(3).str("u").map(2).str("data").array(1).str("e").str("nsp").str("/").map(0);
                 }),
                 StatusCode::bad_request, "packet.type");
  expect_refused(
      shape([](Pack& p) {
        p.array(3).str("u").map(3).str("type").str("2").str("data").array(1).str("e").str("nsp").str("/").map(
            0);
      }),
      StatusCode::bad_request, "packet.type");
  expect_refused(shape([](Pack& p) {
                   p.array(3).str("u").map(2).str("type").u64(2).str("data").array(1).str("e").map(0);
                 }),
                 StatusCode::bad_request, "packet.nsp is missing");
  expect_refused(message(on_nsp("other"), "e", 0, {}), StatusCode::bad_request, "'/'");
  expect_refused(message(on_nsp(""), "e", 0, {}), StatusCode::bad_request, "'/'");
  expect_refused(
      shape([](Pack& p) {
        p.array(3).str("u").map(3).str("type").u64(2).str("data").array(0).str("nsp").str("/").map(0);
      }),
      StatusCode::bad_request, "packet.data");
  expect_refused(
      shape([](Pack& p) {
        p.array(3).str("u").map(3).str("type").u64(2).str("data").str("e").str("nsp").str("/").map(0);
      }),
      StatusCode::bad_request, "packet.data");
  expect_refused(
      shape([](Pack& p) {
        p.array(3).str("u").map(3).str("type").u64(2).str("data").array(1).u64(1).str("nsp").str("/").map(0);
      }),
      StatusCode::bad_request, "event name is not a string");
}

TEST(EmitterRefuse, OnlyEventPacketsAreDelivered) {
  expect_refused(message(of_type(5), "e", 0, {}), StatusCode::bad_request, "BINARY_EVENT");
  for (std::uint64_t type : {0, 1, 3, 4, 6, 7, 1000}) {
    expect_refused(message(of_type(type), "e", 0, {}), StatusCode::bad_request, "is not EVENT");
  }
}

TEST(EmitterRefuse, AcknowledgementIds) {
  Pack p;
  p.array(3)
      .str("u")
      .map(4)
      .str("type")
      .u64(2)
      .str("data")
      .array(1)
      .str("e")
      .str("nsp")
      .str("/")
      .str("id")
      .u64(7);
  p.map(0);
  expect_refused(p.bytes(), StatusCode::bad_request, "acknowledgements");
}

TEST(EmitterRefuse, BinaryAndExtensionValuesAnywhere) {
  expect_refused(with_arg([](Pack& p) { p.bin("\x01\x02"); }), StatusCode::bad_request, "binary");
  expect_refused(with_arg([](Pack& p) { p.map(1).str("file").array(1).bin(""); }), StatusCode::bad_request,
                 "binary");
  // notepack writes a Date as the timestamp extension (-1).
  expect_refused(with_arg([](Pack& p) { p.ext(-1, std::string_view("\x39\x45\x79\x80", 4)); }),
                 StatusCode::bad_request, "extension");
  expect_refused(with_arg([](Pack& p) { p.ext(0, std::string_view("\0", 1)); }), StatusCode::bad_request,
                 "extension");
  expect_refused(with_arg([](Pack& p) { p.map(1).bin("k").u64(1); }), StatusCode::bad_request, "map key");
  Pack p;
  p.array(3).str("u").map(3).str("type").u64(2).str("data").array(1).str("e").str("nsp").str("/");
  p.map(1).str("rooms").array(1).bin("room:1");
  expect_refused(p.bytes(), StatusCode::bad_request, "opts.rooms entry is not a string");
}

TEST(EmitterRefuse, MapKeysThatNoPropertyNameComesFrom) {
  expect_refused(with_arg([](Pack& p) { p.map(1).f64(1.5).u64(1); }), StatusCode::bad_request, "map key");
  expect_refused(with_arg([](Pack& p) { p.map(1).array(0).u64(1); }), StatusCode::bad_request, "map key");
  expect_refused(with_arg([](Pack& p) { p.map(1).map(0).u64(1); }), StatusCode::bad_request, "map key");
}

TEST(EmitterRefuse, NonUtf8StringsInKeysValuesRoomsAndNames) {
  for (std::string_view bad :
       {std::string_view("\xff"), std::string_view("\xc0\xaf"),               // invalid, overlong
        std::string_view("\xed\xa0\x80"), std::string_view("ab\xe2\x82")}) {  // surrogate, cut
    expect_refused(with_arg([&](Pack& p) { p.str(bad); }), StatusCode::bad_request, "UTF-8");
    expect_refused(with_arg([&](Pack& p) { p.map(1).str(bad).u64(1); }), StatusCode::bad_request, "UTF-8");
    expect_refused(with_arg([&](Pack& p) { p.array(1).map(1).str("k").str(bad); }), StatusCode::bad_request,
                   "UTF-8");
    expect_refused(message({}, bad, 0, {}), StatusCode::bad_request, "UTF-8");
    expect_refused(message(to_rooms({std::string(bad)}), "e", 0, {}), StatusCode::bad_request, "UTF-8");
    expect_refused(message(to_rooms({}, {std::string(bad)}), "e", 0, {}), StatusCode::bad_request, "UTF-8");
    expect_refused(message(on_nsp(cat("/", bad)), "e", 0, {}), StatusCode::bad_request, "UTF-8");
  }
}

// [[[...[1]...]]] nested `levels` arrays deep inside the data array, which
// is itself 3 deep in the envelope.
std::string nested_arg(int levels) {
  return with_arg([levels](Pack& p) {
    for (int i = 0; i < levels; ++i) p.array(1);
    p.u64(1);
  });
}

TEST(EmitterRefuse, NestingDeeperThanTheLimit) {
  decode_ok(nested_arg(29));  // 3 + 29 = 32 containers deep
  expect_refused(nested_arg(30), StatusCode::bad_request, "nested too deep");
  expect_refused(nested_arg(200), StatusCode::bad_request, "nested too deep");
  // msgpack-c cannot go past 32: a larger limit acts as 32.
  expect_refused(nested_arg(30), StatusCode::bad_request, "nested too deep", max_depth(100));
  decode_ok(nested_arg(2), max_depth(5));
  expect_refused(nested_arg(3), StatusCode::bad_request, "nested too deep", max_depth(5));
  // Empty containers count too.
  expect_refused(with_arg([](Pack& p) { p.array(1).array(1).map(0); }), StatusCode::bad_request,
                 "nested too deep", max_depth(5));
}

TEST(EmitterRefuse, LargerThanMaxBytes) {
  const std::string bytes = with_arg([](Pack& p) { p.str(std::string(2000, 'x')); });
  decode_ok(bytes, max_bytes(bytes.size()));
  expect_refused(bytes, StatusCode::payload_too_large, "larger than the limit", max_bytes(bytes.size() - 1));
  const std::string big = with_arg([](Pack& p) { p.str(std::string(1'000'000, 'x')); });
  expect_refused(big, StatusCode::payload_too_large, "larger than the limit");
}

TEST(EmitterRefuse, MoreRoomsThanTheLimit) {
  std::vector<std::string> rooms;
  for (int i = 0; i < 1000; ++i) rooms.push_back(cat("room:", i));
  auto m = decode_ok(message(to_rooms(rooms, rooms), "e", 0, {}));
  EXPECT_EQ(m.rooms.size(), 1000U);
  EXPECT_EQ(m.except.size(), 1000U);
  rooms.push_back("room:1000");
  expect_refused(message(to_rooms(rooms), "e", 0, {}), StatusCode::payload_too_large, "opts.rooms");
  expect_refused(message(to_rooms({}, rooms), "e", 0, {}), StatusCode::payload_too_large, "opts.except");
  expect_refused(message(to_rooms({"a", "b", "c"}), "e", 0, {}), StatusCode::payload_too_large, "opts.rooms",
                 max_rooms(2));
}

TEST(EmitterRefuse, OptsOfTheWrongTypes) {
  const auto with_opts = [](const std::function<void(Pack&)>& opts) {
    Pack p;
    p.array(3).str("u").map(3).str("type").u64(2).str("data").array(1).str("e").str("nsp").str("/");
    opts(p);
    return p.bytes();
  };
  expect_refused(with_opts([](Pack& p) { p.map(1).str("rooms").str("room:1"); }), StatusCode::bad_request,
                 "opts.rooms is not an array");
  expect_refused(with_opts([](Pack& p) { p.map(1).str("except").map(0); }), StatusCode::bad_request,
                 "opts.except is not an array");
  expect_refused(with_opts([](Pack& p) { p.map(1).str("rooms").array(1).u64(1); }), StatusCode::bad_request,
                 "opts.rooms entry is not a string");
  expect_refused(with_opts([](Pack& p) { p.map(1).str("flags").array(0); }), StatusCode::bad_request,
                 "opts.flags is not a map");
  expect_refused(with_opts([](Pack& p) { p.map(1).str("flags").map(1).str("volatile").u64(1); }),
                 StatusCode::bad_request, "volatile is not a boolean");
}

// A container header may claim up to 2^32 - 1 elements in 5 bytes; msgpack-c
// would reserve room for all of them before reading one. Refused before it
// is asked, whatever the nesting.
TEST(EmitterRefuse, ContainersClaimingMoreElementsThanBytesFollow) {
  for (std::string_view header :
       {std::string_view("\xdd\xff\xff\xff\xff", 5), std::string_view("\xdf\xff\xff\xff\xff", 5),
        std::string_view("\xdc\xff\xff", 3), std::string_view("\xde\x10\x00", 3)}) {
    expect_refused(header, StatusCode::bad_request, "truncated");
    std::string nested = "\x93\xa1u";
    for (int i = 0; i < 20; ++i) nested.append(header);
    expect_refused(nested, StatusCode::bad_request, "truncated");
  }
  // Many siblings, each claiming a little more than is left in the message.
  std::string siblings = "\xdc\x01\x00";                             // array of 256 ...
  for (int i = 0; i < 256; ++i) siblings.append("\xdc\x01\x00", 3);  // ... arrays of 256
  expect_refused(siblings, StatusCode::bad_request, "truncated");
  // A huge string length.
  expect_refused(std::string_view("\x93\xa1u\xdb\xff\xff\xff\xff"
                                  "abc",
                                  11),
                 StatusCode::bad_request, "truncated");
}

}  // namespace
}  // namespace realtime::protocol::socketio
