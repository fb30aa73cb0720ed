// LwsTransport: the libwebsockets context on a libev loop, post(), timers
// and the one protocol callback that routes every lws event to the HTTP
// exchange or the Engine.IO endpoint. run() makes the calling thread the
// loop thread; post() and stop() are the only cross-thread entry points.
#include <csignal>
#include <algorithm>
#include <cstdint>
#include <cstring>

#include <unistd.h>

#include "transport/lws/impl.h"

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace realtime {

int LwsTransport::Impl::lws_callback(lws* wsi, lws_callback_reasons reason, void* user, void* in,
                                     std::size_t len) {
  lws_context* ctx = lws_get_context(wsi);
  auto* impl = ctx ? static_cast<Impl*>(lws_context_user(ctx)) : nullptr;
  if (impl == nullptr) return lws_callback_http_dummy(wsi, reason, user, in, len);
  // The vhost's TLS context, while lws creates it (`user` is the SSL_CTX).
  if (reason == LWS_CALLBACK_OPENSSL_LOAD_EXTRA_SERVER_VERIFY_CERTS)
    return impl->on_tls_context(static_cast<SSL_CTX*>(user)) ? 0 : 1;
  return impl->callback(wsi, static_cast<int>(reason), in, len);
}

void LwsTransport::Impl::on_wake(struct ev_loop* loop, ev_async* /*w*/, int /*revents*/) {
  auto* impl = static_cast<Impl*>(ev_userdata(loop));
  impl->run_signals();
  impl->run_posted();
  impl->after_own_callback();
  if (impl->stop_requested_.load()) ev_break(loop, EVBREAK_ALL);
}

void LwsTransport::Impl::on_prepare(struct ev_loop* loop, ev_prepare* /*w*/, int /*revents*/) {
  auto* impl = static_cast<Impl*>(ev_userdata(loop));
  impl->sessions_.flush();
  impl->after_own_callback();
}

void LwsTransport::Impl::on_timer(struct ev_loop* loop, ev_timer* /*w*/, int /*revents*/) {
  auto* impl = static_cast<Impl*>(ev_userdata(loop));
  impl->run_due_timers();
  impl->after_own_callback();
}

LwsTransport::Impl::~Impl() {
  // Spools and file reads queue their last jobs (removing a partial body)
  // while the file thread still runs; then it is joined (it may post()).
  for (auto& [wsi, st] : wsis_) end_request(*st);
  files_.reset();
  if (ctx_ != nullptr) {
    shutdown();
    lws_context_destroy(ctx_);
  }
  if (loop_ != nullptr) {
    ev_async_stop(loop_, &wake_);
    ev_timer_stop(loop_, &timer_);
    ev_prepare_stop(loop_, &flush_);
    ev_loop_destroy(loop_);
  }
}

Status LwsTransport::Impl::start() {
  lws_set_log_level(LLL_ERR, nullptr);
  // A client that disconnects mid-write must not kill the process.
  std::signal(SIGPIPE, SIG_IGN);
  // rx_buffer_size: every WebSocket keeps a buffer this large for its whole
  // life; a larger frame just arrives in more callbacks. tx_packet_size:
  // lws sends at most this much per syscall.
  protocols_.push_back({"realtime", lws_callback, 0, kWsRxBufferBytes, 0, nullptr, kWsWriteBytes + LWS_PRE});
  protocols_.push_back({nullptr, nullptr, 0, 0, 0, nullptr, 0});

  // NOSIGMASK: signals are the embedder's business (chatd's SIGTERM).
  loop_ = ev_loop_new(static_cast<unsigned>(EVBACKEND_EPOLL) | static_cast<unsigned>(EVFLAG_NOENV) |
                      static_cast<unsigned>(EVFLAG_NOSIGMASK));
  if (loop_ == nullptr) return Status::unavailable("cannot create the event loop (libev, epoll)");
  ev_set_userdata(loop_, this);
  ev_async_init(&wake_, on_wake);
  ev_async_start(loop_, &wake_);
  ev_init(&timer_, on_timer);
  ev_prepare_init(&flush_, on_prepare);
  ev_prepare_start(loop_, &flush_);
  void* foreign_loops[] = {loop_};

  lws_context_creation_info info;
  std::memset(&info, 0, sizeof info);
  info.port = opt_.listen ? opt_.port : CONTEXT_PORT_NO_LISTEN_SERVER;
  info.iface = opt_.host.empty() ? nullptr : opt_.host.c_str();
  info.protocols = protocols_.data();
  info.user = this;
  info.max_http_header_data = 8192;
  info.pt_serv_buf_size = 64 * 1024;
  info.count_threads = 1;
  info.timeout_secs = 30;
  info.keepalive_timeout = keepalive_seconds();
  info.options = LWS_SERVER_OPTION_VALIDATE_UTF8 | LWS_SERVER_OPTION_LIBEV;
  info.foreign_loops = foreign_loops;
  if (Status s = prepare_tls(info); !s.ok()) return s;
  ctx_ = lws_create_context(&info);
  // A certificate that would not install is ours to explain; otherwise lws
  // logs why (a port in use, or its libev plugin missing: on Debian the
  // package libwebsockets-evlib-ev).
  if (!tls_error_.ok()) return tls_error_;
  if (ctx_ == nullptr) return Status::unavailable("cannot create the libwebsockets context");
  // Never a silent plain-text port when a certificate was asked for.
  if (tls_pair_ != nullptr && tls_ctx_ == nullptr)
    return Status::internal("libwebsockets made no TLS context for the port (is it built with OpenSSL?)");
  lws_vhost* vhost = lws_get_vhost_by_name(ctx_, "default");
  port_ = vhost ? lws_get_vhost_listen_port(vhost) : opt_.port;
  if (!opt_.listen) port_ = opt_.port;
  if (opt_.listen && port_ <= 0) {
    lws_context_destroy(ctx_);
    ctx_ = nullptr;
    return Status::unavailable("cannot listen on " + opt_.host + ":" + std::to_string(opt_.port));
  }
  if (opt_.tls_redirect_port) return start_redirect(info);
  return {};
}

int LwsTransport::Impl::callback(lws* wsi, int reason, void* in, std::size_t len) {
  switch (reason) {
    case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
      run_posted();
      return 0;
    case LWS_CALLBACK_HTTP:
      return on_http(wsi);
    case LWS_CALLBACK_HTTP_BODY: {
      auto* st = find_state(wsi);
      return st ? on_http_body(*st, static_cast<const char*>(in), len) : -1;
    }
    case LWS_CALLBACK_HTTP_BODY_COMPLETION: {
      auto* st = find_state(wsi);
      return st ? on_http_body_done(*st) : -1;
    }
    case LWS_CALLBACK_HTTP_WRITEABLE: {
      auto* st = find_state(wsi);
      return st ? on_http_writeable(*st) : 0;
    }
    case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
      return on_ws_filter(wsi) ? 0 : 1;
    case LWS_CALLBACK_ESTABLISHED:
      on_ws_established(state(wsi));
      return 0;
    // An established WebSocket has no WsiState (on_ws_established): the
    // session table knows it. Only a refused one still has one.
    case LWS_CALLBACK_RECEIVE: {
      auto* st = find_state(wsi);
      return st && st->refused ? 0 : on_ws_receive(wsi, static_cast<const char*>(in), len);
    }
    case LWS_CALLBACK_SERVER_WRITEABLE: {
      auto* st = find_state(wsi);
      return st && st->refused ? end_ws(wsi, lws_detail::WsNext::close_normal) : on_ws_writeable(wsi);
    }
    case LWS_CALLBACK_CLOSED:
    case LWS_CALLBACK_CLOSED_HTTP:
    case LWS_CALLBACK_WSI_DESTROY:
      drop_wsi(wsi);
      return 0;
    default:
      break;
  }
  return lws_callback_http_dummy(wsi, static_cast<lws_callback_reasons>(reason), nullptr, in, len);
}

lws_detail::WsiState& LwsTransport::Impl::state(lws* wsi) {
  auto& slot = wsis_[wsi];
  if (!slot) {
    slot = std::make_unique<WsiState>();
    slot->wsi = wsi;
  }
  return *slot;
}

lws_detail::WsiState* LwsTransport::Impl::find_state(lws* wsi) {
  auto it = wsis_.find(wsi);
  return it == wsis_.end() ? nullptr : it->second.get();
}

void LwsTransport::Impl::drop_wsi(lws* wsi) {
  auto it = wsis_.find(wsi);
  if (it == wsis_.end()) {
    sessions_.on_socket_gone(wsi);  // an established WebSocket (or nothing of ours)
    return;
  }
  std::unique_ptr<WsiState> st = std::move(it->second);
  wsis_.erase(it);
  end_request(*st);
  sessions_.on_socket_gone(wsi);
}

void LwsTransport::Impl::wake() { ev_async_send(loop_, &wake_); }

// A lock-free atomic is what makes notify_signal() safe in a signal handler.
static_assert(std::atomic<std::uint64_t>::is_always_lock_free);

void LwsTransport::Impl::notify_signal(int signo) {
  if (signo < 1 || signo > 63) return;
  pending_signals_.fetch_or(std::uint64_t{1} << signo);
  wake();
}

void LwsTransport::Impl::run_signals() {
  std::uint64_t raised = pending_signals_.exchange(0);
  for (int signo = 1; raised != 0 && signo < 64; ++signo) {
    if ((raised & (std::uint64_t{1} << signo)) == 0) continue;
    raised &= ~(std::uint64_t{1} << signo);
    if (signal_handler_) signal_handler_(signo);
  }
}

void LwsTransport::Impl::set_wsi_timeout(lws* wsi, pending_timeout reason, int secs) {
  lws_set_timeout(wsi, reason, secs);
  lws_timeouts_changed_ = true;
}

void LwsTransport::Impl::after_own_callback() {
  // Inside lws's own callbacks the flag is harmless: lws re-arms after them.
  // Here, its cancel pipe is the one public way to make it do so.
  if (!lws_timeouts_changed_ || ctx_ == nullptr) return;
  lws_timeouts_changed_ = false;
  lws_cancel_service(ctx_);
}

void LwsTransport::Impl::run_posted() {
  std::vector<std::function<void()>> tasks;
  {
    std::lock_guard<std::mutex> lock(post_mu_);
    tasks.swap(posted_);
  }
  for (auto& t : tasks) t();
}

void LwsTransport::Impl::post(std::function<void()> task) {
  {
    std::lock_guard<std::mutex> lock(post_mu_);
    posted_.push_back(std::move(task));
  }
  wake();
}

LwsTransport::TimerId LwsTransport::Impl::set_timer(std::chrono::milliseconds delay,
                                                    std::function<void()> fn) {
  TimerId id = next_timer_id_++;
  TimePoint when = std::chrono::steady_clock::now() + delay;
  timers_.emplace(std::make_pair(when, id), std::move(fn));
  timer_index_.emplace(id, when);
  if (timers_.begin()->first.second == id) arm_timer();
  return id;
}

void LwsTransport::Impl::cancel_timer(TimerId id) {
  auto it = timer_index_.find(id);
  if (it == timer_index_.end()) return;
  timers_.erase(std::make_pair(it->second, id));
  timer_index_.erase(it);
}

void LwsTransport::Impl::arm_timer() {
  // A cancelled earliest timer is left armed: it fires, finds nothing due
  // and re-arms, which is cheaper than re-arming on every cancel.
  ev_timer_stop(loop_, &timer_);
  if (timers_.empty()) return;
  // libev measures from its cached loop time; refresh it so that work done
  // since the loop woke does not make the timer late.
  ev_now_update(loop_);
  const std::chrono::duration<double> delay = timers_.begin()->first.first - std::chrono::steady_clock::now();
  ev_timer_set(&timer_, delay.count() > 0 ? delay.count() : 0.0, 0.0);
  ev_timer_start(loop_, &timer_);
}

void LwsTransport::Impl::run_due_timers() {
  // Bounded: timers set by a running timer for "now" wait for the next turn.
  auto now = std::chrono::steady_clock::now();
  std::vector<std::function<void()>> due;
  while (!timers_.empty() && timers_.begin()->first.first <= now) {
    auto node = timers_.extract(timers_.begin());
    timer_index_.erase(node.key().second);
    due.push_back(std::move(node.mapped()));
  }
  for (auto& fn : due) fn();
  arm_timer();
}

void LwsTransport::Impl::shutdown() {
  sessions_.close_all(CloseReason::server_shutdown);
  // Deliver the close reports (and whatever they post) before returning;
  // bounded so a handler that keeps posting cannot hold shutdown forever.
  for (int i = 0; i < 16; ++i) {
    {
      std::lock_guard<std::mutex> lock(post_mu_);
      if (posted_.empty()) break;
    }
    run_posted();
  }
}

void LwsTransport::Impl::add_route(std::string method, std::string_view pattern, HttpHandler handler,
                                   RouteOptions options) {
  router_.add_route(std::move(method), pattern, std::move(handler), std::move(options));
}

Status LwsTransport::Impl::serve_static(std::string url_prefix, const std::string& dir) {
  if (Status s = router_.add_static(std::move(url_prefix), dir); !s.ok()) return s;
  files();  // started now: routes read serve_static's files through it
  return {};
}

void LwsTransport::Impl::arm_memory_release() {
  if (opt_.memory_release_interval.count() <= 0) return;
  set_timer(opt_.memory_release_interval, [this] {
#if defined(__GLIBC__)
    if (sessions_.memory_release_due()) malloc_trim(0);
#endif
    arm_memory_release();
  });
}

void LwsTransport::Impl::run() {
  arm_memory_release();
  arm_timer();
  // Tasks posted before run() are already waiting behind a wakeup; stop()
  // wakes the loop, which breaks out after running what was posted.
  if (!stop_requested_.load()) ev_run(loop_, 0);
  shutdown();
}

void LwsTransport::Impl::adopt(int fd) {
  // Closes the socket unless the loop took it: a task dropped with the
  // transport still closes it.
  struct Held {
    explicit Held(int f) : fd(f) {}
    Held(const Held&) = delete;
    Held& operator=(const Held&) = delete;
    ~Held() {
      if (fd >= 0) ::close(fd);
    }
    int fd;
  };
  auto held = std::make_shared<Held>(fd);
  post([this, held] {
    lws_vhost* vhost = ctx_ != nullptr ? lws_get_vhost_by_name(ctx_, "default") : nullptr;
    if (vhost == nullptr || stop_requested_.load()) return;
    lws_sock_file_fd_type desc;
    desc.sockfd = held->fd;
    auto type = static_cast<lws_adoption_type>(LWS_ADOPT_SOCKET | LWS_ADOPT_HTTP |
                                               (tls_ctx_ != nullptr ? LWS_ADOPT_ALLOW_SSL : 0));
    // lws closes the socket itself when adoption fails.
    held->fd = -1;
    (void)lws_adopt_descriptor_vhost(vhost, type, desc, nullptr, nullptr);
  });
}

void LwsTransport::Impl::stop() {
  stop_requested_.store(true);
  wake();
}

// ---- public facade ----

Result<std::unique_ptr<LwsTransport>> LwsTransport::create(LwsOptions options) {
  auto impl = std::make_unique<Impl>(std::move(options));
  if (auto s = impl->start(); !s.ok()) return s;
  std::unique_ptr<LwsTransport> t(new LwsTransport(std::move(impl)));
  return t;
}

LwsTransport::LwsTransport(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
LwsTransport::~LwsTransport() = default;

int LwsTransport::port() const { return impl_->port(); }
int LwsTransport::redirect_port() const { return impl_->redirect_port(); }
std::optional<TlsCertificate> LwsTransport::tls_certificate() const { return impl_->tls_certificate(); }
void LwsTransport::reload_tls(std::function<void(Result<TlsCertificate>)> done) {
  impl_->reload_tls(std::move(done));
}
void LwsTransport::notify_signal(int signo) { impl_->notify_signal(signo); }
void LwsTransport::on_signal(std::function<void(int)> handler) { impl_->on_signal(std::move(handler)); }

void LwsTransport::add_route(std::string method, std::string pattern, HttpHandler handler, RouteOptions options) {
  impl_->add_route(std::move(method), pattern, std::move(handler), std::move(options));
}

Status LwsTransport::serve_static(std::string url_prefix, std::string dir) {
  return impl_->serve_static(std::move(url_prefix), dir);
}

void LwsTransport::adopt(int fd) { impl_->adopt(fd); }
void LwsTransport::run() { impl_->run(); }
void LwsTransport::stop() { impl_->stop(); }
void LwsTransport::set_handler(TransportHandler& handler) { impl_->set_handler(handler); }
void LwsTransport::clear_handler() { impl_->clear_handler(); }
void LwsTransport::post(std::function<void()> task) { impl_->post(std::move(task)); }

LwsTransport::TimerId LwsTransport::set_timer(std::chrono::milliseconds delay, std::function<void()> fn) {
  return impl_->set_timer(delay, std::move(fn));
}

void LwsTransport::cancel_timer(TimerId id) { impl_->cancel_timer(id); }
LwsTransport::TimePoint LwsTransport::now() const { return impl_->now(); }

}  // namespace realtime
