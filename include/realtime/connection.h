// Connection: one client as the layers above the transport see it.
//
// A transport creates connections and delivers their messages; the Hub and
// the Socket.IO server only send Frames to them and close them. All methods
// are called on the loop thread.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "realtime/export.h"

namespace realtime {

// One message on the wire, already encoded. Frames are immutable and shared:
// a broadcast encodes once and hands the same bytes to every recipient.
struct REALTIME_EXPORT Frame {
  std::shared_ptr<const std::string> bytes;
  bool binary = false;

  static Frame text(std::string s) { return {std::make_shared<const std::string>(std::move(s)), false}; }
  static Frame blob(std::string s) { return {std::make_shared<const std::string>(std::move(s)), true}; }
  std::string_view view() const { return bytes ? std::string_view(*bytes) : std::string_view(); }
};

enum class SendStatus : std::uint8_t {
  sent,         // written or queued below the soft limit
  backpressure, // queued, but the client is slow; stop sending optional data
  dropped,      // not queued: the connection is closed or closing (queue cap hit)
};

// Why a connection ended; names follow Engine.IO's close reasons.
enum class CloseReason : std::uint8_t {
  client_close,      // the client closed it
  server_close,      // this side called close()
  transport_error,   // socket error or protocol violation
  ping_timeout,      // no pong in time
  parse_error,       // a malformed packet
  too_slow,          // the send queue passed its byte cap
  server_shutdown,
};
REALTIME_EXPORT std::string_view close_reason_name(CloseReason r);

// What the client presented when it opened the connection.
struct REALTIME_EXPORT Handshake {
  std::map<std::string, std::string, std::less<>> query;    // URL query parameters
  // Lower-case names. Without a WebSocket's own upgrade headers (connection,
  // upgrade, sec-websocket-key, -version, -extensions): kept for the
  // connection's life, they would cost memory and say nothing.
  std::map<std::string, std::string, std::less<>> headers;
  std::string remote_address;
  // Value of one cookie from the Cookie header, or "" when absent.
  std::string cookie(std::string_view name) const;
};

class REALTIME_EXPORT Connection {
 public:
  virtual ~Connection() = default;

  // Unique among the transport's live connections.
  virtual const std::string& id() const = 0;
  virtual SendStatus send(const Frame& frame) = 0;
  // Idempotent. The transport reports the close to its handler exactly once.
  virtual void close(CloseReason reason) = 0;
  virtual bool is_open() const = 0;
  // Bytes queued for this client but not yet written.
  virtual std::size_t queued_bytes() const = 0;
  // True while the queue is past the transport's soft limit, that is while
  // send() answers `backpressure`. Senders skip what may be lost (typing,
  // presence: Socket.IO's volatile emits) for such a connection, so that
  // its queue keeps room for what must arrive. A transport that cannot
  // tell answers false and gets every frame.
  virtual bool backpressured() const { return false; }
};

}  // namespace realtime
