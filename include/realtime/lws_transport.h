// LwsTransport: the libwebsockets server. Engine.IO v4 (WebSocket and HTTP
// long-polling, upgrade, heartbeat) on one path, a small HTTP router and
// static files on every other path, and the event loop everything runs on.
//
// Build one with create(), register routes, set_handler(), then run() on the
// thread that is to be the loop thread; stop() (any thread, or a signal
// handler) makes run() return. Everything but post() and stop() must be
// called on the loop thread (or before run()).
//
// A request is routed on its request line and headers before a byte of its
// body is read: unknown paths, wrong methods, bodies over the route's limit
// and whatever the route's admission check refuses are answered at once and
// the connection is closed. Bodies held in memory count against a total and
// a per-address budget, and each body has one deadline.
//
// With a certificate and key (LwsOptions::tls_cert_file), the port speaks
// only TLS (1.2 or later, OpenSSL through libwebsockets): HTTPS, WSS and
// polling alike, never a plain-text fallback. reload_tls() swaps the pair
// for new handshakes while open connections keep theirs.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <optional>
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
  // Origins whose pages may read answers (polling, routes). Listed origins
  // get credentialed CORS; "*" lets any origin read, never with credentials.
  std::vector<std::string> cors_origins;  // empty = same origin only
  std::size_t max_queued_bytes = 4 << 20;            // per connection; past it: closed, too_slow
  std::size_t max_http_body = 1 << 20;               // a route's body limit unless it sets its own; past it: 413
  // Request bodies held in memory at once (route bodies, polling POSTs,
  // what a spooled upload has in flight), all clients together and per
  // client address. A request that would pass them is answered 503 / 429
  // on its headers. 0 per address: no per-address cap (behind a proxy
  // every client has the proxy's address).
  std::size_t max_buffered_bytes = 64 << 20;
  std::size_t max_buffered_bytes_per_address = 8 << 20;
  // The whole body must arrive within this, from the end of the headers
  // (not per chunk, so a slow drip cannot hold a connection); past it: 408.
  std::chrono::milliseconds body_timeout{30000};
  // An idle HTTP/1.1 keep-alive connection is closed after this. Answers
  // say so (Keep-Alive: timeout=N), so a client's connection pool drops the
  // socket before the server does instead of sending a request into a
  // closing one. At least 2 s (less is taken as 2).
  std::chrono::seconds keepalive_timeout{5};
  std::size_t max_packets_per_payload = 10000;       // polling POST flood cap
  bool allow_upgrades = true;                        // offer polling -> WebSocket
  bool allow_polling = true;
  bool allow_websocket = true;
  // How often the loop checks whether to hand the heap's free pages back
  // to the system (glibc's malloc_trim). It does so only after a burst of
  // work (thousands of sessions opened or closed, megabytes queued) once
  // traffic has gone quiet: otherwise an idle server keeps the pages the
  // burst used, about as much again as its connections' own state. A trim
  // stalls the loop for a walk of the free lists (tens of ms at 100 MB).
  // 0: never.
  std::chrono::milliseconds memory_release_interval{2000};

  // Several transports of one process behind one Acceptor (acceptor.h;
  // chatd --threads). listen false: no listening socket of its own; every
  // connection comes through adopt(). sid_prefix starts every Engine.IO
  // sid this transport makes, so that a router can tell from a request's
  // sid which transport holds its session. close_after_response: every
  // HTTP answer closes its connection, so that each request comes on a
  // fresh one that the Acceptor routes (a WebSocket stays where it is).
  bool listen = true;
  std::string sid_prefix;
  bool close_after_response = false;

  // TLS. Both set: the port serves only TLS (a plain-HTTP request there is
  // a failed handshake, never an answer). Both empty: plain HTTP. One
  // without the other, or a pair that does not load, fails create() with
  // bad_request naming the file and why. Read (whole, at most 1 MiB each)
  // by create() on its caller's thread and by each reload_tls() on the
  // transport's file thread; never kept open, so a renewal tool may
  // replace them at any time.
  std::string tls_cert_file;  // PEM: the server certificate first, then its intermediates (a chain file)
  std::string tls_key_file;   // PEM private key of that certificate, unencrypted (no passphrase prompt)
  // A second, plain-HTTP port on the same interface whose every answer is
  // 301 to https://<the request's host>:<port()><the request's path>.
  // Nothing else is served there. nullopt: none; 0: an ephemeral port (see
  // redirect_port()). Only with TLS; create() refuses it otherwise.
  std::optional<int> tls_redirect_port;
};

// The certificate the transport hands to new handshakes, for logs ("which
// certificate is live after the renewal") and checks.
struct TlsCertificate {
  std::string subject;    // one line, RFC 2253 order: "CN=chat.example.com,O=Example"
  std::string serial;     // upper-case hex in whole bytes, no separators: "07D2" (as openssl shows it)
  std::string not_after;  // expiry, UTC: "2027-03-01T12:00:00Z"
};

