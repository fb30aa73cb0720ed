// InProcessTransport: a Transport and EventLoop with no sockets.
//
// Tests and embedders connect clients in memory and drive the loop by hand:
// the thread that calls the run_* methods is the loop thread. Time is
// manual (advance()), so heartbeat and typing timeouts are tested without
// sleeping. Other threads (a store's writer) may post() at any time.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "realtime/connection.h"
#include "realtime/event_loop.h"
#include "realtime/export.h"
#include "realtime/transport.h"

namespace realtime {

class InProcessTransport;

// The client end of an in-memory connection. Loop thread only.
class REALTIME_EXPORT InProcessClient {
 public:
  const std::string& id() const { return id_; }
  // Delivers a message to the server's handler (on the next loop turn).
  void send(std::string data, bool binary = false);
  // Closes from the client side; the handler sees client_close.
  void close();
  bool is_open() const { return !closed_; }
  std::optional<CloseReason> close_reason() const { return reason_; }
  // Frames received so far, oldest first; take() empties the list.
  const std::vector<Frame>& received() const { return inbox_; }
  std::vector<Frame> take();

 private:
  friend class InProcessTransport;
  InProcessClient(InProcessTransport& t, std::string id) : transport_(&t), id_(std::move(id)) {}
  InProcessTransport* transport_;
  std::string id_;
  std::vector<Frame> inbox_;
  std::size_t inbox_bytes_ = 0;
  bool closed_ = false;
  std::optional<CloseReason> reason_;
};

class REALTIME_EXPORT InProcessTransport final : public Transport, public EventLoop {
 public:
  struct Options {
    // A client whose unread inbox passes this many bytes is disconnected
    // with too_slow, as a socket transport does with a stalled reader.
    std::size_t max_queued_bytes = 4 * 1024 * 1024;
  };

  InProcessTransport();
  explicit InProcessTransport(Options options);
  ~InProcessTransport() override;

  void set_handler(TransportHandler& handler) override { handler_ = &handler; }
  void clear_handler() override { handler_ = nullptr; }
  EventLoop& loop() override { return *this; }

  void post(std::function<void()> task) override;
  TimerId set_timer(std::chrono::milliseconds delay, std::function<void()> fn) override;
  void cancel_timer(TimerId id) override;
  TimePoint now() const override { return now_; }

  // Opens a connection; the handler's on_open runs on the next loop turn.
  std::shared_ptr<InProcessClient> connect(Handshake handshake = {});

  // Runs posted tasks (and timers already due) until there are none.
  // Returns how many ran. Stops after max_tasks to bound a runaway loop.
  std::size_t run_until_idle(std::size_t max_tasks = 1'000'000);
  // Runs tasks, waiting for posts from other threads, until done() is true
  // or `timeout` of real time passes. Returns done().
  bool run_until(const std::function<bool()>& done,
                 std::chrono::milliseconds timeout = std::chrono::seconds(10));
  // Moves loop time forward, running each timer that comes due in order.
  void advance(std::chrono::milliseconds d);

 private:
  friend class InProcessClient;
  class ServerSide;
  struct Impl;
  void deliver(InProcessClient& c, std::string data, bool binary);
  void client_closed(InProcessClient& c);

  Options options_;
  TransportHandler* handler_ = nullptr;
  TimePoint now_{};
  std::unique_ptr<Impl> impl_;
};

}  // namespace realtime
