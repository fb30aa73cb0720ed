// Where the other nodes of a cluster are reached, by the tag their Engine.IO
// sids carry, so that chatd's acceptor can relay a request for another
// node's session to that node (long-polling without sticky sessions). The
// tag is a hash of the node's --advertise address; loop 0 refreshes the
// directory from its cluster view, and the acceptor's thread reads it.
#pragma once

#include <sys/socket.h>

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "realtime/blocking_worker.h"
#include "realtime/cluster.h"
#include "realtime/event_loop.h"

namespace chatd {

// Characters of a node's tag in its sids (after the loop's character).
inline constexpr std::size_t kNodeTagChars = 6;

// The tag of the node that advertises `advertise` (http://host:port):
// kNodeTagChars base64url characters, the same in every process.
std::string node_tag(std::string_view advertise);

// host:port of an http(s):// address, resolved (getaddrinfo: may wait on
// DNS, so off the loop). nullopt when it does not parse or resolve.
std::optional<sockaddr_storage> resolve_advertise(const std::string& advertise);

// Any thread.
class NodeDirectory {
 public:
  void replace(std::unordered_map<std::string, sockaddr_storage> by_tag);
  std::optional<sockaddr_storage> find(std::string_view tag) const;
  std::size_t size() const;

 private:
  mutable std::mutex mu_;
  std::unordered_map<std::string, sockaddr_storage> by_tag_;
};

// Every `period`, on `loop`: takes the live nodes (`nodes`, the chat
// service's view), resolves their addresses on `worker` and replaces the
// directory with them (this node's own tag left out). Destroy it on the
// loop thread or after the loop stopped.
class DirectoryRefresh {
 public:
  DirectoryRefresh(realtime::EventLoop& loop, realtime::BlockingWorker& worker,
                   std::function<std::vector<realtime::ClusterNode>()> nodes, NodeDirectory& directory,
                   std::string own_tag, std::chrono::milliseconds period = std::chrono::seconds(1));
  ~DirectoryRefresh();
  DirectoryRefresh(const DirectoryRefresh&) = delete;
  DirectoryRefresh& operator=(const DirectoryRefresh&) = delete;

 private:
  void tick();
  realtime::EventLoop& loop_;
  realtime::BlockingWorker& worker_;
  std::function<std::vector<realtime::ClusterNode>()> nodes_;
  NodeDirectory& directory_;
  std::string own_tag_;
  std::chrono::milliseconds period_;
  realtime::EventLoop::TimerId timer_ = 0;
  std::shared_ptr<char> alive_ = std::make_shared<char>();
};

}  // namespace chatd
