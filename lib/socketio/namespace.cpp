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
  if (!nsp_->relay_) return nsp_->send_local(rooms_, users_, except_, delivery_, Json(std::move(args)));
  const std::size_t sent = nsp_->send_local(rooms_, users_, except_, delivery_, Json(args));
  nsp_->relay_(RemoteEmit{rooms_, users_, except_, delivery_, std::move(args)});
  return sent;
}

std::size_t Namespace::deliver(const RemoteEmit& emit) {
  if (emit.args.empty() || !emit.args.front().is_string()) return 0;
  return send_local(emit.rooms, emit.users, emit.except, emit.delivery, Json(emit.args));
}

std::size_t Namespace::send_local(const std::vector<std::string>& rooms, const std::vector<std::string>& users,
                                  const std::vector<std::string>& except, Delivery delivery, Json args) {
  const std::vector<Frame> frames =
      protocol::socketio::encode(protocol::socketio::Packet{protocol::socketio::PacketType::event, name_, std::nullopt, std::move(args)});

  // The common cases go straight to the Hub's channels.
  if (except.size() <= 1 && users.empty() && rooms.size() == 1 && (except.empty() || socket(except[0]))) {
    return hub_.broadcast(rooms[0], frames, except.empty() ? std::string_view() : except[0], delivery);
  }
  if (except.empty() && rooms.empty() && users.size() == 1) {
    return hub_.send_to_user(users[0], frames, {}, delivery);
  }

  std::set<std::string> excluded;
  for (const auto& room : except) {
    for (auto& sid : hub_.connections_in(room)) excluded.insert(std::move(sid));
    if (socket(room)) excluded.insert(room);  // a sid is a room of one
  }
  std::set<std::string> targets;
  if (rooms.empty() && users.empty()) {
    for (const auto& [sid, s] : sockets_) targets.insert(sid);
  }
  for (const auto& room : rooms)
    for (auto& sid : hub_.connections_in(room)) targets.insert(std::move(sid));
  for (const auto& user : users)
    for (auto& sid : hub_.connections_of_user(user)) targets.insert(std::move(sid));
  std::size_t sent = 0;
  for (const auto& sid : targets) {
    if (excluded.contains(sid)) continue;
    if (hub_.send_to(sid, frames, delivery)) ++sent;
  }
  return sent;
}

}  // namespace realtime::socketio
