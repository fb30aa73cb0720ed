// LwsTransport::Impl: the state behind the public LwsTransport, shared by
// the files of this directory (loop and timers, HTTP exchange, Engine.IO
// endpoint). Everything here runs on the loop thread except post(),
// stop() and the fields they touch (posted_, stop_requested_).
#pragma once

#include <ev.h>
#include <libwebsockets.h>

#include <algorithm>
#include <atomic>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/string_map.h"
#include "protocol/engineio_session.h"
#include "realtime/blocking_worker.h"
#include "realtime/lws_transport.h"
#include "transport/lws/body_budget.h"
#include "transport/lws/file_io.h"
#include "transport/lws/router.h"

namespace realtime::lws_detail {

class EioConnection;

// A deque that allocates nothing while empty: libstdc++'s std::deque
// allocates about 600 bytes as soon as it is constructed, and most
// connections are idle with nothing queued.
template <class T>
class LazyDeque {
 public:
  bool empty() const { return !d_ || d_->empty(); }
  T& front() { return d_->front(); }
  void push_back(T v) { get().push_back(std::move(v)); }
  void push_front(T v) { get().push_front(std::move(v)); }
  void pop_front() {
    d_->pop_front();
    if (d_->empty()) d_.reset();
  }
  void clear() { d_.reset(); }
  template <class F>
  void for_each(F f) const {
    if (d_)
      for (const auto& v : *d_) f(v);
  }

 private:
  std::deque<T>& get() {
    if (!d_) d_ = std::make_unique<std::deque<T>>();
    return *d_;
  }
  std::unique_ptr<std::deque<T>> d_;
};

// An Engine.IO packet waiting to be written: the bytes are shared with
// every other recipient of a broadcast.
struct OutPacket {
  protocol::engineio::PacketType type;
  std::shared_ptr<const std::string> data;
  bool binary;
};

// What a libwebsockets connection is doing right now.
enum class Role : std::uint8_t { none, http, poll_get, poll_post, ws_primary, ws_probe };

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

struct WsiState {
  lws* wsi = nullptr;
  Role role = Role::none;
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
  std::shared_ptr<EioConnection> session;
  // WebSocket
  std::string rx;
  bool rx_binary = false;
  LazyDeque<OutPacket> probe_out;  // a probe's own replies ("3probe")
  bool close_when_drained = false;
  bool refused = false;  // a WebSocket for a sid that cannot be probed
};

// One Engine.IO session as the layers above see it.
class EioConnection final : public Connection, public std::enable_shared_from_this<EioConnection> {
 public:
  EioConnection(LwsTransport::Impl* impl, std::string sid, protocol::engineio::Session machine)
      : impl_(impl), sid_(std::move(sid)), machine_(machine) {}
  const std::string& id() const override { return sid_; }
  SendStatus send(const Frame& frame) override;
  void close(CloseReason reason) override;
  bool is_open() const override { return open_; }
  std::size_t queued_bytes() const override { return queued_; }
  bool backpressured() const override;

  LwsTransport::Impl* impl_;  // null once closed
  std::string sid_;
  protocol::engineio::Session machine_;
  LazyDeque<OutPacket> queue_;
  std::size_t queued_ = 0;
  lws* ws_ = nullptr;     // the WebSocket, once it is the transport
  lws* poll_ = nullptr;   // a held long-poll GET
  lws* probe_ = nullptr;  // a WebSocket probing to upgrade
  bool open_ = true;
  bool dirty_ = false;  // in Impl::dirty_, to be written when the turn ends
  EventLoop::TimerId timer_ = 0;
  protocol::engineio::TimePoint timer_at_{};  // when timer_ fires
};

}  // namespace realtime::lws_detail

namespace realtime {

class LwsTransport::Impl {
 public:
  using WsiState = lws_detail::WsiState;
  using EioConnection = lws_detail::EioConnection;

  explicit Impl(LwsOptions options) : opt_(std::move(options)) {}
  ~Impl();
  Status start();

