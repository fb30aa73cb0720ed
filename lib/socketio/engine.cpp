// detail::Engine: Engine.IO connections in, Socket.IO sockets out.
//
// Called by the transport on the loop thread. A client's life: on_open arms
// the connect timer; CONNECT packets create sockets (after auth and
// middlewares); EVENT and ACK packets go to the socket of their namespace;
// a malformed packet closes the connection (parse_error), and on_close
// disconnects every socket of it. Nothing here throws.
#include "socketio/engine.h"

#include <array>
#include <utility>
#include <vector>

#include "realtime/random.h"
#include "socketio/hub_socket.h"

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
  for (auto& [id, client] : clients_) {
    if (client->connect_timer) loop().cancel_timer(client->connect_timer);
    if (client->attachment_timer) loop().cancel_timer(client->attachment_timer);
    for (auto& [nsp, socket] : client->sockets) {
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
  auto client = std::make_shared<Client>();
  client->conn = conn;
  client->handshake = std::make_shared<const Handshake>(handshake);
  client->decoder = protocol::socketio::Decoder(protocol::socketio::DecoderLimits{options_.max_attachments, options_.max_attachment_bytes,
                                           options_.max_json_depth});
  clients_[conn->id()] = client;
  arm_connect_timer(client);
}

void Engine::arm_connect_timer(const std::shared_ptr<Client>& client) {
  std::weak_ptr<Client> weak = client;
  client->connect_timer = loop().set_timer(options_.connect_timeout, [weak] {
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
    // handlers are skipped, and the client was forgotten before any ran.
  }
}

void Engine::receive(Connection& conn, std::string_view data, bool binary) {
  auto it = clients_.find(conn.id());
  if (it == clients_.end()) return;
  std::shared_ptr<Client> client = it->second;
  auto decoded = client->decoder.feed(data, binary);
  if (!decoded.ok()) {
    client->conn->close(CloseReason::parse_error);
    return;
  }
  if (!decoded->has_value()) {
    // Attachments are held until their packet is whole; only a connection
    // that has passed CONNECT (and so authentication) may make us hold any.
    if (client->decoder.awaiting_attachments() && client->sockets.empty()) {
      client->conn->close(CloseReason::parse_error);
      return;
    }
    if (client->decoder.awaiting_attachments() && !client->attachment_timer) {
      std::weak_ptr<Client> weak = client;
      client->attachment_timer = loop().set_timer(options_.attachment_timeout, [weak] {
        if (auto s = weak.lock()) {
          s->attachment_timer = 0;
          s->conn->close(CloseReason::parse_error);
        }
      });
    }
    return;
  }
  if (client->attachment_timer) {
    loop().cancel_timer(client->attachment_timer);
    client->attachment_timer = 0;
  }
  handle(client, std::move(**decoded));
}

void Engine::handle(const std::shared_ptr<Client>& client, protocol::socketio::Packet packet) {
  if (packet.type == protocol::socketio::PacketType::connect) {
    connect(client, std::move(packet));
    return;
  }
  if (packet.type == protocol::socketio::PacketType::connect_error) {
    // Only servers send CONNECT_ERROR.
    client->conn->close(CloseReason::parse_error);
    return;
  }
  auto it = client->sockets.find(packet.nsp);
  // As the official server does: packets for a namespace the client is not
  // in are ignored, not fatal (they race with disconnects).
  if (it == client->sockets.end()) return;
  std::shared_ptr<Socket> socket = it->second;
  switch (packet.type) {
    case protocol::socketio::PacketType::disconnect:
      remove_socket(*socket, "client namespace disconnect", false);
      break;
    case protocol::socketio::PacketType::event:
    case protocol::socketio::PacketType::binary_event:
      dispatch_event(*socket, std::move(packet));
      break;
    case protocol::socketio::PacketType::ack:
    case protocol::socketio::PacketType::binary_ack:
      resolve_ack(*socket, std::move(packet));
      break;
    default:
      break;
  }
}

void Engine::refuse(Client& client, const std::string& nsp, ConnectError error) {
  Json payload = Json::object({{"message", Json(std::move(error.message))}});
  if (!error.data.is_null()) payload.set("data", std::move(error.data));
  send_frames(*client.conn, protocol::socketio::encode(protocol::socketio::Packet{protocol::socketio::PacketType::connect_error, nsp, std::nullopt, std::move(payload)}));
}

void Engine::connect(const std::shared_ptr<Client>& client, protocol::socketio::Packet packet) {
  auto nit = namespaces_.find(packet.nsp);
  if (nit == namespaces_.end()) {
    refuse(*client, packet.nsp, {"Invalid namespace", {}});
    return;
  }
  if (client->sockets.contains(packet.nsp)) return;  // already in; a repeat changes nothing
  if (client->sockets.size() >= options_.max_namespaces_per_connection) {
    refuse(*client, packet.nsp, {"Too many namespaces", {}});
    return;
  }
  Namespace& nsp = *nit->second;

  auto socket = std::shared_ptr<Socket>(new Socket());
  socket->engine_ = this;
  socket->nsp_ = &nsp;
  socket->conn_ = client->conn;
  socket->handshake_ = client->handshake;
  socket->sid_ = new_sid();
  socket->auth_ = packet.data.is_null() ? Json::object() : std::move(packet.data);

  if (authenticator_) {
    auto identity = authenticator_->authenticate(*client->handshake, socket->auth_);
    if (!identity.ok()) {
      std::string code(code_name(identity.status().code()));
      refuse(*client, packet.nsp, {code, Json::object({{"code", Json(code)}})});
      return;
    }
    socket->identity_ = std::move(identity).value();
  }
  for (const auto& middleware : nsp.middlewares_) {
    if (auto error = middleware(*socket)) {
      refuse(*client, packet.nsp, std::move(*error));
      return;
    }
    if (!client->conn->is_open()) return;
  }

  const std::string& user = socket->identity_.user_id.empty() ? socket->sid_ : socket->identity_.user_id;
  socket->member_ = std::make_shared<HubSocket>(socket->sid_, client->conn);
  nsp.hub_.add(socket->member_, user);
  nsp.hub_.join(socket->sid_, socket->sid_);
  nsp.sockets_.emplace(socket->sid_, socket);
  client->sockets.emplace(nsp.name_, socket);
  socket->connected_ = true;
  if (client->connect_timer) {
    loop().cancel_timer(client->connect_timer);
    client->connect_timer = 0;
  }
  send(*socket, protocol::socketio::Packet{protocol::socketio::PacketType::connect, nsp.name_, std::nullopt,
                       Json::object({{"sid", Json(socket->sid_)}})});
  // Copied: a handler may register another handler.
  auto handlers = nsp.on_connection_;
  for (auto& handler : handlers) {
    if (!socket->connected_) break;
    handler(*socket);
  }
}

void Engine::dispatch_event(Socket& socket, protocol::socketio::Packet packet) {
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

void Engine::resolve_ack(Socket& socket, protocol::socketio::Packet packet) {
  auto it = socket.pending_acks_.find(*packet.id);
  if (it == socket.pending_acks_.end()) return;  // late (timed out) or unknown: ignored
  Socket::PendingAck pending = std::move(it->second);
  socket.pending_acks_.erase(it);
  loop().cancel_timer(pending.timer);
  pending.callback(std::move(packet.data.as_array()));
}

SendStatus Engine::send(Socket& socket, protocol::socketio::Packet packet) {
  if (!socket.connected_) return SendStatus::dropped;
  SendStatus worst = SendStatus::sent;
  for (const auto& frame : protocol::socketio::encode(packet)) {
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
  socket.next_ack_id_ = (socket.next_ack_id_ + 1) & protocol::socketio::kMaxAckId;
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
  send(socket, protocol::socketio::Packet{protocol::socketio::PacketType::event, socket.nsp_->name_, id, Json(std::move(args))});
}

void Engine::remove_socket(Socket& socket, std::string_view reason, bool notify_client) {
  if (!socket.connected_) return;
  auto keep = socket.shared_from_this();
  if (notify_client) send(socket, protocol::socketio::Packet{protocol::socketio::PacketType::disconnect, socket.nsp_->name_, std::nullopt, {}});
  socket.connected_ = false;
  Namespace& nsp = *socket.nsp_;
  nsp.hub_.remove(socket.sid_);
  nsp.sockets_.erase(socket.sid_);
  if (auto sit = clients_.find(socket.conn_->id()); sit != clients_.end()) {
    std::shared_ptr<Client> client = sit->second;
    client->sockets.erase(nsp.name_);
    // A connection left in no namespace gets connectTimeout again to join one.
    if (client->sockets.empty() && !client->connect_timer && client->conn->is_open()) arm_connect_timer(client);
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
  auto it = clients_.find(conn.id());
  if (it == clients_.end()) return;
  std::shared_ptr<Client> client = it->second;
  clients_.erase(it);
  if (client->connect_timer) loop().cancel_timer(client->connect_timer);
  if (client->attachment_timer) loop().cancel_timer(client->attachment_timer);
  client->connect_timer = client->attachment_timer = 0;
  std::vector<std::shared_ptr<Socket>> sockets;
  for (auto& [nsp, socket] : client->sockets) sockets.push_back(socket);
  for (auto& socket : sockets) remove_socket(*socket, reason_for(reason), false);
}

void Engine::shutdown() {
  std::vector<std::shared_ptr<Client>> clients;
  for (auto& [id, s] : clients_) clients.push_back(s);
  for (auto& s : clients) {
    std::vector<std::shared_ptr<Socket>> sockets;
    for (auto& [nsp, socket] : s->sockets) sockets.push_back(socket);
    for (auto& socket : sockets) remove_socket(*socket, "server shutting down", true);
    s->conn->close(CloseReason::server_shutdown);
  }
}

}  // namespace realtime::socketio::detail
