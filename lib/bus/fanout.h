// Fanout: a node's side of any Bus: who subscribed to which channel on
// which loop, and the posting of one message to each of them, bounded per
// subscription. InProcessBus is a Fanout and a channel table; RedisBus puts
// Redis between the publish and the Fanout. Any thread.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "realtime/bus.h"

namespace realtime::bus_detail {

class Fanout {
 public:
  explicit Fanout(std::size_t max_queued_bytes);
  // Deliveries already posted still run (they hold what they need) but call
  // no handler.
  ~Fanout();
  Fanout(const Fanout&) = delete;
  Fanout& operator=(const Fanout&) = delete;

  struct Added {
    Bus::SubscriptionId id;
    bool first_of_channel;  // a networked bus subscribes the channel now
  };
  Added add(std::string channel, EventLoop& loop, Bus::Handler handler);
  // The channel's name when this was its last subscription, else empty.
  std::string remove(Bus::SubscriptionId id);
  std::vector<std::string> channels() const;

  // Posts the message to each subscription of the channel whose queue has
  // room; the others count it dropped.
  void deliver(std::string_view channel, std::string_view payload);
  // Counts messages lost before they reached the fanout (bus down).
  void drop(std::uint64_t n) { dropped_ += n; }
  std::uint64_t delivered() const { return stats_->delivered.load(); }
  std::uint64_t dropped() const { return dropped_.load(); }

 private:
  struct Subscription;
  using SubPtr = std::shared_ptr<Subscription>;
  struct Stats {
    std::atomic<std::uint64_t> delivered{0};
  };

  const std::size_t max_queued_bytes_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, std::vector<SubPtr>> channels_;  // under mu_
  std::unordered_map<Bus::SubscriptionId, SubPtr> by_id_;           // under mu_
  Bus::SubscriptionId next_id_ = 1;                                 // under mu_
  std::shared_ptr<Stats> stats_ = std::make_shared<Stats>();       // outlives posted deliveries
  std::atomic<std::uint64_t> dropped_{0};
};

}  // namespace realtime::bus_detail
