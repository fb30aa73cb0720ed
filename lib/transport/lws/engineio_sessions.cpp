// The Engine.IO session table (see engineio_sessions.h): polling requests
// and handshakes, WebSocket sessions and probes, and the glue that turns
// the pure protocol::engineio::Session's decisions (send, deliver, flush a poll,
// upgrade, close) into calls on EioSockets. Loop thread only.
#include "transport/lws/engineio_sessions.h"

#include <algorithm>
#include <chrono>
#include <mutex>
#include <utility>

#include "protocol/engineio_packet.h"
#include "realtime/random.h"

namespace realtime::lws_detail {
namespace eio = protocol::engineio;

// One Engine.IO session as the layers above see it. Its state belongs to
// the table, which alone changes it.
class EioConnection final : public Connection, public std::enable_shared_from_this<EioConnection> {
 public:
  EioConnection(EioSessions* table, std::string sid, eio::Session machine)
      : table_(table), sid_(std::move(sid)), machine_(machine) {}
  const std::string& id() const override { return sid_; }
  SendStatus send(const Frame& frame) override;
  void close(CloseReason reason) override;
  bool is_open() const override { return open_; }
  std::size_t queued_bytes() const override { return queued_; }
  bool backpressured() const override;

 private:
  friend class EioSessions;

