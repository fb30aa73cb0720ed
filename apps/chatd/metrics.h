// chatd's /metrics: the figures one loop takes of itself, and the
// Prometheus text made of every loop's (chatd --threads sums them, so a
// scrape that lands on any loop describes the whole process).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "connection_stats.h"
#include "realtime/bus.h"
#include "realtime/chat_service.h"
#include "realtime/cluster.h"
#include "realtime/event_loop.h"

namespace chatd {

// One loop's figures, taken on its own thread.
struct LoopFigures {
  std::size_t connections = 0;
  std::size_t rooms_active = 0;  // rooms with a socket of this loop in them
  realtime::ChatStats chat;
  ConnectionStats::Queues queues;
  std::uint64_t too_slow = 0;
  std::optional<realtime::ClusterStats> cluster;  // with a bus
};

// Asks every loop for its figures and calls `done` on `here` (the asking
// loop) with all of them, in loop order.
using GatherFigures =
    std::function<void(realtime::EventLoop& here, std::function<void(std::vector<LoopFigures>)> done)>;

// The text of /metrics. `loops` in loop order: the cluster's view is loop
// 0's (each loop is a node of the cluster; see docs/operations.md).
// `routable`: other nodes the acceptor can relay requests to (a cluster
// without sticky sessions), when it relays.
std::string render_metrics(const std::vector<LoopFigures>& loops, std::size_t store_pending,
                           const realtime::BusStats* bus, std::optional<std::size_t> routable = std::nullopt);

}  // namespace chatd
