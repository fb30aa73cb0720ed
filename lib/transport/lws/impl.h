// LwsTransport::Impl: the libwebsockets layer behind the public
// LwsTransport, shared by the files of this directory: the loop and timers
// (lws_transport.cpp), the HTTP exchange (http_exchange.cpp, http_body.cpp)
// and the Engine.IO path's sockets (engineio_endpoint.cpp), whose sessions
// live in EioSessions (engineio_sessions.h). Everything here runs on the
// loop thread except post(), stop() and the fields they touch (posted_,
// stop_requested_).
#pragma once

#include <ev.h>
#include <libwebsockets.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "realtime/blocking_worker.h"
#include "realtime/lws_transport.h"
#include "transport/lws/body_budget.h"
#include "transport/lws/engineio_sessions.h"
#include "transport/lws/file_io.h"
#include "transport/lws/router.h"
#include "transport/lws/tls.h"

namespace realtime::lws_detail {

// One HTTP request, for work that finishes later (a route's responder, an
// admission, a file read, the body deadline): wsi is null once the request
// has ended or its connection has gone, and the late work does nothing.
struct RequestToken {
  lws* wsi = nullptr;
};

// A request body on its way in (http_body.cpp): what the budget holds for
// it, where its bytes go, and whether the route has admitted it yet.
struct BodyIntake {
  bool expected = false;  // a body (maybe empty) is announced: wait for its completion
  bool complete = false;  // lws delivered all of it
  bool admitted = false;  // the route's admission (if any) said yes
  bool paused = false;    // socket reads are stopped (admission pending, spool window full)
  bool timed_out = false; // the deadline passed before the body was in
  std::size_t length = 0;    // Content-Length
  std::size_t received = 0;
  std::size_t reserved = 0;  // held in the BodyBudget (taken once admitted)
  EventLoop::TimerId deadline = 0;
  const HttpHandler* handler = nullptr;  // null: the Engine.IO endpoint
  const RouteOptions* route = nullptr;
  std::shared_ptr<BodySpool> spool;
};

// A file response (HttpResponse::file) being streamed.
struct FileBody {
  std::shared_ptr<FileSource> source;
  bool ready = false;    // opened, size known
  bool reading = false;  // a read is on the file thread
  std::uint64_t left = 0;  // bytes still to write
  std::string chunk;       // read, not yet written
};

// One libwebsockets connection: the HTTP request it is serving (keep-alive
// connections serve one after another), or, for a WebSocket, the request
// that opened it until the session table takes it (then the WsiState goes:
// only a refused WebSocket keeps one). Which Engine.IO session
// a socket serves is the session table's business, not this.
struct WsiState {
  lws* wsi = nullptr;
  HttpRequest request;
  std::map<std::string, std::string, std::less<>> cors;  // headers to add
  BodyIntake body;
  bool answered = false;     // respond() was called for this request
  bool close_after = false;  // close once the response is out (the body was not read)
  bool draining = false;     // answered and refused: the rest of the body is read and dropped
  std::unique_ptr<HttpResponse> response;  // being written (a pointer: WebSockets never have one)
  bool headers_sent = false;
  std::size_t body_offset = 0;
  FileBody file;
  std::shared_ptr<RequestToken> token;
  bool refused = false;  // a WebSocket for a sid that cannot be probed: closed at once
};

}  // namespace realtime::lws_detail

namespace realtime {

// Private state only; lws_transport.cpp's LwsTransport forwards to the
// public calls. Besides EventLoop (post() and stop() are the calls other
// threads may make), Impl is the session table's EioSockets.
class LwsTransport::Impl final : public EventLoop, private lws_detail::EioSockets {
 public:
  explicit Impl(LwsOptions options) : opt_(std::move(options)) {}
  ~Impl() override;
  Status start();  // creates the loop and the lws context, binds the port

  int port() const { return port_; }
  int redirect_port() const { return redirect_port_; }
  void add_route(std::string method, std::string_view pattern, HttpHandler handler, RouteOptions options);
  Status serve_static(std::string url_prefix, const std::string& dir);
  void set_handler(TransportHandler& handler) { sessions_.set_handler(&handler); }
  void clear_handler() { sessions_.set_handler(nullptr); }
  void run();
  void stop();  // any thread
  void adopt(int fd);  // any thread

