// Transport: where connections come from.
//
// A transport owns the event loop and the sockets (libwebsockets in chatd,
// memory in tests) and reports each connection's life to one handler on the
// loop thread: opened, a message, closed. Engine.IO framing, heartbeats and
// upgrades are the transport's business; the handler sees whole messages.
#pragma once

#include <memory>
#include <string_view>

#include "realtime/connection.h"
#include "realtime/event_loop.h"
#include "realtime/export.h"

namespace realtime {

class REALTIME_EXPORT TransportHandler {
 public:
  virtual ~TransportHandler() = default;
  virtual void on_open(const std::shared_ptr<Connection>& conn, const Handshake& handshake) = 0;
  virtual void on_message(Connection& conn, std::string_view data, bool binary) = 0;
  // After this call the transport drops its reference; sends are dropped.
  virtual void on_close(Connection& conn, CloseReason reason) = 0;
};

class REALTIME_EXPORT Transport {
 public:
  virtual ~Transport() = default;
  // Set once, before the loop runs. The handler must outlive the transport.
  virtual void set_handler(TransportHandler& handler) = 0;
  virtual EventLoop& loop() = 0;
};

}  // namespace realtime
