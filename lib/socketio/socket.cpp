// Socket and Ack: the per-client API that application handlers call, on
// the loop thread. Each call checks that the socket is still connected, so
// a shared_ptr kept past disconnect is safe to use (and does nothing).
#include "realtime/socketio_socket.h"

#include <utility>

#include "realtime/socketio_server.h"
#include "socketio/engine.h"

namespace realtime::socketio {

struct Ack::State {
  std::weak_ptr<Socket> socket;
  std::uint64_t id = 0;
  bool done = false;
};

void Ack::operator()(Json::Array args) const {
  if (!state_ || state_->done) return;
  state_->done = true;
  auto socket = state_->socket.lock();
  if (!socket || !socket->connected() || !socket->engine_) return;
  socket->engine_->send(*socket, protocol::socketio::Packet{protocol::socketio::PacketType::ack, socket->nsp().name(), state_->id, Json(std::move(args))});
}

Ack detail::Engine::make_ack(Socket& socket, std::uint64_t id) {
  Ack ack;
  ack.state_ = std::make_shared<Ack::State>();
  ack.state_->socket = socket.shared_from_this();
  ack.state_->id = id;
  return ack;
}

Socket::~Socket() = default;

const std::string& Socket::connection_id() const { return conn_->id(); }

void Socket::on(std::string event, EventHandler handler) { handlers_[std::move(event)] = std::move(handler); }

SendStatus Socket::emit_args(std::string_view event, Json::Array args) {
  if (!connected_ || !engine_) return SendStatus::dropped;
  args.insert(args.begin(), Json(event));
  return engine_->send(*this, protocol::socketio::Packet{protocol::socketio::PacketType::event, nsp_->name(), std::nullopt, Json(std::move(args))});
}

void Socket::emit_with_ack(std::string_view event, Json::Array args, std::chrono::milliseconds timeout,
                           AckCallback callback) {
  if (!engine_) {
    callback(Status::unavailable("socket disconnected"));
    return;
  }
  engine_->emit_with_ack(*this, event, std::move(args), timeout, std::move(callback));
}

void Socket::join(std::string_view room) {
  if (connected_) nsp_->hub().join(sid_, room);
}

void Socket::leave(std::string_view room) {
  if (connected_) nsp_->hub().leave(sid_, room);
}

std::vector<std::string> Socket::rooms() const {
  if (!connected_) return {};
  return nsp_->hub().rooms_of(sid_);
}

BroadcastOperator Socket::to(std::string_view room) const { return BroadcastOperator(*nsp_).to(room).except(sid_); }

BroadcastOperator Socket::broadcast() const { return BroadcastOperator(*nsp_).except(sid_); }

void Socket::disconnect(bool close_connection) {
  if (!connected_ || !engine_) return;
  auto keep = shared_from_this();
  auto conn = conn_;
  engine_->remove_socket(*this, "server namespace disconnect", true);
  if (close_connection) conn->close(CloseReason::server_close);
}

}  // namespace realtime::socketio