  // tls_vhost.cpp: the TLS pair, its reload, the redirect port.
  std::optional<TlsCertificate> tls_certificate() const;
  void reload_tls(std::function<void(Result<TlsCertificate>)> done);
  // lws_transport.cpp: signals onto the loop.
  void notify_signal(int signo);  // any thread, async-signal-safe
  void on_signal(std::function<void(int)> handler) { signal_handler_ = std::move(handler); }

  // EventLoop
  void post(std::function<void()> task) override;  // any thread
  TimerId set_timer(std::chrono::milliseconds delay, std::function<void()> fn) override;
  void cancel_timer(TimerId id) override;
  TimePoint now() const override { return std::chrono::steady_clock::now(); }

 private:
  using WsiState = lws_detail::WsiState;

  // lws_transport.cpp: loop, posting, timers, callback dispatch.
  static int lws_callback(lws* wsi, lws_callback_reasons reason, void* user, void* in, std::size_t len);
  static void on_wake(struct ev_loop* loop, ev_async* w, int revents);
  static void on_prepare(struct ev_loop* loop, ev_prepare* w, int revents);
  static void on_timer(struct ev_loop* loop, ev_timer* w, int revents);
  int callback(lws* wsi, int reason, void* in, std::size_t len);
  void wake();  // from any thread: run posted tasks (and see stop) soon
  // lws_set_timeout, and a note that lws must look at its timers again.
  // lws re-arms its timer only after it served a socket, so a timeout set
  // from our own timer or posted task would otherwise wait for unrelated
  // traffic.
  void set_wsi_timeout(lws* wsi, pending_timeout reason, int secs);
  int keepalive_seconds() const {
    return static_cast<int>(std::clamp<std::int64_t>(opt_.keepalive_timeout.count(), 2, 24 * 3600));
  }
  void after_own_callback();  // ends on_wake/on_timer
  void run_posted();
  void run_due_timers();
  // Every memory_release_interval: malloc_trim when the session table says
  // a burst has passed (memory_release.h).
  void arm_memory_release();
  void arm_timer();
  WsiState& state(lws* wsi);
  WsiState* find_state(lws* wsi);
  void drop_wsi(lws* wsi);
  void shutdown();

  // tls_vhost.cpp. Before lws_create_context: reads the pair (create()'s
  // thread) and fills in the TLS fields of `info`.
  Status prepare_tls(lws_context_creation_info& info);
  // The vhost's SSL_CTX, from lws while it creates the vhost: hardened and
  // given the pair. false (and tls_error_ set) when that fails.
  bool on_tls_context(SSL_CTX* ctx);
  Status start_redirect(const lws_context_creation_info& main_info);  // the plain-HTTP 301 port
  static int redirect_callback(lws* wsi, lws_callback_reasons reason, void* user, void* in, std::size_t len);
  void run_signals();  // on_wake: the handler for each signal noted since the last turn

  // http_exchange.cpp: requests in, routed on their headers; responses out.
  int on_http(lws* wsi);
  void route_request(WsiState& st);
  void run_request(WsiState& st);  // the body is in: Engine.IO or the route's handler
  int on_http_writeable(WsiState& st);
  int write_file_body(WsiState& st);
  void start_draining(WsiState& st);  // reads out a refused body before closing
  void close_when_idle(WsiState& st);  // after an answer, on a keep-alive connection
  // How long a refused body is read and dropped before the connection closes.
  static constexpr std::chrono::seconds kDrainTime{2};
  void read_file_chunk(WsiState& st);
  // How a route (or the file thread) answers later: once, and not at all if
  // the request is over by then. Loop thread only.
  HttpResponder responder_for(WsiState& st);
  // The state of the request `token` names, or null when it is over.
  WsiState* request_state(const std::shared_ptr<lws_detail::RequestToken>& token);
  void respond(WsiState& st, HttpResponse response);
  // Answers without reading (the rest of) the body, and closes after.
  void refuse(WsiState& st, HttpResponse response);
  void add_cors(WsiState& st);
  // 204 to an OPTIONS request; with CORS headers when the origin may.
  void answer_preflight(WsiState& st, std::string methods);

