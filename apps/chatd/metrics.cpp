// render_metrics() (metrics.h): sums over the loops, then the text.
#include "metrics.h"

#include <algorithm>
#include <cstdio>
#include <map>

namespace chatd {
namespace {

// One call quality histogram in Prometheus' text (cumulative buckets).
template <std::size_t N>
void histogram(const std::string& name, const std::string& help, const realtime::CallHistogram<N>& h, std::string& out) {
  out += "# HELP " + name + " " + help + "\n# TYPE " + name + " histogram\n";
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i < N; ++i) {
    cumulative += h.counts[i];
    char bound[32];
    std::snprintf(bound, sizeof bound, "%g", h.bounds[i]);
    out += name;
    out += "_bucket{le=\"";
    out += bound;
    out += "\"} " + std::to_string(cumulative) + "\n";
  }
  cumulative += h.counts[N];
  out += name + "_bucket{le=\"+Inf\"} " + std::to_string(cumulative) + "\n";
  out += name + "_sum " + std::to_string(h.sum) + "\n";
  out += name + "_count " + std::to_string(cumulative) + "\n";
}

// rtc:stats as this process's sockets reported them (each report counted on
// the loop it arrived at, so the loops add up).
void render_call_quality(const realtime::CallQualityStats& c, std::string& out) {
  out += "# HELP chatd_call_stats_reports_total rtc:stats reports accepted.\n# TYPE chatd_call_stats_reports_total counter\n";
  out += "chatd_call_stats_reports_total " + std::to_string(c.reports) + "\n";
  out += "# HELP chatd_call_stats_not_kept_total rtc:stats reports left out of a full room summary.\n"
         "# TYPE chatd_call_stats_not_kept_total counter\n";
  out += "chatd_call_stats_not_kept_total " + std::to_string(c.not_kept) + "\n";
  histogram("chatd_call_rtt_ms", "Round trip time of call connections, as clients report it (rtc:stats).", c.rtt_ms, out);
  histogram("chatd_call_loss_pct", "Inbound packet loss of call connections, percent (rtc:stats).", c.loss_pct, out);
  histogram("chatd_call_fps", "Frames per second of received call video (rtc:stats).", c.fps, out);
  histogram("chatd_call_kbps_in", "Received bit rate of call connections, kbit/s (rtc:stats).", c.kbps_in, out);
}

}  // namespace