  // lws_transport.cpp: loop, posting, timers, callback dispatch.
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
  void kill_wsi(lws* wsi) {
    if (wsi != nullptr) set_wsi_timeout(wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
  }
  void after_own_callback();  // ends on_wake/on_timer
  void run_posted();
  void run_due_timers();
  void arm_timer();
  TimerId set_timer(std::chrono::milliseconds delay, std::function<void()> fn);
  void cancel_timer(TimerId id);
  WsiState& state(lws* wsi);
  WsiState* find_state(lws* wsi);
  void drop_wsi(lws* wsi);
  void shutdown();

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

  // engineio_endpoint.cpp: sessions over polling and WebSocket.
  bool is_eio_path(std::string_view path) const;
  void eio_http(WsiState& st);
  bool eio_ws_filter(lws* wsi);
  void eio_ws_established(WsiState& st);
  int eio_ws_receive(WsiState& st, const char* data, std::size_t len);
  int eio_ws_writeable(WsiState& st);
  // Frames queued packets (a probe's replies, or a session's queue) into
  // one buffer, up to kWsWriteBytes, and writes it. Returns the payload
  // bytes taken from the queue, or nullopt when the write failed.
  std::optional<std::size_t> write_ws(lws* wsi, lws_detail::LazyDeque<lws_detail::OutPacket>& queue);
  void eio_wsi_gone(WsiState& st);
  std::string take_poll_body(EioConnection& c, bool add_close);
  void apply(EioConnection& c, protocol::engineio::Output out);
  void feed(EioConnection& c, const protocol::engineio::Packet& p, protocol::engineio::Channel ch);
  void arm(EioConnection& c);
  void kick(EioConnection& c);
  void flush_dirty();  // writes what this loop turn queued on WebSockets
  bool write_session(EioConnection& c);
  void enqueue(EioConnection& c, protocol::engineio::PacketType type, std::shared_ptr<const std::string> data,
               bool binary);
  void close_session(EioConnection& c, CloseReason reason);
  std::shared_ptr<EioConnection> new_session(const WsiState& st, bool websocket);
  void flush_poll_now(EioConnection& c, bool add_close);

  LwsOptions opt_;
  LwsTransport* owner_ = nullptr;
  TransportHandler* handler_ = nullptr;
  lws_context* ctx_ = nullptr;
  lws_vhost* vhost_ = nullptr;
  int port_ = 0;
  std::vector<lws_protocols> protocols_;
  static constexpr std::size_t kWsWriteBytes = 64 * 1024;  // per write; also lws's tx_packet_size
  static constexpr std::size_t kWsRxBufferBytes = 512;     // lws's per-WebSocket receive buffer
  std::string ws_out_;  // write_ws's buffer, kept to reuse its capacity
  std::atomic<bool> stop_requested_{false};
  std::atomic<bool> running_{false};
  std::mutex post_mu_;
  std::vector<std::function<void()>> posted_;

  // The loop is libev's (epoll), handed to lws as a foreign loop: lws's
  // own loop poll()s every descriptor on every turn, which at thousands
  // of connections cost more than all the work it dispatched.
  struct ev_loop* loop_ = nullptr;
  ev_async wake_{};  // post() and stop() from other threads
  ev_timer timer_{};  // the earliest of timers_
  ev_prepare flush_{};  // runs flush_dirty() before the loop waits again
  std::vector<std::shared_ptr<EioConnection>> dirty_;
  bool lws_timeouts_changed_ = false;
  std::map<std::pair<TimePoint, TimerId>, std::function<void()>> timers_;
  std::unordered_map<TimerId, TimePoint> timer_index_;
  TimerId next_timer_id_ = 1;

  std::unordered_map<lws*, std::unique_ptr<WsiState>> wsis_;
  detail::StringMap<std::shared_ptr<EioConnection>> sessions_;
  lws_detail::Router router_;
  lws_detail::BodyBudget budget_{opt_.max_buffered_bytes, opt_.max_buffered_bytes_per_address};
  // Static files, spooled bodies, file responses: made by serve_static() or
  // on first use. Last member, and reset first in ~Impl: its thread posts
  // to the loop until it is joined.
  std::unique_ptr<BlockingWorker> files_;
};

}  // namespace realtime