  // http_body.cpp: request bodies, from the headers to the handler.
  // Checks the limit and arms the deadline; false when it refused.
  bool begin_body(WsiState& st, std::size_t limit, std::chrono::milliseconds timeout);
  // Takes the body's bytes from the budget; false when it refused.
  bool reserve_body(WsiState& st, bool spooled);
  void ask_admission(WsiState& st, const HttpAdmission& admit);
  void on_admitted(WsiState& st, std::optional<HttpResponse> refusal);
  int on_http_body(WsiState& st, const char* data, std::size_t len);
  int on_http_body_done(WsiState& st);
  void finish_body(WsiState& st);
  void update_rx(WsiState& st);  // stops or resumes reading the socket
  void end_request(WsiState& st);  // gives back what the request held
  BlockingWorker& files();  // the file thread, started on first use

  // engineio_endpoint.cpp: the Engine.IO path's sockets, handed to sessions_.
  bool is_eio_path(std::string_view path) const;
  void on_eio_request(WsiState& st);  // polling or handshake, the body in
  bool on_ws_filter(lws* wsi);  // false: refuse the upgrade
  void on_ws_established(WsiState& st);
  // An established WebSocket's callbacks: it has no WsiState.
  int on_ws_receive(lws* wsi, const char* data, std::size_t len);
  int on_ws_writeable(lws* wsi);
  int end_ws(lws* wsi, lws_detail::WsNext next);  // the callback's return value
  // EioSockets, for sessions_.
  void respond(lws* wsi, HttpResponse response) override;
  void writable(lws* wsi) override { lws_callback_on_writable(wsi); }
  void kill(lws* wsi) override {
    if (wsi != nullptr) set_wsi_timeout(wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
  }
  void timeout(lws* wsi, int seconds) override {
    set_wsi_timeout(wsi, seconds > 0 ? PENDING_TIMEOUT_USER_OK : NO_PENDING_TIMEOUT, seconds);
  }
  // Frames queued packets into one buffer, up to kWsWriteBytes, and writes it.
  std::optional<std::size_t> write(lws* wsi, lws_detail::OutQueue& queue) override;

  LwsOptions opt_;
  lws_context* ctx_ = nullptr;
  int port_ = 0;
  std::vector<lws_protocols> protocols_;
  // TLS: the pair new handshakes get and the SSL_CTX lws made for the
  // vhost (lws owns it; it lives as long as ctx_). tls_error_: why setting
  // it up inside lws_create_context failed.
  std::shared_ptr<const lws_detail::TlsPair> tls_pair_;
  SSL_CTX* tls_ctx_ = nullptr;
  Status tls_error_;
  std::vector<lws_protocols> redirect_protocols_;
  int redirect_port_ = 0;
  // notify_signal(): one bit per signo, taken by run_signals().
  std::atomic<std::uint64_t> pending_signals_{0};
  std::function<void(int)> signal_handler_;
  static constexpr std::size_t kWsWriteBytes = 64 * 1024;  // per write; also lws's tx_packet_size
  // lws's per-WebSocket receive buffer, kept for the socket's life: what a
  // client sends (events, acks, a chat message) mostly fits; a bigger frame
  // arrives in several callbacks and is gathered (EioSessions::Link::rx).
  static constexpr std::size_t kWsRxBufferBytes = 256;
  std::string ws_out_;  // write()'s buffer, kept to reuse its capacity
  std::atomic<bool> stop_requested_{false};
  std::mutex post_mu_;
  std::vector<std::function<void()>> posted_;

  // The loop is libev's (epoll), handed to lws as a foreign loop: lws's
  // own loop poll()s every descriptor on every turn, which at thousands
  // of connections cost more than all the work it dispatched.
  struct ev_loop* loop_ = nullptr;
  ev_async wake_{};  // post() and stop() from other threads
  ev_timer timer_{};  // the earliest of timers_
  ev_prepare flush_{};  // runs sessions_.flush() before the loop waits again
  bool lws_timeouts_changed_ = false;
  std::map<std::pair<TimePoint, TimerId>, std::function<void()>> timers_;
  std::unordered_map<TimerId, TimePoint> timer_index_;
  TimerId next_timer_id_ = 1;

  std::unordered_map<lws*, std::unique_ptr<WsiState>> wsis_;
  lws_detail::EioSessions sessions_{opt_, *this, *this};
  lws_detail::Router router_;
  lws_detail::BodyBudget budget_{opt_.max_buffered_bytes, opt_.max_buffered_bytes_per_address};
  // Static files, spooled bodies, file responses: made by serve_static() or
  // on first use. Last member, and reset first in ~Impl: its thread posts
  // to the loop until it is joined.
  std::unique_ptr<BlockingWorker> files_;
};

}  // namespace realtime
