// EioSessions: the Engine.IO sessions of the lws transport, by sid, and the
// sockets that serve them (a held long-poll GET, a WebSocket, a probing
// WebSocket). It answers Engine.IO requests, feeds each session's
// protocol::engineio::Session and carries out what it decides. Everything it needs
// from libwebsockets goes through EioSockets, which LwsTransport::Impl
// implements, and its time is the loop's (EventLoop::now()), so a unit test
// drives it with fake sockets and a manual clock. Loop thread only.
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/string_map.h"
#include "protocol/engineio_handshake.h"
#include "protocol/engineio_session.h"
#include "realtime/lws_transport.h"
#include "transport/lws/memory_release.h"
#include "transport/lws/out_queue.h"

struct lws;

namespace realtime::lws_detail {

class EioConnection;  // one session, as the handler sees it (engineio_sessions.cpp)

// The libwebsockets layer, as the session table uses it.
class EioSockets {
 public:
  virtual void respond(lws* wsi, HttpResponse response) = 0;  // answers the request on wsi
  virtual void writable(lws* wsi) = 0;                         // a writeable callback soon
  virtual void kill(lws* wsi) = 0;                             // closes at once, no close frame
  virtual void timeout(lws* wsi, int seconds) = 0;             // closes after that long; 0: never
  // Frames and writes packets from the front of queue; the payload bytes
  // taken, or nullopt when the write failed.
  virtual std::optional<std::size_t> write(lws* wsi, OutQueue& queue) = 0;

 protected:
  virtual ~EioSockets() = default;
};

// What the libwebsockets layer does with a WebSocket after a callback.
enum class WsNext { keep, close_normal, close_too_large, close_protocol_error, drop };

class EioSessions {
 public:
  EioSessions(const LwsOptions& options, EventLoop& loop, EioSockets& sockets);
  ~EioSessions();
  void set_handler(TransportHandler* handler) { handler_ = handler; }

  // HTTP: a request for the Engine.IO path, its body (if any) in.
  void on_request(lws* wsi, const HttpRequest& request);
  bool on_poll_writeable(lws* wsi);  // false: wsi holds no poll
  void close(std::string_view sid, CloseReason reason);

  // WebSocket upgrade of an Engine.IO request: accept, refuse (a WebSocket
  // that is closed at once, for a sid that cannot be probed) or reject.
  enum class Upgrade { accept, refuse, reject };
  Upgrade check_upgrade(const HttpRequest& request) const;
  bool on_ws_established(lws* wsi, HttpRequest&& request);  // false: kill it
  // One piece of a message: first/last piece of it; binary: its type (first only).
  WsNext on_ws_receive(lws* wsi, std::string_view data, bool first, bool last, bool binary);
  WsNext on_ws_writeable(lws* wsi);

  void on_socket_gone(lws* wsi);  // any socket, once lws is done with it
  void flush();  // writes what this loop turn queued for WebSockets
  void close_all(CloseReason reason);  // on shutdown; the handler hears on the next turn
  // Asked at the transport's release interval: whether a burst of work
  // has passed and the heap's free pages should go back now.
  bool memory_release_due() { return release_.tick(); }

 private:
  friend class EioConnection;
  using Conn = std::shared_ptr<EioConnection>;
  // A socket that serves a session: a held poll, its WebSocket or a probe
  // (which of them: the session's poll_, ws_ and probe_ say).
  struct Link {
    Conn session;
    std::string rx;  // a WebSocket message arriving in fragments
    bool rx_binary = false;
  };

  void answer_error(lws* wsi, protocol::engineio::ErrorCode code);
  void handshake(lws* wsi, const HttpRequest& request);
  void hold_poll(lws* wsi, EioConnection& c);
  void take_post(lws* wsi, EioConnection& c, const std::string& body);
  Conn new_session();
  std::string open_packet(const EioConnection& c) const;
  WsNext fail(lws* wsi, EioConnection& c, CloseReason reason, WsNext next);

  void feed(EioConnection& c, const protocol::engineio::Packet& p, protocol::engineio::Channel ch);
  void apply(EioConnection& c, protocol::engineio::Output out);
  void arm(EioConnection& c);
  void enqueue(EioConnection& c, protocol::engineio::PacketType type, std::shared_ptr<const std::string> data,
               bool binary);
  void kick(EioConnection& c);
  bool write_ws(EioConnection& c);
  std::string take_poll_body(EioConnection& c, bool add_close);
  void flush_poll_now(EioConnection& c, bool add_close);
  void close_session(EioConnection& c, CloseReason reason);

  const LwsOptions& opt_;
  EventLoop& loop_;
  EioSockets& sockets_;
  TransportHandler* handler_ = nullptr;
  detail::StringMap<Conn> sessions_;
  std::unordered_map<lws*, Link> links_;
  std::vector<Conn> dirty_;  // sessions with packets for their WebSocket, written by flush()
  MemoryRelease release_;
};

}  // namespace realtime::lws_detail
