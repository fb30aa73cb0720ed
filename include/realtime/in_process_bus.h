// InProcessBus: the Bus between event loops of one process (chatd with
// several loops, embedders, tests). A published payload is copied once and
// shared by every subscriber's delivery, which is posted to that
// subscriber's loop. Every method is safe from any thread.
//
// Bounded: each subscription holds at most max_queued_bytes of deliveries
// that its loop has not run yet; past that, messages to it are dropped and
// counted (a stuck loop must not make the publishers' memory grow, as
// Redis cuts off a subscriber whose output buffer passes its limit).
#pragma once

#include <cstddef>
#include <memory>

#include "realtime/bus.h"
#include "realtime/export.h"

namespace realtime {

struct InProcessBusOptions {
  // Bytes (payload + channel name + a fixed overhead) waiting for one
  // subscription's loop, past which its messages are dropped.
  std::size_t max_queued_bytes = 64u << 20;
};

class REALTIME_EXPORT InProcessBus final : public Bus {
 public:
  explicit InProcessBus(InProcessBusOptions options = {});
  // Deliveries already posted to loops still run safely afterwards (they
  // share the bus's state); none is posted once the bus is gone.
  ~InProcessBus() override;
  InProcessBus(const InProcessBus&) = delete;
  InProcessBus& operator=(const InProcessBus&) = delete;

  SubscriptionId subscribe(std::string channel, EventLoop& loop, Handler handler) override;
  void unsubscribe(SubscriptionId id) override;
  void publish(std::string_view channel, std::string_view payload) override;
  State state() const override;
  SubscriptionId watch_state(EventLoop& loop, StateHandler handler) override;
  void unwatch_state(SubscriptionId id) override;
  BusStats stats() const override;

  // For tests of what runs on top: a bus that is down drops every message
  // and reports down, as a networked bus does during an outage.
  void set_state(State state);

 private:
  struct Shared;
  std::shared_ptr<Shared> shared_;
};

}  // namespace realtime
