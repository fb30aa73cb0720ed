// LwsTransport: the libwebsockets server. Engine.IO v4 (WebSocket and HTTP
// long-polling, upgrade, heartbeat) on one path, a small HTTP router and
// static files on every other path, and the event loop everything runs on.
//
// Build one with create(), register routes, set_handler(), then run() on the
// thread that is to be the loop thread; stop() (any thread, or a signal
// handler) makes run() return. Everything but post() and stop() must be
// called on the loop thread (or before run()).
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "realtime/event_loop.h"
#include "realtime/export.h"
#include "realtime/status.h"
#include "realtime/transport.h"

namespace realtime {

struct LwsOptions {
  std::string host = "127.0.0.1";    // interface address to bind; "" = all
  int port = 0;                      // 0 = ephemeral; see LwsTransport::port()
  std::string path = "/socket.io/";  // the Engine.IO endpoint
  std::chrono::milliseconds ping_interval{25000};
  std::chrono::milliseconds ping_timeout{20000};
  std::chrono::milliseconds upgrade_timeout{10000};  // probe to "5"
  std::size_t max_payload = 1000000;                 // bytes per message / polling body
  std::vector<std::string> cors_origins;             // empty = same origin only; "*" = any
  std::size_t max_queued_bytes = 4 << 20;            // per connection; past it: closed, too_slow
  std::size_t max_http_body = 1 << 20;               // router request bodies; past it: 413
  std::size_t max_packets_per_payload = 10000;       // polling POST flood cap
  bool allow_upgrades = true;                        // offer polling -> WebSocket
  bool allow_polling = true;
  bool allow_websocket = true;
};

struct HttpRequest {
  std::string method;                                      // "GET", "POST", ...
  std::string path;                                        // decoded, without the query
  std::map<std::string, std::string, std::less<>> params;  // from {name} segments
  std::map<std::string, std::string, std::less<>> query;
  std::map<std::string, std::string, std::less<>> headers;  // lower-case names
  std::string body;
  std::string remote_address;
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::map<std::string, std::string, std::less<>> headers;  // extra, lower-case names
  std::string body;
};

// Answers one request. Call it once, on the loop thread, now or later; a
// call after the client went away is a no-op.
using HttpResponder = std::function<void(HttpResponse)>;
using HttpHandler = std::function<void(const HttpRequest&, HttpResponder)>;

class REALTIME_EXPORT LwsTransport : public Transport, public EventLoop {
 public:
  // Binds the listening socket; fails with unavailable when it cannot.
  static Result<std::unique_ptr<LwsTransport>> create(LwsOptions options);
  ~LwsTransport() override;

  int port() const;  // the bound port (useful with port 0)

  // Routes and static mounts are added before run().
  // "/api/rooms/{id}" binds params["id"]. Unknown path: 404; known path,
  // other method: 405; body over max_http_body: 413.
  void add_route(std::string method, std::string pattern, HttpHandler handler);
  // GET/HEAD under url_prefix serve files below dir; no escaping dir. The
  // files are read on a thread of the transport's own, not on the loop.
  Status serve_static(std::string url_prefix, std::string dir);

  void run();   // serves until stop(); closes every connection on the way out
  void stop();  // any thread, async-signal-safe

  // Transport
  void set_handler(TransportHandler& handler) override;
  EventLoop& loop() override { return *this; }
  // EventLoop
  void post(std::function<void()> task) override;
  TimerId set_timer(std::chrono::milliseconds delay, std::function<void()> fn) override;
  void cancel_timer(TimerId id) override;
  TimePoint now() const override;

  class Impl;

 private:
  explicit LwsTransport(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace realtime
