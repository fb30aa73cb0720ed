// libFuzzer target for the Engine.IO layer: the bytes are a polling
// payload, a WebSocket frame (text and binary) and base64 all at once, and
// the decoded packets drive an engineio::Session. The checks live in
// realtime::engineio::fuzz_one_input (lib/protocol/engineio_fuzz.cpp).
#include <cstddef>
#include <cstdint>

#include "protocol/engineio_fuzz.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  return realtime::engineio::fuzz_one_input(data, size);
}