struct HttpRequest {
  std::string method;                                      // "GET", "POST", ...
  std::string path;                                        // decoded, without the query
  std::map<std::string, std::string, std::less<>> params;  // from {name} segments
  std::map<std::string, std::string, std::less<>> query;
  std::map<std::string, std::string, std::less<>> headers;  // lower-case names
  std::string body;       // the body, unless the route spools it
  std::string body_file;  // a spooling route's body (see RouteOptions::spool_dir)
  std::size_t body_size = 0;  // bytes in body or body_file
  std::string remote_address;
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  // Extra headers, lower-case names. A name or value with CR, LF or NUL is
  // dropped (and such a content_type becomes application/octet-stream).
  std::map<std::string, std::string, std::less<>> headers;
  std::string body;
  // When set, the body is this file instead of `body`: opened and read on
  // the transport's file thread as the socket drains, never whole in
  // memory. A file that cannot be opened is answered 404.
  std::string file;
};

// Answers one request. Call it once, on the loop thread, now or later; a
// call after the client went away is a no-op.
using HttpResponder = std::function<void(HttpResponse)>;
using HttpHandler = std::function<void(const HttpRequest&, HttpResponder)>;

// A route's verdict on a request's line and headers: nullopt reads the
// body and runs the handler; a response is sent at once instead, the body
// is never read and the connection is closed. Call it once, loop thread.
using HttpDecision = std::function<void(std::optional<HttpResponse> refusal)>;
// Sees the request without its body (body empty, params bound). May decide
// now or later (after a store lookup): until it does, the socket is not read.
using HttpAdmission = std::function<void(const HttpRequest& head, HttpDecision decide)>;

struct RouteOptions {
  std::size_t max_body = 0;  // bytes; 0 = LwsOptions::max_http_body. Announced larger: 413
  std::chrono::milliseconds body_timeout{0};  // 0 = LwsOptions::body_timeout
  HttpAdmission admit;       // optional check on the headers (authentication, limits)
  // Non-empty: the body is written to a new file in this directory (on the
  // file thread; at most a small window of it in memory) and the handler
  // gets its path in HttpRequest::body_file. The transport removes that
  // path when the request ends (answered, or the client gone): a handler
  // that keeps the bytes renames the file first (same file system).
  std::string spool_dir;
};

class REALTIME_EXPORT LwsTransport : public Transport, public EventLoop {
 public:
  // Binds the listening socket; fails with unavailable when it cannot.
  static Result<std::unique_ptr<LwsTransport>> create(LwsOptions options);
  ~LwsTransport() override;

  int port() const;  // the bound port (useful with port 0)
  int redirect_port() const;  // the HTTP->HTTPS redirect port; 0 when there is none

  // The certificate new handshakes get; nullopt without TLS. Loop thread
  // (or before run()).
  std::optional<TlsCertificate> tls_certificate() const;
  // Reads tls_cert_file and tls_key_file again, off the loop (on the file
  // thread), and checks them as create() does; if they load and match,
  // every handshake from then on gets the new pair. Connections already
  // open keep the certificate they were made with: nothing is dropped.
  // A pair that fails (unreadable, not PEM, key not matching, a key of
  // another type than the one served: RSA to EC needs a restart) changes
  // nothing: the old pair stays live and `done` gets the error. `done`
  // runs once, on the loop thread, with the certificate now served or the
  // error (bad_request when the transport has no TLS); not at all if run()
  // returns first. Call on the loop thread; reloads may overlap: they are
  // read and applied in the order asked, so the last one asked wins.
  void reload_tls(std::function<void(Result<TlsCertificate>)> done);

  // A bridge from a signal handler to the loop: notify_signal() is
  // async-signal-safe (one atomic or, one libev wakeup) and any thread may
  // call it; the handler set with on_signal() then runs on the loop thread
  // with that signo, once per wakeup however many times it was raised.
  // signo 1..63; others are ignored. on_signal(): before run() or on the
  // loop thread; an empty function drops the signals.
  void notify_signal(int signo);
  void on_signal(std::function<void(int signo)> handler);

  // Routes and static mounts are added before run().
  // "/api/rooms/{id}" binds params["id"]. Unknown path: 404; known path,
  // other method: 405; body over the route's limit: 413; a body without a
  // Content-Length (chunked): 411. All decided before the body is read.
  void add_route(std::string method, std::string pattern, HttpHandler handler, RouteOptions options = {});
  // GET/HEAD under url_prefix serve files below dir; no escaping dir. The
  // files are read on a thread of the transport's own, not on the loop.
  Status serve_static(std::string url_prefix, std::string dir);

  // A connected socket accepted elsewhere (an Acceptor), served as if this
  // transport had accepted it; the transport owns `fd` from the call on
  // (closes it if it cannot take it, or if it is destroyed before its
  // loop got to it). Any thread.
  void adopt(int fd);

  void run();   // serves until stop(); closes every connection on the way out
  void stop();  // any thread, async-signal-safe

  // Transport
  void set_handler(TransportHandler& handler) override;
  void clear_handler() override;
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
