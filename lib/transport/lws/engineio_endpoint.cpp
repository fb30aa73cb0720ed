// Engine.IO v4 endpoint of the lws transport: handshakes, long-polling GET
// and POST, WebSocket sessions and probes, and the glue that applies the
// pure protocol::engineio::Session's decisions (send, deliver, flush, upgrade, close)
// to real sockets. Loop thread only.
#include <cstring>
#include <utility>

#include "protocol/engineio_handshake.h"
#include "protocol/engineio_packet.h"
#include "realtime/random.h"
#include "transport/lws/impl.h"
#include "transport/lws/ws_frame.h"

namespace realtime {
namespace eio = protocol::engineio;
using lws_detail::Role;

namespace {

std::string_view query_value(const HttpRequest& req, std::string_view key) {
  auto it = req.query.find(key);
  return it == req.query.end() ? std::string_view() : std::string_view(it->second);
}

HttpResponse eio_error(eio::ErrorCode code) {
  HttpResponse r;
  r.status = code == eio::ErrorCode::forbidden ? 403 : 400;
  r.body = eio::encode_error(code);
  return r;
}

HttpResponse polling_body(std::string body) {
  HttpResponse r;
  r.content_type = "text/plain; charset=UTF-8";
  r.body = std::move(body);
  return r;
}

// Takes the request apart: a WebSocket keeps its WsiState for its whole
// life, and the handler keeps its own copy of the handshake.
Handshake handshake_of(HttpRequest&& req) {
  Handshake h;
  h.query = std::move(req.query);
  h.headers = std::move(req.headers);
  h.remote_address = std::move(req.remote_address);
  req = HttpRequest{};
  return h;
}

}  // namespace

namespace lws_detail {

SendStatus EioConnection::send(const Frame& frame) {
  if (!open_ || impl_ == nullptr) return SendStatus::dropped;
  std::size_t size = frame.view().size() + 1;
  if (queued_ + size > impl_->opt_.max_queued_bytes) {
    impl_->close_session(*this, CloseReason::too_slow);
    return SendStatus::dropped;
  }
  impl_->enqueue(*this, eio::PacketType::message,
                 frame.bytes ? frame.bytes : std::make_shared<const std::string>(), frame.binary);
  return queued_ > impl_->opt_.max_queued_bytes / 2 ? SendStatus::backpressure : SendStatus::sent;
}

// The same soft limit as send()'s backpressure answer.
bool EioConnection::backpressured() const {
  return open_ && impl_ != nullptr && queued_ > impl_->opt_.max_queued_bytes / 2;
}

void EioConnection::close(CloseReason reason) {
  if (open_ && impl_ != nullptr) impl_->close_session(*this, reason);
}

}  // namespace lws_detail

bool LwsTransport::Impl::is_eio_path(std::string_view path) const {
  std::string_view p(opt_.path);
  return path == p || (p.size() > 1 && p.back() == '/' && path == p.substr(0, p.size() - 1));
}

std::shared_ptr<lws_detail::EioConnection> LwsTransport::Impl::new_session(const WsiState& st,
                                                                           bool websocket) {
  (void)st;
  eio::SessionConfig cfg{opt_.ping_interval, opt_.ping_timeout, opt_.upgrade_timeout};
  std::string sid = realtime::random_token(15);
  // A collision of 120 random bits is not a practical concern, but an
  // existing session must never be replaced.
  for (int i = 0; i < 4 && sessions_.count(sid) != 0; ++i) sid = realtime::random_token(15);
  auto c = std::make_shared<EioConnection>(this, sid, eio::Session(cfg, std::chrono::steady_clock::now()));
  sessions_[sid] = c;
  (void)websocket;
  return c;
}

void LwsTransport::Impl::eio_http(WsiState& st) {
  const HttpRequest& req = st.request;
  if (req.method == "OPTIONS") {
    // The reference server (the cors package) allows these; a browser must see
    // the 400 for a PUT handshake rather than a failed preflight.
    answer_preflight(st, "GET, HEAD, PUT, PATCH, POST, DELETE");
    return;
  }
  std::string_view transport = query_value(req, "transport");
  bool websocket = transport == "websocket" && opt_.allow_websocket;
  if (!websocket && (transport != "polling" || !opt_.allow_polling)) {
    respond(st, eio_error(eio::ErrorCode::unknown_transport));
    return;
  }
  std::string_view sid = query_value(req, "sid");
  if (websocket) {
    // A known transport, but WebSocket needs an Upgrade request; engine.io
    // answers the checks it passes first, then "Bad request".
    eio::ErrorCode code = eio::ErrorCode::bad_request;
    if (req.query.count("sid") != 0 && sessions_.find(sid) == sessions_.end()) {
      code = eio::ErrorCode::unknown_sid;
    } else if (req.query.count("sid") == 0 && req.method != "GET") {
      code = eio::ErrorCode::bad_handshake_method;
    }
    respond(st, eio_error(code));
    return;
  }
  if (!sid.empty() || req.query.count("sid") != 0) {
    auto it = sessions_.find(sid);
    if (it == sessions_.end()) {
      respond(st, eio_error(eio::ErrorCode::unknown_sid));
      return;
    }
    std::shared_ptr<EioConnection> c = it->second;
    if (c->ws_ != nullptr || c->machine_.upgraded()) {
      // The session lives on a WebSocket now; polling it is a client bug.
      respond(st, eio_error(eio::ErrorCode::bad_request));
      return;
    }
    if (req.method == "GET") {
      if (c->poll_ != nullptr) {
        // engine.io: "overlap from client" is a transport error.
        respond(st, eio_error(eio::ErrorCode::bad_request));
        close_session(*c, CloseReason::transport_error);
        return;
      }
      st.role = Role::poll_get;
      st.session = c;
      c->poll_ = st.wsi;
      set_wsi_timeout(st.wsi, NO_PENDING_TIMEOUT, 0);
      if (!c->queue_.empty()) {
        kick(*c);
      } else if (c->machine_.upgrading()) {
        flush_poll_now(*c, false);
      }
      return;
    }
    if (req.method == "POST") {
      auto packets = eio::decode_payload(req.body, opt_.max_packets_per_payload);
      if (!packets.ok()) {
        respond(st, eio_error(eio::ErrorCode::bad_request));
        close_session(*c, CloseReason::parse_error);
        return;
      }
      HttpResponse ok;
      ok.content_type = "text/html";
      ok.body = "ok";
      respond(st, std::move(ok));
      for (const auto& p : *packets) {
        if (!c->open_) break;
        feed(*c, p, eio::Channel::primary);
      }
      return;
    }
    respond(st, eio_error(eio::ErrorCode::bad_request));
    return;
  }
  if (req.method != "GET") {
    respond(st, eio_error(eio::ErrorCode::bad_handshake_method));
    return;
  }
  if (query_value(req, "EIO") != "4") {
    respond(st, eio_error(eio::ErrorCode::unsupported_protocol_version));
    return;
  }
  auto c = new_session(st, false);
  eio::OpenInfo info{c->sid_,
                     {},
                     opt_.ping_interval.count(),
                     opt_.ping_timeout.count(),
                     static_cast<std::int64_t>(opt_.max_payload)};
  if (opt_.allow_upgrades && opt_.allow_websocket) info.upgrades.emplace_back("websocket");
  respond(st, polling_body("0" + eio::encode_open(info)));
  arm(*c);
  if (handler_ != nullptr) handler_->on_open(c, handshake_of(HttpRequest(req)));
}

bool LwsTransport::Impl::eio_ws_filter(lws* wsi) {
  WsiState& st = state(wsi);
  st.request = HttpRequest{};
  st.request.method = "GET";
  int n = lws_hdr_total_length(wsi, WSI_TOKEN_GET_URI);
  if (n <= 0) return false;
  std::string path(static_cast<std::size_t>(n) + 1, '\0');
  path.resize(
      static_cast<std::size_t>(std::max(0, lws_hdr_copy(wsi, path.data(), n + 1, WSI_TOKEN_GET_URI))));
  st.request.path = path;
  if (!is_eio_path(path) || !opt_.allow_websocket) return false;
  // Reuse the HTTP reader for query and headers.
  char buf[2048];
  for (int i = 0; i < 256; ++i) {
    int len = lws_hdr_copy_fragment(wsi, buf, sizeof buf, WSI_TOKEN_HTTP_URI_ARGS, i);
    if (len < 0) break;
    std::string_view frag(buf, static_cast<std::size_t>(len));
    auto eq = frag.find('=');
    st.request.query.emplace(std::string(frag.substr(0, eq)),
                             eq == std::string_view::npos ? std::string() : std::string(frag.substr(eq + 1)));
  }
  for (int t = 0; t < WSI_TOKEN_COUNT; ++t) {
    auto tok = static_cast<lws_token_indexes>(t);
    const char* name = reinterpret_cast<const char*>(lws_token_to_string(tok));
    if (name == nullptr) continue;
    std::string_view nm(name);
    if (nm.size() < 2 || nm.back() != ':' || nm.front() == ':') continue;
    int len = lws_hdr_total_length(wsi, tok);
    if (len <= 0) continue;
    std::string v(static_cast<std::size_t>(len) + 1, '\0');
    v.resize(static_cast<std::size_t>(std::max(0, lws_hdr_copy(wsi, v.data(), len + 1, tok))));
    st.request.headers.emplace(std::string(nm.substr(0, nm.size() - 1)), std::move(v));
  }
  char peer[128];
  if (lws_get_peer_simple(wsi, peer, sizeof peer) != nullptr) st.request.remote_address = peer;

  if (query_value(st.request, "transport") != "websocket") return false;
  if (query_value(st.request, "EIO") != "4") return false;
  if (st.request.query.count("sid") == 0) return true;
  auto it = sessions_.find(query_value(st.request, "sid"));
  if (it == sessions_.end() || !opt_.allow_upgrades) return false;
  const EioConnection& c = *it->second;
  // Only a polling session that is not already upgrading may be probed.
  // Like engine.io, a known sid that cannot be probed gets a WebSocket
  // that is closed cleanly at once, rather than a failed handshake.
  st.refused = !(c.ws_ == nullptr && c.probe_ == nullptr && !c.machine_.upgraded() && c.open_);
  return true;
}

void LwsTransport::Impl::eio_ws_established(WsiState& st) {
  if (st.refused) {
    st.close_when_drained = true;
    lws_callback_on_writable(st.wsi);
    return;
  }
  if (st.request.query.count("sid") != 0) {
    auto it = sessions_.find(query_value(st.request, "sid"));
    if (it == sessions_.end() || it->second->probe_ != nullptr) {
      kill_wsi(st.wsi);
      return;
    }
    st.role = Role::ws_probe;
    st.session = it->second;
    it->second->probe_ = st.wsi;
    st.request = HttpRequest{};  // not needed once it is a probe
    return;
  }
  auto c = new_session(st, true);
  st.role = Role::ws_primary;
  st.session = c;
  c->ws_ = st.wsi;
  eio::OpenInfo info{c->sid_,
                     {},
                     opt_.ping_interval.count(),
                     opt_.ping_timeout.count(),
                     static_cast<std::int64_t>(opt_.max_payload)};
  enqueue(*c, eio::PacketType::open, std::make_shared<const std::string>(eio::encode_open(info)), false);
  arm(*c);
  Handshake handshake = handshake_of(std::move(st.request));
  if (handler_ != nullptr) handler_->on_open(c, handshake);
}

int LwsTransport::Impl::eio_ws_receive(WsiState& st, const char* data, std::size_t len) {
  if (!st.session || st.close_when_drained) return 0;
  std::shared_ptr<EioConnection> c = st.session;
  bool probe = st.role == Role::ws_probe;
  if (lws_is_first_fragment(st.wsi)) {
    st.rx.clear();
    st.rx_binary = lws_frame_is_binary(st.wsi) != 0;
  }
  // Returning -1 from the receive callback makes lws send the close frame
  // with the reason set here, so the socket is detached from the session
  // first (close_session would otherwise kill it without one).
  auto fail = [&](CloseReason reason, lws_close_status code) {
    st.session.reset();
    if (probe) {
      if (c->probe_ == st.wsi) c->probe_ = nullptr;
      c->machine_.on_probe_closed();
    } else {
      if (c->ws_ == st.wsi) c->ws_ = nullptr;
      close_session(*c, reason);
    }
    lws_close_reason(st.wsi, code, nullptr, 0);
    return -1;
  };
  if (st.rx.size() + len > opt_.max_payload) {
    // Over maxPayload: like the ws library under engine.io, close with 1009.
    return fail(CloseReason::transport_error, LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE);
  }
  const bool whole = lws_is_final_fragment(st.wsi) && lws_remaining_packet_payload(st.wsi) == 0;
  // A message in one piece (the common case) is decoded where lws has it;
  // only fragments are gathered, and the buffer goes once the message is
  // whole, so an idle socket keeps no receive buffer of ours.
  std::string_view message(data, len);
  if (!st.rx.empty() || !whole) {
    st.rx.append(data, len);
    if (!whole) return 0;
    message = st.rx;
  }
  auto packet = eio::decode_ws(message, st.rx_binary);
  std::string().swap(st.rx);
  if (!packet.ok()) return fail(CloseReason::parse_error, LWS_CLOSE_STATUS_PROTOCOL_ERR);
  if (c->open_) feed(*c, *packet, probe ? eio::Channel::probe : eio::Channel::primary);
  return 0;
}

std::optional<std::size_t> LwsTransport::Impl::write_ws(lws* wsi, lws_detail::LazyDeque<lws_detail::OutPacket>& queue) {
  // lws holds what the kernel did not take; hand it more only once that is
  // gone, so that a slow reader's backlog stays in our queue, where
  // max_queued_bytes sees it.
  if (lws_partial_buffered(wsi)) {
    lws_callback_on_writable(wsi);
    return 0;
  }
  std::string& buf = ws_out_;
  buf.assign(LWS_PRE, '\0');
  const std::size_t limit = LWS_PRE + kWsWriteBytes;
  std::size_t taken = 0;
  while (!queue.empty() && buf.size() < limit) {
    const lws_detail::OutPacket& out = queue.front();
    std::string_view data = out.data ? std::string_view(*out.data) : std::string_view();
    const char digit = static_cast<char>('0' + static_cast<int>(out.type));
    lws_detail::append_ws_frame(buf, out.binary, out.binary ? std::string_view() : std::string_view(&digit, 1), data);
    taken += data.size() + 1;
    queue.pop_front();
  }
  if (buf.size() > LWS_PRE) {
    // LWS_WRITE_HTTP: the bytes go out as they are (already framed).
    auto* start = reinterpret_cast<unsigned char*>(buf.data()) + LWS_PRE;
    if (lws_write(wsi, start, buf.size() - LWS_PRE, LWS_WRITE_HTTP) < 0) return std::nullopt;
  }
  if (buf.capacity() > 4 * limit) std::string().swap(buf);  // after one huge packet
  if (!queue.empty()) lws_callback_on_writable(wsi);
  return taken;
}

// Sends what the session has queued; false when the write failed.
bool LwsTransport::Impl::write_session(EioConnection& c) {
  auto taken = write_ws(c.ws_, c.queue_);
  if (!taken) return false;
  c.queued_ -= std::min(c.queued_, *taken);
  return true;
}

int LwsTransport::Impl::eio_ws_writeable(WsiState& st) {
  if (st.refused) {
    lws_close_reason(st.wsi, LWS_CLOSE_STATUS_NORMAL, nullptr, 0);
    return -1;
  }
  if (st.role == Role::ws_probe) return write_ws(st.wsi, st.probe_out) ? 0 : -1;
  if (!st.session) return -1;
  EioConnection& c = *st.session;
  if (!c.queue_.empty()) {
    if (!write_session(c)) return -1;
    // A closing socket closes on the next callback, once this write is out.
    if (c.queue_.empty() && st.close_when_drained) lws_callback_on_writable(st.wsi);
    return 0;
  }
  if (st.close_when_drained) {
    lws_close_reason(st.wsi, LWS_CLOSE_STATUS_NORMAL, nullptr, 0);
    return -1;
  }
  return 0;
}

void LwsTransport::Impl::eio_wsi_gone(WsiState& st) {
  if (!st.session) return;
  std::shared_ptr<EioConnection> c = st.session;
  st.session.reset();
  if (c->probe_ == st.wsi) {
    c->probe_ = nullptr;
    c->machine_.on_probe_closed();
  }
  if (c->poll_ == st.wsi) {
    // engine.io treats a long-poll dropped by the client as a transport error.
    c->poll_ = nullptr;
    close_session(*c, CloseReason::transport_error);
  }
  if (c->ws_ == st.wsi) {
    c->ws_ = nullptr;
    close_session(*c, CloseReason::client_close);
  }
}

void LwsTransport::Impl::feed(EioConnection& c, const eio::Packet& p, eio::Channel ch) {
  apply(c, c.machine_.on_packet(p, ch, std::chrono::steady_clock::now()));
}

void LwsTransport::Impl::apply(EioConnection& conn, eio::Output out) {
  if (!conn.open_) return;
  std::shared_ptr<EioConnection> keep = conn.shared_from_this();  // handlers may close it
  EioConnection& c = *keep;
  if (c.probe_ != nullptr && !out.to_probe.empty()) {
    WsiState& ps = state(c.probe_);
    for (const auto& p : out.to_probe)
      ps.probe_out.push_back({p.type, std::make_shared<const std::string>(p.data), p.binary});
    lws_callback_on_writable(c.probe_);
  }
  for (const auto& p : out.to_primary) {
    // Heartbeats jump the queue: a long backlog of messages must not make
    // the client's pong late. Whole packets only, so framing stays intact.
    c.queued_ += p.data.size() + 1;
    c.queue_.push_front({p.type, std::make_shared<const std::string>(p.data), false});
    kick(c);
  }
  if (out.upgraded && c.probe_ != nullptr) {
    c.ws_ = c.probe_;
    c.probe_ = nullptr;
    state(c.ws_).role = Role::ws_primary;
    flush_poll_now(c, false);
    kick(c);
  } else if (out.flush_poll && c.poll_ != nullptr) {
    if (c.queue_.empty()) {
      flush_poll_now(c, false);
    } else {
      kick(c);
    }
  }
  if (out.drop_probe && c.probe_ != nullptr) {
    kill_wsi(c.probe_);
    c.probe_ = nullptr;
  }
  for (const auto& p : out.deliver) {
    if (!c.open_ || handler_ == nullptr) break;
    handler_->on_message(c, p.data, p.binary);
  }
  if (out.close) close_session(c, *out.close);
  arm(c);
}

void LwsTransport::Impl::arm(EioConnection& c) {
  if (!c.open_) return;
  // Most packets leave the deadline where it was (it moves with pings and
  // pongs); re-arming anyway would cost two timer-map updates per packet.
  const eio::TimePoint deadline = c.machine_.next_deadline();
  if (c.timer_ != 0 && c.timer_at_ == deadline) return;
  if (c.timer_ != 0) cancel_timer(c.timer_);
  auto delay = std::chrono::ceil<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
  std::weak_ptr<EioConnection> weak = c.weak_from_this();
  c.timer_at_ = deadline;
  c.timer_ = set_timer(std::max(delay, std::chrono::milliseconds(0)), [this, weak] {
    auto s = weak.lock();
    if (!s || !s->open_) return;
    s->timer_ = 0;
    apply(*s, s->machine_.on_timer(std::chrono::steady_clock::now()));
  });
}

void LwsTransport::Impl::enqueue(EioConnection& c, eio::PacketType type,
                                 std::shared_ptr<const std::string> data, bool binary) {
  c.queued_ += (data ? data->size() : 0) + 1;
  c.queue_.push_back({type, std::move(data), binary});
  kick(c);
}

void LwsTransport::Impl::kick(EioConnection& c) {
  if (c.ws_ != nullptr) {
    // Written when the loop turn ends (flush_dirty) rather than on a
    // writeable callback, which costs two epoll_ctl calls and a turn per
    // packet; and everything one turn queued for a socket (an ack and the
    // broadcast it caused) leaves in one write.
    if (!c.dirty_) {
      c.dirty_ = true;
      dirty_.push_back(c.shared_from_this());
    }
  } else if (c.poll_ != nullptr) {
    lws_callback_on_writable(c.poll_);
  }
}

void LwsTransport::Impl::flush_dirty() {
  for (auto& c : std::exchange(dirty_, {})) {
    c->dirty_ = false;
    if (c->ws_ == nullptr) continue;
    WsiState* st = find_state(c->ws_);
    if (st == nullptr || st->close_when_drained) {
      lws_callback_on_writable(c->ws_);
    } else if (!write_session(*c)) {
      kill_wsi(c->ws_);  // lws reports the close through its callbacks
    }
  }
}

std::string LwsTransport::Impl::take_poll_body(EioConnection& c, bool add_close) {
  std::string body;
  c.queue_.for_each([&](const lws_detail::OutPacket& out) {
    if (!body.empty()) body.push_back(eio::kRecordSeparator);
    eio::append_polling(body, eio::Packet{out.type, out.data ? *out.data : std::string(), out.binary});
  });
  c.queue_.clear();
  c.queued_ = 0;
  if (add_close) {
    if (!body.empty()) body.push_back(eio::kRecordSeparator);
    body.push_back('1');
  }
  return body;
}

void LwsTransport::Impl::flush_poll_now(EioConnection& c, bool add_close) {
  if (c.poll_ == nullptr) return;
  WsiState* st = find_state(c.poll_);
  c.poll_ = nullptr;
  if (st == nullptr) return;
  std::string body = add_close ? take_poll_body(c, true) : (c.ws_ ? std::string() : take_poll_body(c, false));
  if (body.empty()) body.push_back('6');  // a noop packet
  respond(*st, polling_body(std::move(body)));
}

void LwsTransport::Impl::close_session(EioConnection& c, CloseReason reason) {
  if (!c.open_) return;
  c.open_ = false;
  std::shared_ptr<EioConnection> keep = c.shared_from_this();
  sessions_.erase(c.sid_);
  if (c.timer_ != 0) cancel_timer(c.timer_);
  c.timer_ = 0;
  if (c.probe_ != nullptr) kill_wsi(c.probe_);
  c.probe_ = nullptr;
  if (c.poll_ != nullptr) flush_poll_now(c, reason != CloseReason::client_close);
  if (c.ws_ != nullptr) {
    WsiState* st = find_state(c.ws_);
    if (reason == CloseReason::server_close && st != nullptr) {
      // Let queued packets (a final disconnect) out; give up after a while.
      st->close_when_drained = true;
      lws_callback_on_writable(c.ws_);
      set_wsi_timeout(c.ws_, PENDING_TIMEOUT_USER_OK, 5);
    } else {
      if (reason == CloseReason::ping_timeout || reason == CloseReason::too_slow) c.queue_.clear();
      kill_wsi(c.ws_);
    }
  }
  if (c.ws_ == nullptr || c.queue_.empty()) {
    c.queue_.clear();
    c.queued_ = 0;
  }
  c.impl_ = nullptr;
  if (handler_ != nullptr) {
    // Reported on the next loop turn, never from inside another handler
    // call: a send() in on_open or on_message may be what closed it.
    std::shared_ptr<EioConnection> self = c.shared_from_this();
    {
      std::lock_guard<std::mutex> lock(post_mu_);
      posted_.push_back([this, self, reason] {
        if (handler_ != nullptr) handler_->on_close(*self, reason);
      });
    }
    wake();
  }
}

}  // namespace realtime
