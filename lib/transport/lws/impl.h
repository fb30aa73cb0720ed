// LwsTransport::Impl: the state behind the public LwsTransport, shared by
// the files of this directory (loop and timers, HTTP exchange, Engine.IO
// endpoint). Everything here runs on the loop thread except post(),
// stop() and the fields they touch (posted_, stop_requested_).
#pragma once

#include <ev.h>
#include <libwebsockets.h>

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
#include "realtime/blocking_worker.h"
#include "protocol/engineio_session.h"
#include "realtime/lws_transport.h"
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
  engineio::PacketType type;
  std::shared_ptr<const std::string> data;
  bool binary;
};

// What a libwebsockets connection is doing right now.
enum class Role : std::uint8_t { none, http, poll_get, poll_post, ws_primary, ws_probe };

// Lets a route handler answer later: cleared when its connection goes away.
struct ResponseSlot {
  LwsTransport::Impl* impl = nullptr;
  lws* wsi = nullptr;
};

struct WsiState {
  lws* wsi = nullptr;
  Role role = Role::none;
  HttpRequest request;
  std::map<std::string, std::string, std::less<>> cors;  // headers to add
  bool waiting_body = false;
  bool body_too_large = false;
  std::size_t body_limit = 0;
  std::unique_ptr<HttpResponse> response;  // being written (a pointer: WebSockets never have one)
  bool headers_sent = false;
  std::size_t body_offset = 0;
  std::shared_ptr<ResponseSlot> slot;
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
  EioConnection(LwsTransport::Impl* impl, std::string sid, engineio::Session machine)
      : impl_(impl), sid_(std::move(sid)), machine_(machine) {}
  const std::string& id() const override { return sid_; }
  SendStatus send(const Frame& frame) override;
  void close(CloseReason reason) override;
  bool is_open() const override { return open_; }
  std::size_t queued_bytes() const override { return queued_; }
  bool backpressured() const override;

  LwsTransport::Impl* impl_;  // null once closed
  std::string sid_;
  engineio::Session machine_;
  LazyDeque<OutPacket> queue_;
  std::size_t queued_ = 0;
  lws* ws_ = nullptr;     // the WebSocket, once it is the transport
  lws* poll_ = nullptr;   // a held long-poll GET
  lws* probe_ = nullptr;  // a WebSocket probing to upgrade
  bool open_ = true;
  bool dirty_ = false;  // in Impl::dirty_, to be written when the turn ends
  EventLoop::TimerId timer_ = 0;
  engineio::TimePoint timer_at_{};  // when timer_ fires
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

  // http_exchange.cpp: requests in, responses out.
  int on_http(lws* wsi);
  int on_http_body(WsiState& st, const char* data, std::size_t len);
  int on_http_body_done(WsiState& st);
  int on_http_writeable(WsiState& st);
  void dispatch(WsiState& st);
  // How a route (or the file thread) answers later: once, and not at all if
  // the connection is gone by then. Loop thread only.
  HttpResponder responder_for(WsiState& st);
  void respond(WsiState& st, HttpResponse response);
  void add_cors(WsiState& st);
  // 204 to an OPTIONS request; with CORS headers when the origin may.
  void answer_preflight(WsiState& st, std::string methods);

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
  void apply(EioConnection& c, engineio::Output out);
  void feed(EioConnection& c, const engineio::Packet& p, engineio::Channel ch);
  void arm(EioConnection& c);
  void kick(EioConnection& c);
  void flush_dirty();  // writes what this loop turn queued on WebSockets
  bool write_session(EioConnection& c);
  void enqueue(EioConnection& c, engineio::PacketType type, std::shared_ptr<const std::string> data,
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
  // Reads static files; made by the first serve_static(). Last member, and
  // reset first in ~Impl: its thread posts to the loop until it is joined.
  std::unique_ptr<BlockingWorker> static_files_;
};

}  // namespace realtime