  EioSessions* table_;  // null once closed
  std::string sid_;
  eio::Session machine_;
  OutQueue queue_;  // for the client, on its WebSocket or its next poll
  std::size_t queued_ = 0;
  OutQueue probe_queue_;  // a probe's own replies ("3probe")
  lws* ws_ = nullptr;     // the WebSocket, once it is the transport
  lws* poll_ = nullptr;   // a held long-poll GET
  lws* probe_ = nullptr;  // a WebSocket probing to upgrade
  bool open_ = true;
  bool draining_ = false;  // closed by the server: the WebSocket closes once queue_ is out
  bool dirty_ = false;     // in the table's dirty_, written by flush()
  EventLoop::TimerId timer_ = 0;
  eio::TimePoint timer_at_{};  // when timer_ fires
};

namespace {

std::string_view query_value(const HttpRequest& req, std::string_view key) {
  auto it = req.query.find(key);
  return it == req.query.end() ? std::string_view() : std::string_view(it->second);
}

HttpResponse polling_body(std::string body) {
  HttpResponse r;
  r.content_type = "text/plain; charset=UTF-8";
  r.body = std::move(body);
  return r;
}

// engine.io's answer to a polling POST. Built once: GCC 12 at -O3 misreads
// a fresh one moved into respond() as uninitialized (-Wmaybe-uninitialized).
const HttpResponse& post_ok() {
  static const HttpResponse ok = [] {
    HttpResponse r;
    r.content_type = "text/html";
    r.body = "ok";
    return r;
  }();
  return ok;
}

// What the handler keeps of the request that opened a session.
Handshake handshake_of(HttpRequest&& req) {
  Handshake h;
  h.query = std::move(req.query);
  h.headers = std::move(req.headers);
  h.remote_address = std::move(req.remote_address);
  return h;
}

}  // namespace

SendStatus EioConnection::send(const Frame& frame) {
  if (!open_ || table_ == nullptr) return SendStatus::dropped;
  const std::size_t limit = table_->opt_.max_queued_bytes;
  if (queued_ + frame.view().size() + 1 > limit) {
    table_->close_session(*this, CloseReason::too_slow);
    return SendStatus::dropped;
  }
  table_->enqueue(*this, eio::PacketType::message,
                  frame.bytes ? frame.bytes : std::make_shared<const std::string>(), frame.binary);
  return queued_ > limit / 2 ? SendStatus::backpressure : SendStatus::sent;
}

// The same soft limit as send()'s backpressure answer.
bool EioConnection::backpressured() const {
  return open_ && table_ != nullptr && queued_ > table_->opt_.max_queued_bytes / 2;
}

void EioConnection::close(CloseReason reason) {
  if (open_ && table_ != nullptr) table_->close_session(*this, reason);
}

EioSessions::EioSessions(const LwsOptions& options, EventLoop& loop, EioSockets& sockets)
    : opt_(options), loop_(loop), sockets_(sockets) {}

EioSessions::~EioSessions() = default;

// ---- HTTP: handshakes and long-polling ----

void EioSessions::on_request(lws* wsi, const HttpRequest& req) {
  std::string_view transport = query_value(req, "transport");
  const bool has_sid = req.query.count("sid") != 0;
  if (transport == "websocket" && opt_.allow_websocket) {
    // A known transport, but WebSocket needs an Upgrade request; engine.io
    // answers the checks it passes first, then "Bad request".
    if (has_sid && sessions_.find(query_value(req, "sid")) == sessions_.end())
      return answer_error(wsi, eio::ErrorCode::unknown_sid);
    if (!has_sid && req.method != "GET") return answer_error(wsi, eio::ErrorCode::bad_handshake_method);
    return answer_error(wsi, eio::ErrorCode::bad_request);
  }
  if (transport != "polling" || !opt_.allow_polling) return answer_error(wsi, eio::ErrorCode::unknown_transport);
  if (!has_sid) return handshake(wsi, req);

  auto it = sessions_.find(query_value(req, "sid"));
  if (it == sessions_.end()) return answer_error(wsi, eio::ErrorCode::unknown_sid);
  Conn c = it->second;
  // The session lives on a WebSocket now; polling it is a client bug.
  if (c->ws_ != nullptr || c->machine_.upgraded()) return answer_error(wsi, eio::ErrorCode::bad_request);
  if (req.method == "GET") return hold_poll(wsi, *c);
  if (req.method == "POST") return take_post(wsi, *c, req.body);
  answer_error(wsi, eio::ErrorCode::bad_request);
}

void EioSessions::answer_error(lws* wsi, eio::ErrorCode code) {
  HttpResponse r;
  r.status = code == eio::ErrorCode::forbidden ? 403 : 400;
  r.body = eio::encode_error(code);
  sockets_.respond(wsi, std::move(r));
}

void EioSessions::handshake(lws* wsi, const HttpRequest& req) {
  if (req.method != "GET") return answer_error(wsi, eio::ErrorCode::bad_handshake_method);
  if (query_value(req, "EIO") != "4") return answer_error(wsi, eio::ErrorCode::unsupported_protocol_version);
  Conn c = new_session();
  std::string body(1, '0');  // the open packet, as a polling payload
  body += open_packet(*c);
  sockets_.respond(wsi, polling_body(std::move(body)));
  arm(*c);
  if (handler_ != nullptr) handler_->on_open(c, handshake_of(HttpRequest(req)));
}

void EioSessions::hold_poll(lws* wsi, EioConnection& c) {
  if (c.poll_ != nullptr) {
    // engine.io: "overlap from client" is a transport error.
    answer_error(wsi, eio::ErrorCode::bad_request);
    close_session(c, CloseReason::transport_error);
    return;
  }
  links_[wsi].session = c.shared_from_this();
  c.poll_ = wsi;
  sockets_.timeout(wsi, 0);  // held as long as the session wants
  if (!c.queue_.empty()) {
    kick(c);
  } else if (c.machine_.upgrading()) {
    flush_poll_now(c, false);
  }
}

void EioSessions::take_post(lws* wsi, EioConnection& c, const std::string& body) {
  auto packets = eio::decode_payload(body, opt_.max_packets_per_payload);
  if (!packets.ok()) {
    answer_error(wsi, eio::ErrorCode::bad_request);
    close_session(c, CloseReason::parse_error);
    return;
  }
  sockets_.respond(wsi, post_ok());
  for (const auto& p : *packets) {
    if (!c.open_) break;
    feed(c, p, eio::Channel::primary);
  }
}

bool EioSessions::on_poll_writeable(lws* wsi) {
  auto it = links_.find(wsi);
  if (it == links_.end() || it->second.session->poll_ != wsi) return false;
  Conn c = it->second.session;
  links_.erase(it);
  c->poll_ = nullptr;
  std::string body = take_poll_body(*c, false);
  if (body.empty()) body.push_back('6');  // a noop packet
  sockets_.respond(wsi, polling_body(std::move(body)));
  return true;
}

void EioSessions::close(std::string_view sid, CloseReason reason) {
  auto it = sessions_.find(sid);
  if (it == sessions_.end()) return;
  Conn keep = it->second;
  close_session(*keep, reason);
}

EioSessions::Conn EioSessions::new_session() {
  eio::SessionConfig cfg{opt_.ping_interval, opt_.ping_timeout, opt_.upgrade_timeout};
  // The prefix says which transport of a process holds the session (LwsOptions::sid_prefix).
  auto make_sid = [this] {
    std::string sid = opt_.sid_prefix;
    sid += random_token(15);
    return sid;
  };
  std::string sid = make_sid();
  // A collision of 120 random bits is not a practical concern, but an
  // existing session must never be replaced.
  for (int i = 0; i < 4 && sessions_.count(sid) != 0; ++i) sid = make_sid();
  auto c = std::make_shared<EioConnection>(this, sid, eio::Session(cfg, loop_.now()));
  sessions_[sid] = c;
  release_.add(MemoryRelease::kSessionBytes);
  return c;
}

std::string EioSessions::open_packet(const EioConnection& c) const {
  eio::OpenInfo info{c.sid_,
                     {},
                     opt_.ping_interval.count(),
                     opt_.ping_timeout.count(),
                     static_cast<std::int64_t>(opt_.max_payload)};
  // Only a polling session is offered the upgrade.
  if (c.ws_ == nullptr && opt_.allow_upgrades && opt_.allow_websocket) info.upgrades.emplace_back("websocket");
  return eio::encode_open(info);
}

// ---- WebSocket: sessions and probes ----

EioSessions::Upgrade EioSessions::check_upgrade(const HttpRequest& req) const {
  if (query_value(req, "transport") != "websocket") return Upgrade::reject;
  if (query_value(req, "EIO") != "4") return Upgrade::reject;
  if (req.query.count("sid") == 0) return Upgrade::accept;
  auto it = sessions_.find(query_value(req, "sid"));
  if (it == sessions_.end() || !opt_.allow_upgrades) return Upgrade::reject;
  const EioConnection& c = *it->second;
  // Only a polling session that is not already upgrading may be probed.
  // Like engine.io, a known sid that cannot be probed gets a WebSocket
  // that is closed cleanly at once, rather than a failed handshake.
  const bool probeable = c.ws_ == nullptr && c.probe_ == nullptr && !c.machine_.upgraded() && c.open_;
  return probeable ? Upgrade::accept : Upgrade::refuse;
}

bool EioSessions::on_ws_established(lws* wsi, HttpRequest&& req) {
  if (req.query.count("sid") != 0) {
    auto it = sessions_.find(query_value(req, "sid"));
    if (it == sessions_.end() || it->second->probe_ != nullptr) return false;
    links_[wsi].session = it->second;
    it->second->probe_ = wsi;
    return true;
  }
  Conn c = new_session();
  links_[wsi].session = c;
  c->ws_ = wsi;
  enqueue(*c, eio::PacketType::open, std::make_shared<const std::string>(open_packet(*c)), false);
  arm(*c);
  if (handler_ != nullptr) handler_->on_open(c, handshake_of(std::move(req)));
  return true;
}

WsNext EioSessions::on_ws_receive(lws* wsi, std::string_view data, bool first, bool last, bool binary) {
  auto it = links_.find(wsi);
  if (it == links_.end() || it->second.session->draining_) return WsNext::keep;
  Link& link = it->second;
  Conn c = link.session;
  if (first) {
    link.rx.clear();
    link.rx_binary = binary;
  }
  // Over maxPayload: like the ws library under engine.io, close with 1009.
  if (link.rx.size() + data.size() > opt_.max_payload)
    return fail(wsi, *c, CloseReason::transport_error, WsNext::close_too_large);
  // A message in one piece (the common case) is decoded where lws has it;
  // only fragments are gathered, and the buffer goes once the message is
  // whole, so an idle socket keeps no receive buffer of ours.
  std::string_view message = data;
  if (!link.rx.empty() || !last) {
    link.rx.append(data);
    if (!last) return WsNext::keep;
    message = link.rx;
  }
  auto packet = eio::decode_ws(message, link.rx_binary);
  std::string().swap(link.rx);
  if (!packet.ok()) return fail(wsi, *c, CloseReason::parse_error, WsNext::close_protocol_error);
  // A probe the session dropped is read no more; it is closing.
  if (c->open_ && (c->ws_ == wsi || c->probe_ == wsi))
    feed(*c, *packet, c->probe_ == wsi ? eio::Channel::probe : eio::Channel::primary);
  return WsNext::keep;
}

// The socket ends with a close frame of its own (`next`), so it is
// detached from the session first: close_session would kill it without one.
WsNext EioSessions::fail(lws* wsi, EioConnection& c, CloseReason reason, WsNext next) {
  Conn keep = c.shared_from_this();
  links_.erase(wsi);
  if (c.probe_ == wsi) {
    c.probe_ = nullptr;
    c.probe_queue_.clear();
    c.machine_.on_probe_closed();
  } else if (c.ws_ == wsi) {
    c.ws_ = nullptr;
    close_session(c, reason);
  }
  return next;
}

WsNext EioSessions::on_ws_writeable(lws* wsi) {
  auto it = links_.find(wsi);
  if (it == links_.end()) return WsNext::drop;
  EioConnection& c = *it->second.session;
  if (c.probe_ == wsi) return sockets_.write(wsi, c.probe_queue_) ? WsNext::keep : WsNext::drop;
  if (c.ws_ != wsi) return WsNext::keep;  // a dropped probe, being killed
  if (!c.queue_.empty()) {
    if (!write_ws(c)) return WsNext::drop;
    // A closing socket closes on the next callback, once this write is out.
    if (c.queue_.empty() && c.draining_) sockets_.writable(wsi);
    return WsNext::keep;
  }
  return c.draining_ ? WsNext::close_normal : WsNext::keep;
}

void EioSessions::on_socket_gone(lws* wsi) {
  auto it = links_.find(wsi);
  if (it == links_.end()) return;
  Conn c = std::move(it->second.session);
  links_.erase(it);
  if (c->probe_ == wsi) {
    c->probe_ = nullptr;
    c->probe_queue_.clear();
    c->machine_.on_probe_closed();
  }
  if (c->poll_ == wsi) {
    // engine.io treats a long-poll dropped by the client as a transport error.
    c->poll_ = nullptr;
    close_session(*c, CloseReason::transport_error);
  }
  if (c->ws_ == wsi) {
    c->ws_ = nullptr;
    close_session(*c, CloseReason::client_close);
  }
}

// ---- What the state machine decides ----

void EioSessions::feed(EioConnection& c, const eio::Packet& p, eio::Channel ch) {
  apply(c, c.machine_.on_packet(p, ch, loop_.now()));
}

void EioSessions::apply(EioConnection& conn, eio::Output out) {
  if (!conn.open_) return;
  Conn keep = conn.shared_from_this();  // handlers may close it
  EioConnection& c = *keep;
  if (c.probe_ != nullptr && !out.to_probe.empty()) {
    for (const auto& p : out.to_probe)
      c.probe_queue_.push_back({p.type, std::make_shared<const std::string>(p.data), p.binary});
    sockets_.writable(c.probe_);
  }
  for (const auto& p : out.to_primary) {
    // Heartbeats jump the queue: a long backlog of messages must not make
    // the client's pong late. Whole packets only, so framing stays intact.
    c.queued_ += p.data.size() + 1;
    c.queue_.push_front({p.type, std::make_shared<const std::string>(p.data), false});
    kick(c);
  }
  if (out.upgraded && c.probe_ != nullptr) {
    c.ws_ = std::exchange(c.probe_, nullptr);
    c.probe_queue_.clear();
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
    sockets_.kill(std::exchange(c.probe_, nullptr));
    c.probe_queue_.clear();
  }
  for (const auto& p : out.deliver) {
    if (!c.open_ || handler_ == nullptr) break;
    handler_->on_message(c, p.data, p.binary);
  }
  if (out.close) close_session(c, *out.close);
  arm(c);
}

void EioSessions::arm(EioConnection& c) {
  if (!c.open_) return;
  // Most packets leave the deadline where it was (it moves with pings and
  // pongs); re-arming anyway would cost two timer-map updates per packet.
  const eio::TimePoint deadline = c.machine_.next_deadline();
  if (c.timer_ != 0 && c.timer_at_ == deadline) return;
  if (c.timer_ != 0) loop_.cancel_timer(c.timer_);
  auto delay = std::chrono::ceil<std::chrono::milliseconds>(deadline - loop_.now());
  std::weak_ptr<EioConnection> weak = c.weak_from_this();
  c.timer_at_ = deadline;
  c.timer_ = loop_.set_timer(std::max(delay, std::chrono::milliseconds(0)), [this, weak] {
    auto s = weak.lock();
    if (!s || !s->open_) return;
    s->timer_ = 0;
    apply(*s, s->machine_.on_timer(loop_.now()));
  });
}

// ---- Queues out ----

void EioSessions::enqueue(EioConnection& c, eio::PacketType type, std::shared_ptr<const std::string> data,
                          bool binary) {
  const std::size_t bytes = (data ? data->size() : 0) + 1;
  c.queued_ += bytes;
  release_.add(bytes);
  c.queue_.push_back({type, std::move(data), binary});
  kick(c);
}

void EioSessions::kick(EioConnection& c) {
  if (c.ws_ != nullptr) {
    // Written when the loop turn ends (flush) rather than on a writeable
    // callback, which costs two epoll_ctl calls and a turn per packet; and
    // everything one turn queued for a socket (an ack and the broadcast it
    // caused) leaves in one write.
    if (!c.dirty_) {
      c.dirty_ = true;
      dirty_.push_back(c.shared_from_this());
    }
  } else if (c.poll_ != nullptr) {
    sockets_.writable(c.poll_);
  }
}

void EioSessions::flush() {
  for (auto& c : std::exchange(dirty_, {})) {
    c->dirty_ = false;
    if (c->ws_ == nullptr) continue;
    if (c->draining_) {
      sockets_.writable(c->ws_);
    } else if (!write_ws(*c)) {
      sockets_.kill(c->ws_);  // lws reports the close through its callbacks
    }
  }
}

// Sends what the session has queued; false when the write failed.
bool EioSessions::write_ws(EioConnection& c) {
  auto taken = sockets_.write(c.ws_, c.queue_);
  if (!taken) return false;
  c.queued_ -= std::min(c.queued_, *taken);
  return true;
}

std::string EioSessions::take_poll_body(EioConnection& c, bool add_close) {
  std::string body;
  c.queue_.for_each([&](const OutPacket& out) {
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

void EioSessions::flush_poll_now(EioConnection& c, bool add_close) {
  if (c.poll_ == nullptr) return;
  lws* wsi = std::exchange(c.poll_, nullptr);
  links_.erase(wsi);
  std::string body = add_close ? take_poll_body(c, true) : (c.ws_ ? std::string() : take_poll_body(c, false));
  if (body.empty()) body.push_back('6');  // a noop packet
  sockets_.respond(wsi, polling_body(std::move(body)));
}

// ---- Closing ----

void EioSessions::close_session(EioConnection& c, CloseReason reason) {
  if (!c.open_) return;
  c.open_ = false;
  Conn keep = c.shared_from_this();
  sessions_.erase(c.sid_);
  release_.add(MemoryRelease::kSessionBytes);
  if (c.timer_ != 0) loop_.cancel_timer(c.timer_);
  c.timer_ = 0;
  if (c.probe_ != nullptr) sockets_.kill(std::exchange(c.probe_, nullptr));
  c.probe_queue_.clear();
  if (c.poll_ != nullptr) flush_poll_now(c, reason != CloseReason::client_close);
  if (c.ws_ != nullptr) {
    if (reason == CloseReason::server_close) {
      // Let queued packets (a final disconnect) out; give up after a while.
      c.draining_ = true;
      sockets_.writable(c.ws_);
      sockets_.timeout(c.ws_, 5);
    } else {
      if (reason == CloseReason::ping_timeout || reason == CloseReason::too_slow) c.queue_.clear();
      sockets_.kill(c.ws_);
    }
  }
  if (c.ws_ == nullptr || c.queue_.empty()) {
    c.queue_.clear();
    c.queued_ = 0;
  }
  c.table_ = nullptr;
  if (handler_ != nullptr) {
    // Reported on the next loop turn, never from inside another handler
    // call: a send() in on_open or on_message may be what closed it.
    loop_.post([this, keep, reason] {
      if (handler_ != nullptr) handler_->on_close(*keep, reason);
    });
  }
}

void EioSessions::close_all(CloseReason reason) {
  std::vector<Conn> all;
  all.reserve(sessions_.size());
  for (auto& [sid, c] : sessions_) all.push_back(c);
  for (auto& c : all) close_session(*c, reason);
}

}  // namespace realtime::lws_detail
