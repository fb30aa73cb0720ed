// detail::Engine: Engine.IO connections in, Socket.IO sockets out.
//
// Called by the transport on the loop thread. A session's life: on_open arms
// the connect timer; CONNECT packets create sockets (after auth and
// middlewares); EVENT and ACK packets go to the socket of their namespace;
// a malformed packet closes the connection (parse_error), and on_close
// disconnects every socket of it. Nothing here throws.
#include "socketio/engine.h"

#include <array>
#include <utility>
#include <vector>

#include "realtime/random.h"
#include "socketio/member.h"

namespace realtime::socketio::detail {
namespace {

std::string_view reason_for(CloseReason r) {
  switch (r) {
    case CloseReason::client_close: return "transport close";
    case CloseReason::server_close: return "forced close";
    case CloseReason::transport_error: return "transport error";
    case CloseReason::ping_timeout: return "ping timeout";
    case CloseReason::parse_error: return "parse error";
    case CloseReason::too_slow: return "transport error";
    case CloseReason::server_shutdown: return "server shutting down";
  }
  return "transport close";
}

void send_frames(Connection& conn, const std::vector<Frame>& frames) {
  for (const auto& f : frames) conn.send(f);
}

}  // namespace

Engine::Engine(Transport& transport, Options options) : transport_(transport), options_(options) {
  transport_.set_handler(*this);
}

Engine::~Engine() {
  // The transport may outlive us (transport.h: handler first, then the
  // transport); leave nothing that calls back.
  transport_.clear_handler();
  for (auto& [id, session] : sessions_) {
    if (session->connect_timer) loop().cancel_timer(session->connect_timer);
    if (session->attachment_timer) loop().cancel_timer(session->attachment_timer);
    for (auto& [nsp, socket] : session->sockets) {
      for (auto& [ack_id, pending] : socket->pending_acks_) loop().cancel_timer(pending.timer);
      socket->pending_acks_.clear();
      socket->connected_ = false;
      socket->engine_ = nullptr;
    }
  }
}

Namespace& Engine::of(std::string_view name) {
  std::string key = name.empty() ? "/" : std::string(name);
  if (key[0] != '/') key.insert(key.begin(), '/');
  auto it = namespaces_.find(key);
  if (it == namespaces_.end()) {
    it = namespaces_.emplace(key, std::unique_ptr<Namespace>(new Namespace(key))).first;
  }
  return *it->second;
}

std::string Engine::new_sid() {
  // 16 random bytes, base64url: unguessable, since sids address peers.
  return random_token(16);
}

void Engine::on_open(const std::shared_ptr<Connection>& conn, const Handshake& handshake) {
  auto session = std::make_shared<Session>();
  session->conn = conn;
  session->handshake = std::make_shared<const Handshake>(handshake);
  session->decoder = Decoder(DecoderLimits{options_.max_attachments, options_.max_attachment_bytes,
                                           options_.max_json_depth});
  sessions_[conn->id()] = session;
  arm_connect_timer(session);
}

void Engine::arm_connect_timer(const std::shared_ptr<Session>& session) {
  std::weak_ptr<Session> weak = session;
  session->connect_timer = loop().set_timer(options_.connect_timeout, [weak] {
    auto s = weak.lock();
    if (!s) return;
    s->connect_timer = 0;
    if (s->sockets.empty()) s->conn->close(CloseReason::server_close);
  });
}

void Engine::on_message(Connection& conn, std::string_view data, bool binary) {
  try {
    receive(conn, data, binary);
  } catch (...) {
    conn.close(CloseReason::server_close);
  }
}

void Engine::on_close(Connection& conn, CloseReason reason) {
  try {
    closed(conn, reason);
  } catch (...) {
    // The connection is gone already; the rest of its sockets' disconnect
    // handlers are skipped, and the session was forgotten before any ran.
  }
}

void Engine::receive(Connection& conn, std::string_view data, bool binary) {
  auto it = sessions_.find(conn.id());
  if (it == sessions_.end()) return;
  std::shared_ptr<Session> session = it->second;
  auto decoded = session->decoder.feed(data, binary);
  if (!decoded.ok()) {
    session->conn->close(CloseReason::parse_error);
    return;
  }
  if (!decoded->has_value()) {
    // Attachments are held until their packet is whole; only a connection
    // that has passed CONNECT (and so authentication) may make us hold any.
    if (session->decoder.awaiting_attachments() && session->sockets.empty()) {
      session->conn->close(CloseReason::parse_error);
      return;
    }
    if (session->decoder.awaiting_attachments() && !session->attachment_timer) {
      std::weak_ptr<Session> weak = session;
      session->attachment_timer = loop().set_timer(options_.attachment_timeout, [weak] {
        if (auto s = weak.lock()) {
          s->attachment_timer = 0;
          s->conn->close(CloseReason::parse_error);
        }
      });
    }
    return;
  }
  if (session->attachment_timer) {
    loop().cancel_timer(session->attachment_timer);
    session->attachment_timer = 0;
  }
  handle(session, std::move(**decoded));
}

void Engine::handle(const std::shared_ptr<Session>& session, Packet packet) {
  if (packet.type == PacketType::connect) {
    connect(session, std::move(packet));
    return;
  }
  if (packet.type == PacketType::connect_error) {
    // Only servers send CONNECT_ERROR.
    session->conn->close(CloseReason::parse_error);
    return;
  }
  auto it = session->sockets.find(packet.nsp);
  // As the official server does: packets for a namespace the client is not
  // in are ignored, not fatal (they race with disconnects).
  if (it == session->sockets.end()) return;
  std::shared_ptr<Socket> socket = it->second;
  switch (packet.type) {
    case PacketType::disconnect:
      remove_socket(*socket, "client namespace disconnect", false);
      break;
    case PacketType::event:
    case PacketType::binary_event:
      dispatch_event(*socket, std::move(packet));
      break;
    case PacketType::ack:
    case PacketType::binary_ack:
      resolve_ack(*socket, std::move(packet));
      break;
    default:
      break;
  }
}

void Engine::refuse(Session& session, const std::string& nsp, ConnectError error) {
  Json payload = Json::object({{"message", Json(std::move(error.message))}});
  if (!error.data.is_null()) payload.set("data", std::move(error.data));
  send_frames(*session.conn, encode(Packet{PacketType::connect_error, nsp, std::nullopt, std::move(payload)}));
}

void Engine::connect(const std::shared_ptr<Session>& session, Packet packet) {
  auto nit = namespaces_.find(packet.nsp);
  if (nit == namespaces_.end()) {
    refuse(*session, packet.nsp, {"Invalid namespace", {}});
    return;
  }
  if (session->sockets.contains(packet.nsp)) return;  // already in; a repeat changes nothing
  if (session->sockets.size() >= options_.max_namespaces_per_connection) {
    refuse(*session, packet.nsp, {"Too many namespaces", {}});
    return;
  }
  Namespace& nsp = *nit->second;

  auto socket = std::shared_ptr<Socket>(new Socket());
  socket->engine_ = this;
  socket->nsp_ = &nsp;
  socket->conn_ = session->conn;
  socket->handshake_ = session->handshake;
  socket->sid_ = new_sid();
  socket->auth_ = packet.data.is_null() ? Json::object() : std::move(packet.data);

  if (authenticator_) {
    auto identity = authenticator_->authenticate(*session->handshake, socket->auth_);
    if (!identity.ok()) {
      std::string code(code_name(identity.status().code()));
      refuse(*session, packet.nsp, {code, Json::object({{"code", Json(code)}})});
      return;
    }
    socket->identity_ = std::move(identity).value();
  }
  for (const auto& middleware : nsp.middlewares_) {
    if (auto error = middleware(*socket)) {
      refuse(*session, packet.nsp, std::move(*error));
      return;
    }
    if (!session->conn->is_open()) return;
  }

  const std::string& user = socket->identity_.user_id.empty() ? socket->sid_ : socket->identity_.user_id;
  socket->member_ = std::make_shared<Member>(socket->sid_, session->conn);
  nsp.hub_.add(socket->member_, user);
  nsp.hub_.join(socket->sid_, socket->sid_);
  nsp.sockets_.emplace(socket->sid_, socket);
  session->sockets.emplace(nsp.name_, socket);
  socket->connected_ = true;
  if (session->connect_timer) {
    loop().cancel_timer(session->connect_timer);
    session->connect_timer = 0;
  }
  send(*socket, Packet{PacketType::connect, nsp.name_, std::nullopt,
                       Json::object({{"sid", Json(socket->sid_)}})});
  // Copied: a handler may register another handler.
  auto handlers = nsp.on_connection_;
  for (auto& handler : handlers) {
    if (!socket->connected_) break;
    handler(*socket);
  }
}

void Engine::dispatch_event(Socket& socket, Packet packet) {
  Json::Array& items = packet.data.as_array();
  std::string event = items.front().as_string();
  Json::Array args(std::make_move_iterator(items.begin() + 1), std::make_move_iterator(items.end()));
  Ack ack = packet.id ? make_ack(socket, *packet.id) : Ack();
  auto keep = socket.shared_from_this();
  if (auto it = socket.handlers_.find(event); it != socket.handlers_.end()) {
    EventHandler handler = it->second;  // it may replace itself
    handler(args, ack);
  }
  if (socket.any_ && socket.connected_) {
    AnyHandler any = socket.any_;
    any(event, args, ack);
  }
}

void Engine::resolve_ack(Socket& socket, Packet packet) {
  auto it = socket.pending_acks_.find(*packet.id);
  if (it == socket.pending_acks_.end()) return;  // late (timed out) or unknown: ignored
  Socket::PendingAck pending = std::move(it->second);
  socket.pending_acks_.erase(it);
  loop().cancel_timer(pending.timer);
  pending.callback(std::move(packet.data.as_array()));
}

SendStatus Engine::send(Socket& socket, Packet packet) {
  if (!socket.connected_) return SendStatus::dropped;
  SendStatus worst = SendStatus::sent;
  for (const auto& frame : encode(packet)) {
    SendStatus s = socket.conn_->send(frame);
    if (s > worst) worst = s;
  }
  return worst;
}

void Engine::emit_with_ack(Socket& socket, std::string_view event, Json::Array args,
                           std::chrono::milliseconds timeout, AckCallback callback) {
  if (!socket.connected_) {
    callback(Status::unavailable("socket disconnected"));
    return;
  }
  if (socket.pending_acks_.size() >= options_.max_pending_acks) {
    callback(Status::unavailable("too many pending acks"));
    return;
  }
  const std::uint64_t id = socket.next_ack_id_;
  socket.next_ack_id_ = (socket.next_ack_id_ + 1) & kMaxAckId;
  std::weak_ptr<Socket> weak = socket.shared_from_this();
  auto timer = loop().set_timer(timeout, [weak, id] {
    auto s = weak.lock();
    if (!s) return;
    auto it = s->pending_acks_.find(id);
    if (it == s->pending_acks_.end()) return;
    AckCallback cb = std::move(it->second.callback);
    s->pending_acks_.erase(it);
    cb(Status::unavailable("ack timeout"));
  });
  socket.pending_acks_[id] = Socket::PendingAck{std::move(callback), timer};
  args.insert(args.begin(), Json(event));
  send(socket, Packet{PacketType::event, socket.nsp_->name_, id, Json(std::move(args))});
}

void Engine::remove_socket(Socket& socket, std::string_view reason, bool notify_client) {
  if (!socket.connected_) return;
  auto keep = socket.shared_from_this();
  if (notify_client) send(socket, Packet{PacketType::disconnect, socket.nsp_->name_, std::nullopt, {}});
  socket.connected_ = false;
  Namespace& nsp = *socket.nsp_;
  nsp.hub_.remove(socket.sid_);
  nsp.sockets_.erase(socket.sid_);
  if (auto sit = sessions_.find(socket.conn_->id()); sit != sessions_.end()) {
    std::shared_ptr<Session> session = sit->second;
    session->sockets.erase(nsp.name_);
    // A connection left in no namespace gets connectTimeout again to join one.
    if (session->sockets.empty() && !session->connect_timer && session->conn->is_open()) arm_connect_timer(session);
  }
  auto pending = std::move(socket.pending_acks_);
  socket.pending_acks_.clear();
  for (auto& [id, p] : pending) {
    loop().cancel_timer(p.timer);
    p.callback(Status::unavailable("socket disconnected"));
  }
  auto handlers = std::move(socket.on_disconnect_);
  socket.on_disconnect_.clear();
  for (auto& handler : handlers) handler(reason);
  // Handlers captured by the socket may hold references to it; drop them now.
  socket.handlers_.clear();
  socket.any_ = nullptr;
}

void Engine::closed(Connection& conn, CloseReason reason) {
  auto it = sessions_.find(conn.id());
  if (it == sessions_.end()) return;
  std::shared_ptr<Session> session = it->second;
  sessions_.erase(it);
  if (session->connect_timer) loop().cancel_timer(session->connect_timer);
  if (session->attachment_timer) loop().cancel_timer(session->attachment_timer);
  session->connect_timer = session->attachment_timer = 0;
  std::vector<std::shared_ptr<Socket>> sockets;
  for (auto& [nsp, socket] : session->sockets) sockets.push_back(socket);
  for (auto& socket : sockets) remove_socket(*socket, reason_for(reason), false);
}

void Engine::shutdown() {
  std::vector<std::shared_ptr<Session>> sessions;
  for (auto& [id, s] : sessions_) sessions.push_back(s);
  for (auto& s : sessions) {
    std::vector<std::shared_ptr<Socket>> sockets;
    for (auto& [nsp, socket] : s->sockets) sockets.push_back(socket);
    for (auto& socket : sockets) remove_socket(*socket, "server shutting down", true);
    s->conn->close(CloseReason::server_shutdown);
  }
}

}  // namespace realtime::socketio::detail
