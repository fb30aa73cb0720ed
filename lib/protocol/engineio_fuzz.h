// Fuzz entry for the Engine.IO layer: decodes arbitrary bytes as a polling
// payload and as WebSocket frames, re-encodes what decodes, and drives a
// Session with the packets. Called by tests/fuzz/engineio_fuzz.cpp (and by
// any combined libFuzzer target); single-threaded.
#pragma once

#include <cstddef>
#include <cstdint>

namespace realtime::protocol::engineio {

// Returns 0; aborts on a broken invariant (round trip mismatch).
int fuzz_one_input(const std::uint8_t* data, std::size_t size);

}  // namespace realtime::protocol::engineio
