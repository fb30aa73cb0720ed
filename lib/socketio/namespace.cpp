// Namespace and BroadcastOperator: fan-out to sockets through the
// namespace's Hub, on the loop thread. A packet is encoded once per emit and
// the same Frames go to every recipient.
#include <set>
#include <utility>

#include "protocol/socketio_packet.h"
#include "realtime/socketio_server.h"

namespace realtime::socketio {

Namespace::~Namespace() = default;

Socket* Namespace::socket(std::string_view sid) const {
  auto it = sockets_.find(sid);
  return it == sockets_.end() ? nullptr : it->second.get();
}

std::size_t BroadcastOperator::emit_args(std::string_view event, Json::Array args) const {
  args.insert(args.begin(), Json(event));
  const std::vector<Frame> frames =
      protocol::socketio::encode(protocol::socketio::Packet{protocol::socketio::PacketType::event, nsp_->name(), std::nullopt, Json(std::move(args))});
  Hub& hub = nsp_->hub();

  // The common cases go straight to the Hub's channels.
  if (except_.size() <= 1 && users_.empty() && rooms_.size() == 1 &&
      (except_.empty() || nsp_->socket(except_[0]))) {
    return hub.broadcast(rooms_[0], frames, except_.empty() ? std::string_view() : except_[0], delivery_);
  }
  if (except_.empty() && rooms_.empty() && users_.size() == 1) {
    return hub.send_to_user(users_[0], frames, {}, delivery_);
  }

  std::set<std::string> excluded;
  for (const auto& room : except_)
    for (auto& sid : hub.connections_in(room)) excluded.insert(std::move(sid));
  std::set<std::string> targets;
  if (rooms_.empty() && users_.empty()) {
    for (const auto& [sid, socket] : nsp_->sockets_) targets.insert(sid);
  }
  for (const auto& room : rooms_)
    for (auto& sid : hub.connections_in(room)) targets.insert(std::move(sid));
  for (const auto& user : users_)
    for (auto& sid : hub.connections_of_user(user)) targets.insert(std::move(sid));
  std::size_t sent = 0;
  for (const auto& sid : targets) {
    if (excluded.contains(sid)) continue;
    if (hub.send_to(sid, frames, delivery_)) ++sent;
  }
  return sent;
}

}  // namespace realtime::socketio
