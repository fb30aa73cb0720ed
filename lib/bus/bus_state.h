// BusStateCell: a bus's up/down state and the one handler told of each
// change on the loop it named; shared by InProcessBus and RedisBus. Any
// thread.
#pragma once

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

  void on_change(EventLoop& loop, Bus::StateHandler handler) {
    std::lock_guard lock(mu_);
    loop_ = &loop;
    handler_ = handler ? std::make_shared<Bus::StateHandler>(std::move(handler)) : nullptr;
  }

  // Sets the state; when it changed, posts the handler (if any) and
  // returns true.
  bool set(Bus::State state) {
    EventLoop* loop = nullptr;
    std::shared_ptr<Bus::StateHandler> handler;
    {
      std::lock_guard lock(mu_);
      if (state_ == state) return false;
      state_ = state;
      loop = loop_;
      handler = handler_;
    }
    if (loop != nullptr && handler) loop->post([handler, state] { (*handler)(state); });
    return true;
  }

 private:
  mutable std::mutex mu_;
  Bus::State state_;                              // under mu_
  EventLoop* loop_ = nullptr;                     // under mu_
  std::shared_ptr<Bus::StateHandler> handler_;    // under mu_
};

}  // namespace realtime::bus_detail
