// Engine.IO fuzz entry (see engineio_fuzz.h). Single-threaded.
#include "protocol/engineio_fuzz.h"

#include <cstdlib>
#include <string_view>

#include "protocol/engineio_packet.h"
#include "protocol/engineio_session.h"

namespace realtime::protocol::engineio {

int fuzz_one_input(const std::uint8_t* data, std::size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  TimePoint now{};
  Session session(SessionConfig{Millis(300), Millis(200), Millis(1000)}, now);

  if (auto packets = decode_payload(input, 1000); packets.ok()) {
    // Round trip: what decodes must re-encode to something that decodes to
    // the same packets (the text may differ, e.g. base64 padding).
    auto again = decode_payload(encode_payload(*packets), 1000);
    if (!again.ok() || *again != *packets) std::abort();
    int i = 0;
    for (const auto& p : *packets) {
      now += Millis(50);
      Channel ch = (i++ % 3 == 0) ? Channel::probe : Channel::primary;
      (void)session.on_packet(p, ch, now);
      if (now >= session.next_deadline()) (void)session.on_timer(now);
    }
  }
  for (bool binary : {false, true}) {
    if (auto p = decode_ws(input, binary); p.ok()) {
      if (encode_ws(*p) != input) std::abort();
      (void)session.on_packet(*p, Channel::primary, now);
    }
  }
  if (auto bytes = base64_decode(input); bytes.ok()) {
    auto again = base64_decode(base64_encode(*bytes));
    if (!again.ok() || *again != *bytes) std::abort();
  }
  return 0;
}

}  // namespace realtime::protocol::engineio
