// Transport: where connections come from.
//
// A transport owns the event loop and the sockets (libwebsockets in chatd,
// memory in tests) and reports each connection's life to one handler on the
// loop thread: opened, a message, closed. Engine.IO framing, heartbeats and
// upgrades are the transport's business; the handler sees whole messages.
//
// Lifetimes: the transport calls its handler until clear_handler() or its
// own destruction. So an application builds the transport first, then the
// handler on it (socketio::Server), and destroys them the other way round:
// the Server's destructor calls clear_handler(), after which the transport
// never touches it. Implementations: docs/architecture.md, "Adding a
// transport".
#pragma once

#include <memory>
#include <string_view>

#include "realtime/connection.h"
#include "realtime/event_loop.h"
#include "realtime/export.h"

namespace realtime {

// Receives one transport's connection events, on the loop thread. A
// callback must not throw (docs/architecture.md, "Errors and exceptions"):
// the transport calls it from its event loop, where nothing could answer
// for the exception. It may send, close, or call clear_handler().
class REALTIME_EXPORT TransportHandler {
 public:
  virtual ~TransportHandler() = default;
  // A new connection, with the request that opened it. The shared_ptr is
  // the handler's to keep for as long as it likes; the transport holds its
  // own reference until on_close.
  virtual void on_open(const std::shared_ptr<Connection>& conn, const Handshake& handshake) = 0;
  // One whole message of an open connection; `data` is valid during the
  // call only.
  virtual void on_message(Connection& conn, std::string_view data, bool binary) = 0;
  // After this call the transport drops its reference; sends are dropped.
  virtual void on_close(Connection& conn, CloseReason reason) = 0;
};

class REALTIME_EXPORT Transport {
 public:
  virtual ~Transport() = default;
  // Set once, before the loop runs. The transport calls `handler` (on the
  // loop thread) until clear_handler() is called or the transport is
  // destroyed: a handler that goes first must clear itself.
  virtual void set_handler(TransportHandler& handler) = 0;
  // Detaches the handler: no callback starts after this returns, including
  // ones already queued on the loop. Open connections stay open; their
  // later messages and closes are no one's (call socketio::Server::
  // shutdown() first to close them). Loop thread, or any thread while the
  // loop is not running. Idempotent.
  virtual void clear_handler() = 0;
  // The loop the transport's events run on; lives as long as the transport.
  virtual EventLoop& loop() = 0;
};

}  // namespace realtime
