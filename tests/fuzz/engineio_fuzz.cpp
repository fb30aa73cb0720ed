// libFuzzer target for the Engine.IO layer: the bytes are a polling
// payload, a WebSocket frame (text and binary) and base64 all at once, and
// the decoded packets drive an protocol::engineio::Session. The checks live in
// realtime::protocol::engineio::fuzz_one_input (lib/protocol/engineio_fuzz.cpp).
#include "protocol/engineio_fuzz.h"

#include <cstddef>
#include <cstdint>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  return realtime::protocol::engineio::fuzz_one_input(data, size);
}
