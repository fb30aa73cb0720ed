// Acceptor: one listening port for several event loops of one process
// (chatd --threads). Its own thread accepts each connection and, before
// any loop reads from it, looks at the first line of its first request
// without taking it off the socket (MSG_PEEK), so that a router can send
// the connection to the loop that holds its Engine.IO session (the sid in
// the query) or to any loop for a new one. The chosen loop adopts the
// socket (LwsTransport::adopt) and reads the request itself.
//
// Why not SO_REUSEPORT: the kernel would spread the long-polling requests
// of one session over the loops at random, and only one of them holds the
// session. With TLS nothing can be read before the handshake: set
// peek = false and route by the peer's address.
//
// Bounded: at most max_waiting accepted connections wait for their first
// line (past it, accepting pauses and new connections wait in the
// kernel's backlog); one that sends no full line within first_line_timeout
// is closed; a line is read up to max_line_bytes (a longer one is routed
// with what came, and the loop refuses it).
#pragma once

#include <sys/socket.h>

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "realtime/export.h"
#include "realtime/status.h"

namespace realtime {

struct AcceptorOptions {
  std::string host = "127.0.0.1";  // "" or "0.0.0.0": every interface (IPv6 too where it can)
  int port = 0;                    // 0: ephemeral, see Acceptor::port()
  bool peek = true;                // false: route at once, with an empty request line
  std::size_t max_waiting = 4096;
  std::chrono::milliseconds first_line_timeout{10000};
  std::size_t max_line_bytes = 8192;
  int backlog = 1024;
  // forward(): connections relayed at once (past it, new ones are closed),
  // and how long connecting to the other node may take.
  std::size_t max_forwarded = 10000;
  std::chrono::milliseconds forward_connect_timeout{3000};
};

class REALTIME_EXPORT Acceptor {
 public:
  // Takes ownership of `fd` (a connected, non-blocking socket): hands it to
  // a loop or closes it. `request_line` is the first line of the first
  // request ("GET /socket.io/?EIO=4&sid=... HTTP/1.1"), without its line
  // end, or "" when not peeked. Runs on the acceptor's thread; must not
  // block or throw.
  using Router = std::function<void(int fd, std::string_view request_line, const sockaddr_storage& peer)>;

  // Binds and listens at once (the port is known when this returns), then
  // serves on a thread of its own until destroyed.
  static Result<std::unique_ptr<Acceptor>> create(AcceptorOptions options, Router router);
  // Stops accepting, closes every connection still waiting, joins the thread.
  ~Acceptor();
  Acceptor(const Acceptor&) = delete;
  Acceptor& operator=(const Acceptor&) = delete;

  int port() const;
  // Connections waiting for their first line now; closed for a timeout so far.
  std::size_t waiting() const;
  std::size_t timed_out() const;
  // Only from the Router (the acceptor's thread): instead of a loop of
  // this process, the connection goes byte for byte to `to`, another
  // server (the node of a cluster that holds its session), which sees the
  // request from its first byte (nothing was taken off the socket). The
  // relay runs on the acceptor's thread, 256 KiB buffered each way at
  // most (a side that is not read is not read from either), until both
  // sides have closed. Refused (closed) past max_forwarded.
  void forward(int fd, const sockaddr_storage& to);
  std::size_t forwarding() const;  // relays open now

  class Impl;

 private:
  explicit Acceptor(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// The Engine.IO sid in a request line's query ("" when there is none):
// what a Router reads to find the loop that holds the session.
REALTIME_EXPORT std::string_view request_line_sid(std::string_view request_line);
// The path of a request line ("/socket.io/" of "GET /socket.io/?EIO=4 HTTP/1.1").
REALTIME_EXPORT std::string_view request_line_path(std::string_view request_line);

}  // namespace realtime
