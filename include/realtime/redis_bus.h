// RedisBus: the Bus between processes and machines, on Redis pub/sub
// (Debian's redis-server; the client is hiredis). Every node of a cluster
// connects to the same Redis; a channel is a Redis channel, a payload the
// message's bytes.
//
// It never blocks the caller: publish() queues and returns, and the talking
// to Redis happens on a thread of its own with two connections (one
// subscribed, one publishing). It reconnects by itself, with backoff,
// resubscribing every channel; state() is down from the first failure until
// both connections are back. What is published while it is down, or past
// the publish queue's bound, is dropped and counted: the store is the
// source of truth and clients recover by replay.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "realtime/bus.h"
#include "realtime/export.h"
#include "realtime/status.h"

namespace realtime {

struct RedisBusOptions {
  std::string host = "127.0.0.1";
  int port = 6379;
  std::string password;  // AUTH when set
  // Each connection attempt, and each read or write on a connection.
  std::chrono::milliseconds io_timeout{2000};
  // Wait between attempts after a failure: doubles from min up to max.
  std::chrono::milliseconds reconnect_min{100};
  std::chrono::milliseconds reconnect_max{5000};
  // Bytes of messages waiting to be sent to Redis, past which publish()
  // drops (Redis slow or unreachable while the state is still up).
  std::size_t max_publish_queue_bytes = 16u << 20;
  // Bytes of deliveries waiting for one subscription's loop (see Bus).
  std::size_t max_queued_bytes = 64u << 20;
};

// "redis://[:password@]host[:port][/db]" into options (db is accepted and
// ignored: Redis pub/sub does not use databases). bad_request with the
// reason for anything else.
REALTIME_EXPORT Result<RedisBusOptions> parse_redis_url(std::string_view url);

class REALTIME_EXPORT RedisBus final : public Bus {
 public:
  // Starts the thread and the first connection attempt; returns at once
  // (state() is down until connected). Never fails: an unreachable Redis
  // is an outage to ride out, not a startup error.
  explicit RedisBus(RedisBusOptions options);
  // Stops the thread (within io_timeout); unsent messages are dropped.
  ~RedisBus() override;
  RedisBus(const RedisBus&) = delete;
  RedisBus& operator=(const RedisBus&) = delete;

  SubscriptionId subscribe(std::string channel, EventLoop& loop, Handler handler) override;
  void unsubscribe(SubscriptionId id) override;
  void publish(std::string_view channel, std::string_view payload) override;
  State state() const override;
  SubscriptionId watch_state(EventLoop& loop, StateHandler handler) override;
  void unwatch_state(SubscriptionId id) override;
  BusStats stats() const override;

 private:
  class Worker;
  std::unique_ptr<Worker> worker_;
};

}  // namespace realtime
