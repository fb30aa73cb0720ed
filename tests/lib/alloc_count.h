// Counts the calls to the global operator new made on the calling thread,
// for tests that pin down what an operation allocates (a per-connection
// structure that must stay allocation-free, say). Linking alloc_count.cpp
// into a test binary replaces the global operator new and delete for that
// whole binary; they still go to malloc and free. Any thread.
#pragma once

#include <cstddef>

namespace realtime::testing {

// operator new calls on this thread so far.
std::size_t allocations();
// Bytes held through operator new by the whole process now (malloc's
// usable size of each block, so malloc's rounding counts; not its headers).
std::size_t live_bytes();

}  // namespace realtime::testing
