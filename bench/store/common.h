// What every half of store_bench shares: the workload (rooms, messages),
// the runs through the Store interface (inserts with a window in flight,
// history pages one at a time) and how they are measured (wall clock, CPU
// per thread of this process). The bench thread is the loop thread.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "realtime/in_process_transport.h"
#include "realtime/store.h"

namespace bench {

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t);

// Rooms prefix0 .. prefix<n-1>, members ann and bob.
void create_rooms(realtime::InProcessTransport& loop, realtime::Store& store, const std::string& prefix, int n);
// Message i of the workload: about 60 bytes of text, sender ann or bob.
realtime::NewMessage message(const std::string& room, long i);

// CPU seconds some other process used so far (a database server), or
// nullptr when there is none to count.
using CpuMeter = std::function<double()>;

// Appends `n` messages with up to `window` in flight (a busy server's
// sustained load), room chosen by room_of(i); prints where the CPU went.
// Returns committed msgs/s.
double insert_run(realtime::InProcessTransport& loop, realtime::Store& store, long n,
                  const std::function<std::string(long)>& room_of, const CpuMeter& server = nullptr,
                  long window = 20'000);

struct Latency {
  double median_us = 0, p99_us = 0;
};
Latency summarize(std::vector<double> us);

// One 50-message page at a time, each waited for (what a client sees
// minus the network): random `before` cursors over the room.
Latency history_run(realtime::InProcessTransport& loop, realtime::Store& store, const std::string& room,
                    long last_seq, int samples);

}  // namespace bench
