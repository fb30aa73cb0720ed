// ClusterLink: one chat service's end of the cluster. It carries the
// namespace's emits to the other nodes and theirs to this node's sockets,
// announces which of this node's sockets are in which chat rooms (and keeps
// the Roster of everyone else's), sends heartbeats, declares silent nodes
// dead, passes "room changed" notices, rtc:* signals addressed to one
// socket and call quality reports, and delivers @socket.io/redis-emitter
// emits.
//
// Channels (all under the prefix P): "P#all" (emits, roster changes,
// heartbeats, room notices: one channel keeps one node's messages in
// order) and "P#node#<id>" (what is addressed to one node).
// Loop thread only; owned by ChatService::Impl.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "chat/roster.h"
#include "realtime/bus.h"
#include "realtime/clock.h"
#include "realtime/cluster.h"
#include "realtime/socketio_server.h"

namespace realtime::chat {

class ClusterLink {
 public:
  // What the chat service does with what the others say. Loop thread.
  struct Hooks {
    // An emit from another node or an emitter is about to reach this
    // node's sockets (may add to its except list).
    std::function<void(socketio::RemoteEmit&)> delivering;
    // An emit from another node or an emitter reached this node's sockets.
    std::function<void(const socketio::RemoteEmit&)> delivered;
    // Another node wrote this room to the store: read it again.
    std::function<void(const std::string& room)> room_changed;
    // A socket of a node that died (or left) is out of `room`; the Roster
    // no longer has it.
    std::function<void(const std::string& room, const RemoteSocket& gone)> remote_left;
    // An rtc:* signal for this node's socket `sid` in `room`.
    std::function<void(const std::string& room, const std::string& sid, const std::string& event, Json payload)> rtc;
    // Another node's socket entered a room: its user's display name.
    std::function<void(const std::string& user_id, const std::string& name)> name_seen;
    // Another node's user left a room with this lastSeen, which that node writes.
    std::function<void(const std::string& room, const std::string& user_id, Timestamp at)> last_seen_written;
    // Another node's socket reported rtc:stats: its user, the peer's user
    // (may be empty) and the figures (call_sample_json).
    std::function<void(const std::string& room, const std::string& user, const std::string& peer_user,
                       const Json& sample)> call_stats;
    // A user was banned or unbanned on another node (see ban_changed()).
    std::function<void(const Json& ban)> ban_changed;
    // The bus is up again after an outage: what it carried meanwhile (room
    // notices, bans) may be lost.
    std::function<void()> bus_restored;
    // This node's sockets in rooms, for a snapshot (node field unused).
    std::function<std::vector<std::pair<std::string, RemoteSocket>>()> local_entries;
  };

  ClusterLink(Bus& bus, EventLoop& loop, socketio::Namespace& nsp, ClusterOptions options, Hooks hooks);
  // Says goodbye (the others drop this node's sockets at once) and stops
  // every subscription.
  ~ClusterLink();
  ClusterLink(const ClusterLink&) = delete;
  ClusterLink& operator=(const ClusterLink&) = delete;

  // This node's socket entered or left a chat room (hub room name).
  void joined(const std::string& room, const RemoteSocket& s);
  // `last_seen`: the user left the room with it, and this node writes it
  // to the store; the others show it meanwhile (the write may land after
  // their next presence read).
  void left(const std::string& room, const std::string& sid, std::optional<Timestamp> last_seen = std::nullopt);
  // This node wrote the room to the store.
  void room_changed(const std::string& room);
  // This node banned or unbanned a user (stored already): the others
  // refuse or let in their connections, and drop their sockets.
  void ban_changed(const Json& ban);
  // A user connected here with a display name the others may not know
  // yet (system messages name members who need not share a room with
  // anyone on the writing node).
  void user_name(const std::string& user_id, const std::string& name);
  // Sends an rtc:* signal to another node's socket; false when `sid` is
  // not known to be in `room` on another node.
  bool send_rtc(const std::string& room, const std::string& sid, std::string_view event, const Json& payload);
  // This node's socket reported rtc:stats (low rate: a few per call and
  // second), for every node's CallQualityBook.
  void call_stats(const std::string& room, const std::string& user, const std::string& peer_user, const Json& sample);
  // Whether this node has sockets in the hub room (emitter room channels
  // are subscribed while it does).
  void local_room(const std::string& room, bool has_sockets);

  const Roster& roster() const;
  ClusterStats stats() const;
  const std::string& node_id() const;
  bool bus_up() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace realtime::chat
