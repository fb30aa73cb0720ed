// libFuzzer target for the Socket.IO layer: the packet decoder and a whole
// Server over the in-process transport (the session state machine).
//
// Input: messages separated by 0x1e. A message starting with 0x01 is a
// binary frame (the rest of it); one starting with 0x02 advances the loop's
// manual clock by (next byte x 250 ms) so timers (connect, ack, attachment
// timeouts) fire; anything else is a text frame. Single-threaded.
// Invariants checked: nothing crashes or hangs; every decoded packet
// re-encodes to an equal packet; a bystander client that sends nothing is
// never disconnected by another client's input.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "protocol/socketio_packet.h"
#include "realtime/in_process_transport.h"
#include "realtime/socketio_server.h"

namespace {

using realtime::Json;
using namespace realtime::socketio;
using namespace realtime::protocol::socketio;

struct Message {
  enum Kind : std::uint8_t { text, binary, advance } kind;
  std::string_view data;
};

std::vector<Message> split(std::string_view input) {
  std::vector<Message> out;
  while (!input.empty() && out.size() < 256) {
    std::size_t end = input.find('\x1e');
    std::string_view m = input.substr(0, end);
    input = end == std::string_view::npos ? std::string_view() : input.substr(end + 1);
    if (!m.empty() && m[0] == '\x01') {
      out.push_back({Message::binary, m.substr(1)});
    } else if (!m.empty() && m[0] == '\x02') {
      out.push_back({Message::advance, m.substr(1)});
    } else {
      out.push_back({Message::text, m});
    }
  }
  return out;
}

void check_round_trip(const Packet& p) {
  Decoder again(DecoderLimits{1000, 100'000'000, 64});
  std::optional<Packet> back;
  for (const auto& f : encode(p)) {
    auto r = again.feed(f.view(), f.binary);
    if (!r.ok()) __builtin_trap();
    if (r->has_value()) back = std::move(**r);
  }
  if (!back || back->nsp != p.nsp || back->id != p.id || !(back->data == p.data)) __builtin_trap();
}

void fuzz_decoder(const std::vector<Message>& messages) {
  Decoder d(DecoderLimits{4, 4096, 16});
  for (const auto& m : messages) {
    if (m.kind == Message::advance) continue;
    auto r = d.feed(m.data, m.kind == Message::binary);
    if (!r.ok()) {
      if (d.awaiting_attachments() || d.pending_bytes() != 0) __builtin_trap();  // must reset on error
      continue;
    }
    if (r->has_value()) check_round_trip(**r);
  }
}

void fuzz_server(const std::vector<Message>& messages) {
  realtime::InProcessTransport transport;
  Options o;
  o.connect_timeout = std::chrono::seconds(5);
  o.attachment_timeout = std::chrono::seconds(5);
  o.max_attachments = 4;
  o.max_attachment_bytes = 4096;
  o.max_namespaces_per_connection = 2;
  o.max_pending_acks = 4;
  Server io(transport, o);
  io.of("/a");
  io.of("/").use([](Socket& s) -> std::optional<ConnectError> {
    if (s.auth()["deny"].is_bool()) return ConnectError{"denied", s.auth()};
    return std::nullopt;
  });
  io.of("/").on_connection([&io](Socket& s) {
    s.emit("auth", s.auth());
    s.on_any([&io, &s](std::string_view event, const Json::Array& args, const Ack& ack) {
      if (ack) ack(args);
      if (event == "join" && !args.empty() && args[0].is_string()) s.join(args[0].as_string());
      if (event == "leave" && !args.empty() && args[0].is_string()) s.leave(args[0].as_string());
      if (event == "room" && !args.empty() && args[0].is_string()) s.to(args[0].as_string()).emit_args("r", args);
      if (event == "all") io.of("/").emit_args("all", args);
      if (event == "ask") s.emit_with_ack("q", args, std::chrono::seconds(1), [](realtime::Result<Json::Array>) {});
      if (event == "bye") s.disconnect(!args.empty());
    });
  });

  auto bystander = transport.connect();
  bystander->send("0");
  auto client = transport.connect();
  transport.run_until_idle();
  for (const auto& m : messages) {
    if (m.kind == Message::advance) {
      const int steps = m.data.empty() ? 1 : static_cast<unsigned char>(m.data[0]);
      transport.advance(std::chrono::milliseconds(250) * steps);
    } else {
      client->send(std::string(m.data), m.kind == Message::binary);
    }
    transport.run_until_idle(100'000);
    bystander->take();
  }
  if (!bystander->is_open()) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::vector<Message> messages = split(std::string_view(reinterpret_cast<const char*>(data), size));
  fuzz_decoder(messages);
  fuzz_server(messages);
  return 0;
}
