// libFuzzer target for the Engine.IO layer: the same bytes are read as a
// polling payload, as a WebSocket frame (text and binary) and as base64, and
// the decoded packets drive a protocol::engineio::Session (heartbeat, probe/upgrade).
// It traps when a decoded payload does not decode to the same packets after
// re-encoding, when a frame does not re-encode to the same bytes, or when
// base64 does not round-trip. Built only with -DREALTIME_FUZZ=ON;
// single-threaded.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>
#include <vector>

#include "protocol/engineio_packet.h"
#include "protocol/engineio_session.h"

namespace {

namespace eio = realtime::protocol::engineio;

// Packets of one polling payload, fed in turn as time passes; every third
// goes to the probe channel so that the upgrade paths run too.
void drive_session(eio::Session& session, const std::vector<eio::Packet>& packets, eio::TimePoint& now) {
  int i = 0;
  for (const auto& p : packets) {
    now += eio::Millis(50);
    eio::Channel ch = (i++ % 3 == 0) ? eio::Channel::probe : eio::Channel::primary;
    (void)session.on_packet(p, ch, now);
    if (now >= session.next_deadline()) (void)session.on_timer(now);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  eio::TimePoint now{};
  eio::Session session(eio::SessionConfig{eio::Millis(300), eio::Millis(200), eio::Millis(1000)}, now);

  if (auto packets = eio::decode_payload(input, 1000); packets.ok()) {
    // What decodes must re-encode to text that decodes to the same packets
    // (the text itself may differ, e.g. in base64 padding).
    auto again = eio::decode_payload(eio::encode_payload(*packets), 1000);
    if (!again.ok() || *again != *packets) std::abort();
    drive_session(session, *packets, now);
  }
  for (bool binary : {false, true}) {
    if (auto p = eio::decode_ws(input, binary); p.ok()) {
      if (eio::encode_ws(*p) != input) std::abort();
      (void)session.on_packet(*p, eio::Channel::primary, now);
    }
  }
  if (auto bytes = eio::base64_decode(input); bytes.ok()) {
    auto again = eio::base64_decode(eio::base64_encode(*bytes));
    if (!again.ok() || *again != *bytes) std::abort();
  }
  return 0;
}
