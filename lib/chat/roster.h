// Roster: the other nodes of a cluster and which of their sockets are in
// which chat rooms, as those nodes announce them over the bus. With the
// local Hub it answers "who is in this room anywhere": online counts,
// presence, session participants, where an rtc:* signal for a sid goes.
//
// Each node numbers its announcements (seq) within one run of its process
// (incarnation); a number skipped means an announcement was lost (the bus
// is at most once), and the node is asked for its whole list again.
// Bounded by max_entries sockets-in-rooms and max_nodes nodes.
// Pure data; loop thread (owned by ClusterLink).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace realtime::chat {

// One socket of another node in one room.
struct RemoteSocket {
  std::string node, sid, user_id, name;
  std::string role;  // the identity's role (admin, user...); the room role is looked up per room
};

class Roster {
 public:
  using Clock = std::chrono::steady_clock;
  Roster(std::size_t max_entries, std::size_t max_nodes) : max_entries_(max_entries), max_nodes_(max_nodes) {}

  // What a node's numbered announcement means for its list.
  enum class Order : std::uint8_t {
    next,      // the one expected: apply it
    gap,       // some were lost (or the node restarted): ask for a snapshot
    refused,   // too many nodes known: ignored
  };
  // Records that `node` (run `incarnation`) was heard at `now`, with
  // announcement number `seq` (0 for a heartbeat, which carries the last
  // number in `last_seq` instead). A node heard for the first time, or with
  // a new incarnation, starts empty.
  Order heard(const std::string& node, std::string_view incarnation, std::uint64_t seq, std::uint64_t last_seq,
              Clock::time_point now, std::string_view advertise = {});
  // The announcement `seq` of `node` was applied (or the gap before it
  // is being repaired by a snapshot).
  void applied(const std::string& node, std::uint64_t seq);
  // A full list replaces the node's entries; seq is its last announcement.
  void begin_snapshot(const std::string& node, std::uint64_t seq);

  // False when refused (max_entries reached).
  bool add(const std::string& room, RemoteSocket s);
  void remove(const std::string& node, const std::string& room, const std::string& sid);
  // Forgets a node and returns its entries (room, socket): it is dead or left.
  std::vector<std::pair<std::string, RemoteSocket>> drop_node(const std::string& node);
  // Nodes not heard from since `cutoff`.
  std::vector<std::string> silent_since(Clock::time_point cutoff) const;
  // Every known node counts as heard now (after the bus was down, nobody
  // could be heard: the silence says nothing about them).
  void heard_all(Clock::time_point now);

  // The room's remote sockets by sid, or nullptr.
  const std::map<std::string, RemoteSocket>* in_room(std::string_view room) const;
  const RemoteSocket* find(std::string_view room, std::string_view sid) const;
  bool user_in_room(std::string_view room, std::string_view user_id) const;
  // Distinct remote users in the room.
  std::set<std::string> users_in_room(std::string_view room) const;

  std::vector<std::string> node_ids() const;
  // Each known node's address as it advertises it (http://host:port), by id.
  std::vector<std::pair<std::string, std::string>> advertised() const;
  // The run of `node` last heard, or empty when unknown.
  std::string_view incarnation_of(const std::string& node) const;
  std::size_t entries() const { return entries_; }
  std::size_t nodes() const { return nodes_.size(); }
  std::uint64_t refused() const { return refused_; }

 private:
  struct Node {
    std::string incarnation, advertise;
    std::uint64_t seq = 0;  // last announcement applied
    Clock::time_point last_heard;
    std::set<std::pair<std::string, std::string>> entries;  // (room, sid)
  };
  void clear_entries(Node& n);

  std::size_t max_entries_, max_nodes_;
  std::unordered_map<std::string, Node> nodes_;
  std::unordered_map<std::string, std::map<std::string, RemoteSocket>> rooms_;  // room -> sid -> socket
  std::size_t entries_ = 0;
  std::uint64_t refused_ = 0;
};

}  // namespace realtime::chat
