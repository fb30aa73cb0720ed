// ConnectionStats: what chatd's /metrics reports about connections that the
// chat service does not see: how many bytes wait in their send queues and
// why they closed (too_slow above all: a reader that stopped reading).
//
// A Transport decorator. main() builds the Socket.IO server on it instead of
// on the lws transport itself, so every open, message and close passes
// through here on the way to the server's handler, and the open connections
// can be summed when /metrics is scraped. Loop thread only, like the
// transport it wraps.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <unordered_set>

#include "realtime/transport.h"

namespace chatd {

class ConnectionStats final : public realtime::Transport, public realtime::TransportHandler {
 public:
  explicit ConnectionStats(realtime::Transport& inner) : inner_(inner) {}
  // Detaches from the inner transport, which outlives this decorator.
  ~ConnectionStats() override;
  ConnectionStats(const ConnectionStats&) = delete;
  ConnectionStats& operator=(const ConnectionStats&) = delete;

  // Send-queue bytes over every open connection, and the largest single
  // queue (how close the slowest reader is to the too_slow cap).
  struct Queues {
    std::size_t total_bytes = 0;
    std::size_t max_bytes = 0;
  };
  // Walks the open connections: meant for a scrape, not for every event.
  Queues queues() const;
  // Connections closed for `reason` since start.
  std::uint64_t closed(realtime::CloseReason reason) const { return closed_[static_cast<std::size_t>(reason)]; }

  // Transport
  void set_handler(realtime::TransportHandler& handler) override;
  // Stops forwarding; connections are still counted until this is destroyed.
  void clear_handler() override { handler_ = nullptr; }
  realtime::EventLoop& loop() override { return inner_.loop(); }
  // TransportHandler: counts, then forwards to the handler set above (if
  // one is still set).
  void on_open(const std::shared_ptr<realtime::Connection>& conn, const realtime::Handshake& handshake) override;
  void on_message(realtime::Connection& conn, std::string_view data, bool binary) override;
  void on_close(realtime::Connection& conn, realtime::CloseReason reason) override;

 private:
  realtime::Transport& inner_;
  realtime::TransportHandler* handler_ = nullptr;
  // Valid from on_open to on_close: the transport holds them in between.
  std::unordered_set<realtime::Connection*> open_;
  std::array<std::uint64_t, static_cast<std::size_t>(realtime::CloseReason::server_shutdown) + 1> closed_{};
};

}  // namespace chatd