std::string render_metrics(const std::vector<LoopFigures>& loops, std::size_t store_pending,
                           const realtime::BusStats* bus, std::optional<std::size_t> routable) {
  LoopFigures sum;
  std::vector<std::string> node_ids;
  for (const LoopFigures& f : loops) {
    sum.connections += f.connections;
    sum.rooms_active += f.rooms_active;
    sum.chat.events += f.chat.events;
    sum.chat.messages_stored += f.chat.messages_stored;
    sum.chat.messages_delivered += f.chat.messages_delivered;
    for (const auto& [code, n] : f.chat.errors) sum.chat.errors[code] += n;
    for (std::size_t i = 0; i < std::size(sum.chat.latency_buckets); ++i)
      sum.chat.latency_buckets[i] += f.chat.latency_buckets[i];
    sum.chat.latency_sum_ms += f.chat.latency_sum_ms;
    sum.chat.call.add(f.chat.call);
    sum.chat.audit_not_kept += f.chat.audit_not_kept;
    sum.queues.total_bytes += f.queues.total_bytes;
    sum.queues.max_bytes = std::max(sum.queues.max_bytes, f.queues.max_bytes);
    sum.too_slow += f.too_slow;
    if (f.cluster) node_ids.push_back(f.cluster->node_id);
  }
  std::string out;
  auto line = [&](const std::string& name, const std::string& help, const std::string& type, const std::string& value) {
    out += "# HELP " + name + " " + help + "\n# TYPE " + name + " " + type + "\n" + name + " " + value + "\n";
  };
  const realtime::ChatStats& s = sum.chat;
  line("chatd_connections", "Open Engine.IO connections.", "gauge", std::to_string(sum.connections));
  line("chatd_rooms_active", "Rooms with at least one socket in them (counted once per loop that has one).", "gauge",
       std::to_string(sum.rooms_active));
  line("chatd_events_total", "Socket events and REST calls handled.", "counter", std::to_string(s.events));
  line("chatd_messages_in_total", "Messages stored.", "counter", std::to_string(s.messages_stored));
  line("chatd_messages_out_total", "message:new deliveries to sockets.", "counter", std::to_string(s.messages_delivered));
  line("chatd_store_queue_depth", "Store calls accepted but not completed.", "gauge", std::to_string(store_pending));
  line("chatd_send_queue_bytes", "Bytes queued for all connections, not yet written.", "gauge",
       std::to_string(sum.queues.total_bytes));
  line("chatd_send_queue_max_bytes", "The largest one connection's send queue, bytes.", "gauge",
       std::to_string(sum.queues.max_bytes));
  line("chatd_too_slow_closes_total", "Connections closed because their send queue passed its cap.", "counter",
       std::to_string(sum.too_slow));
  line("chatd_loops", "Event loops serving connections (--threads).", "gauge", std::to_string(loops.size()));
  line("chatd_audit_not_kept_total", "Moderation actions that stand without their audit entry (the store refused it).",
       "counter", std::to_string(s.audit_not_kept));
  if (bus && !loops.empty() && loops.front().cluster) {
    const realtime::ClusterStats& c = *loops.front().cluster;
    out += "# HELP chatd_node_info The cluster node id of each loop of this process.\n# TYPE chatd_node_info gauge\n";
    for (const auto& id : node_ids) out += "chatd_node_info{node=\"" + id + "\"} 1\n";
    line("chatd_bus_up", "1 while the bus (Redis) is reachable.", "gauge", c.bus_up ? "1" : "0");
    line("chatd_bus_published_total", "Messages published on the bus.", "counter", std::to_string(bus->published));
    line("chatd_bus_delivered_total", "Bus messages delivered to this process.", "counter", std::to_string(bus->delivered));
    line("chatd_bus_dropped_total", "Bus messages lost (bus down or a queue full); clients recover by replay.", "counter",
         std::to_string(bus->dropped));
    line("chatd_cluster_nodes", "Other nodes alive (other loops of this process included), as loop 0 sees them.",
         "gauge", std::to_string(c.nodes));
    line("chatd_cluster_remote_sockets", "Other nodes' sockets in rooms known to loop 0.", "gauge",
         std::to_string(c.remote_entries));
    line("chatd_cluster_nodes_expired_total", "Nodes loop 0 declared dead after --node-timeout of silence.", "counter",
         std::to_string(c.nodes_expired));
    line("chatd_cluster_resyncs_total", "Full lists loop 0 asked of a node after a lost update.", "counter",
         std::to_string(c.resyncs));
    if (routable)
      line("chatd_cluster_routable_nodes", "Other processes whose sessions' requests this one relays to them.", "gauge",
           std::to_string(*routable));
  }
  out += "# HELP chatd_errors_total Failed events and calls by error code.\n# TYPE chatd_errors_total counter\n";
  for (const auto& [code, n] : s.errors) out += "chatd_errors_total{code=\"" + code + "\"} " + std::to_string(n) + "\n";
  out += "# HELP chatd_ack_latency_ms Time from an event's arrival to its answer.\n# TYPE chatd_ack_latency_ms histogram\n";
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i < std::size(realtime::ChatStats::kLatencyBoundsMs); ++i) {
    cumulative += s.latency_buckets[i];
    char bound[32];
    std::snprintf(bound, sizeof bound, "%g", realtime::ChatStats::kLatencyBoundsMs[i]);
    out += std::string("chatd_ack_latency_ms_bucket{le=\"") + bound + "\"} " + std::to_string(cumulative) + "\n";
  }
  cumulative += s.latency_buckets[std::size(realtime::ChatStats::kLatencyBoundsMs)];
  out += "chatd_ack_latency_ms_bucket{le=\"+Inf\"} " + std::to_string(cumulative) + "\n";
  out += "chatd_ack_latency_ms_sum " + std::to_string(s.latency_sum_ms) + "\n";
  out += "chatd_ack_latency_ms_count " + std::to_string(cumulative) + "\n";
  render_call_quality(s.call, out);
  return out;
}

}  // namespace chatd
