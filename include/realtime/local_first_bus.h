// LocalFirstBus: the bus of a process whose several loops are nodes of a
// larger cluster (chatd --threads with --bus). A message reaches the loops
// of this process directly, through an InProcessBus, and the other
// processes through the networked bus underneath (Redis). What this
// process published comes back from the network bus too and is dropped
// there, so every subscriber hears each message once.
//
// So the loops of one process keep hearing each other while the network
// bus is down (every node keeps serving its own users, whichever loop
// they are on), and skip the round trip to Redis and back between them.
//
// On the network bus a payload of ours is framed: a zero byte and this
// process's 16-byte id, then the payload. A payload that does not start
// with a zero byte is delivered as it came (the stock
// @socket.io/redis-emitter's msgpack never does).
//
// state() and watch_state() are the network bus's: cross-process delivery
// is what goes down. Every method is safe from any thread.
#pragma once

#include <memory>

#include "realtime/bus.h"
#include "realtime/export.h"
#include "realtime/in_process_bus.h"

namespace realtime {

class REALTIME_EXPORT LocalFirstBus final : public Bus {
 public:
  // `network` must outlive this bus.
  explicit LocalFirstBus(Bus& network, InProcessBusOptions local = {});
  ~LocalFirstBus() override;
  LocalFirstBus(const LocalFirstBus&) = delete;
  LocalFirstBus& operator=(const LocalFirstBus&) = delete;

  SubscriptionId subscribe(std::string channel, EventLoop& loop, Handler handler) override;
  void unsubscribe(SubscriptionId id) override;
  void publish(std::string_view channel, std::string_view payload) override;
  State state() const override;
  SubscriptionId watch_state(EventLoop& loop, StateHandler handler) override;
  void unwatch_state(SubscriptionId id) override;
  // published: publish() calls; delivered and dropped: both buses' sums
  // (an own message dropped on its way back is not counted as lost).
  BusStats stats() const override;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace realtime
