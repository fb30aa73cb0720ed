// BusStateCell: a bus's up/down state and the watchers told of each change
// on the loops they named; shared by InProcessBus and RedisBus. Any thread.
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <utility>

#include "realtime/bus.h"

namespace realtime::bus_detail {

class BusStateCell {
 public:
  explicit BusStateCell(Bus::State initial) : state_(initial) {}

  Bus::State get() const {
    std::lock_guard lock(mu_);
    return state_;
  }

  Bus::SubscriptionId watch(EventLoop& loop, Bus::StateHandler handler) {
    std::lock_guard lock(mu_);
    const Bus::SubscriptionId id = ++next_id_;
    if (handler)
      watchers_.emplace(id, Watcher{&loop, std::make_shared<Bus::StateHandler>(std::move(handler)),
                                    std::make_shared<std::atomic<bool>>(true)});
    return id;
  }

  void unwatch(Bus::SubscriptionId id) {
    std::lock_guard lock(mu_);
    auto it = watchers_.find(id);
    if (it == watchers_.end()) return;
    it->second.active->store(false);  // calls already posted are skipped
    watchers_.erase(it);
  }

  // Sets the state; when it changed, posts every watcher and returns true.
  bool set(Bus::State state) {
    std::lock_guard lock(mu_);
    if (state_ == state) return false;
    state_ = state;
    // Posting under the lock keeps the calls in the order of the changes.
    for (const auto& [id, w] : watchers_)
      w.loop->post([handler = w.handler, active = w.active, state] {
        if (active->load()) (*handler)(state);
      });
    return true;
  }

 private:
  struct Watcher {
    EventLoop* loop;
    std::shared_ptr<Bus::StateHandler> handler;
    std::shared_ptr<std::atomic<bool>> active;
  };
  mutable std::mutex mu_;
  Bus::State state_;                                  // under mu_
  Bus::SubscriptionId next_id_ = 0;                   // under mu_
  std::map<Bus::SubscriptionId, Watcher> watchers_;   // under mu_
};

}  // namespace realtime::bus_detail
