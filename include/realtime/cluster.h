// Cluster: how a chat service shares its rooms with the other nodes of a
// cluster (ChatService::join_cluster). A node is one event loop with its
// own sockets and ChatService; nodes share one Store and one Bus. To the
// clients the cluster behaves like one server: broadcasts, per-user events,
// typing, presence, session participants and rtc:* reach sockets on every
// node, and a cached room never refuses what the store allows.
//
// What travels on the bus (docs/cluster.md): every emit of the namespace,
// each socket's joins and leaves of chat rooms (so every node knows who is
// in a room anywhere), heartbeats, "room changed" notices after each room
// write, and rtc:* signals addressed to one node. A node that stays silent
// for node_timeout is dead to the others: its sockets leave their rooms
// everywhere (presence:leave, rtc:peer-left, lastSeen).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>

namespace realtime {

struct ClusterOptions {
  // Unique in the cluster; shown in logs and metrics. Random when empty.
  std::string node_id;
  // Where other nodes reach this one over HTTP; carried in heartbeats.
  std::string advertise;
  // Channel names start with this: clusters sharing one bus need
  // different prefixes.
  std::string channel_prefix = "realtime";
  // A node not heard from for this long is dead to the others. Heartbeats
  // go out at a third of it.
  std::chrono::milliseconds node_timeout{15'000};
  // The key of @socket.io/redis-emitter publishers whose emits this node
  // delivers to its sockets (channels "<key>#<nsp>#" and
  // "<key>#<nsp>#<room>#"); empty to ignore them.
  std::string emitter_key = "socket.io";
  // Other nodes' sockets-in-rooms remembered at once, and nodes known:
  // entries past them are not kept (and counted in ClusterStats).
  std::size_t max_remote_entries = 1'000'000;
  std::size_t max_nodes = 256;
};

struct ClusterStats {
  std::string node_id;
  bool bus_up = false;
  std::size_t nodes = 0;           // other nodes alive now
  std::size_t remote_entries = 0;  // other nodes' sockets-in-rooms known
  std::uint64_t nodes_expired = 0;    // nodes declared dead (silent for node_timeout)
  std::uint64_t resyncs = 0;          // full snapshots asked of a node after a gap
  std::uint64_t entries_refused = 0;  // over max_remote_entries or max_nodes
  std::uint64_t undecodable = 0;      // bus messages that were not understood
  std::uint64_t emitter_emits = 0;    // @socket.io/redis-emitter emits delivered
};

// Another node as this one knows it (ChatService::cluster_nodes()).
struct ClusterNode {
  std::string id;
  std::string advertise;  // its ClusterOptions::advertise; empty until heard
};

}  // namespace realtime
