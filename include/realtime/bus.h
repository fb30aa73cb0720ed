// Bus: messages between the nodes of a cluster. A node is one event loop
// with its own sockets and chat service; nodes of one process, of several
// processes or of several machines share rooms, users and calls by
// publishing on channels and subscribing to them. The chat service uses a
// Bus; an application picks the implementation (InProcessBus for loops of
// one process and tests; Redis for processes) or brings its own (NATS, say).
//
// Contract for every implementation:
// - Bytes in, bytes out: a payload is opaque to the bus, channels are
//   exact names (no patterns).
// - Delivery runs on the loop the subscriber named, never inside publish()
//   or subscribe(), and reaches every subscriber of the channel, the
//   publisher's own node included (a node that must not hear itself says
//   so in its payload).
// - Order: one publisher's messages on one channel arrive in the order
//   published. Nothing is promised across channels or publishers.
// - At most once. A message published while the bus is down, or that a
//   subscriber's full queue cannot take, is dropped and counted (stats());
//   the store stays the source of truth, and a client recovers what it
//   missed by replay. state() and watch_state() say when to resync.
// - Never blocks the caller's loop; never throws.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "realtime/event_loop.h"
#include "realtime/export.h"

namespace realtime {

struct BusStats {
  std::uint64_t published = 0;  // publish() calls taken
  std::uint64_t delivered = 0;  // handler calls made
  std::uint64_t dropped = 0;    // messages lost: bus down or a subscriber's queue full
};

class REALTIME_EXPORT Bus {
 public:
  using SubscriptionId = std::uint64_t;  // never 0
  // One message of a subscribed channel; both views live for the call only.
  using Handler = std::function<void(std::string_view channel, std::string_view payload)>;
  enum class State : std::uint8_t { up, down };
  using StateHandler = std::function<void(State)>;

  virtual ~Bus() = default;

  // Delivers every later message on `channel` to `handler`, on `loop`,
  // until unsubscribe(). Subscribing is itself asynchronous on a networked
  // bus: messages published before it took effect may be missed. Any
  // thread; `loop` must outlive the subscription.
  virtual SubscriptionId subscribe(std::string channel, EventLoop& loop, Handler handler) = 0;
  // No delivery of this subscription starts after it returns when called on
  // the subscriber's loop (deliveries already posted are skipped).
  // Unknown ids are ignored.
  virtual void unsubscribe(SubscriptionId id) = 0;
  // Sends to every subscriber of `channel`. Any thread.
  virtual void publish(std::string_view channel, std::string_view payload) = 0;

  // up while messages can flow. Any thread.
  virtual State state() const = 0;
  // Calls `handler` on `loop` each time state() changes (after an outage:
  // resync what the others may have missed). Several may watch (one per
  // node sharing the bus); any thread.
  virtual SubscriptionId watch_state(EventLoop& loop, StateHandler handler) = 0;
  // No call of that watch starts after it returns when called on its loop.
  // Unknown ids are ignored.
  virtual void unwatch_state(SubscriptionId id) = 0;
  virtual BusStats stats() const = 0;
};

}  // namespace realtime
