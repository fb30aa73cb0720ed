// socketio::Server: a Socket.IO v5 server on any Transport.
//
// The embedder's entry point: construct it on a transport, register
// namespaces and their handlers, run the transport's loop. It decodes each
// connection's Socket.IO packets, runs auth and middlewares on CONNECT,
// dispatches events and acks, and fans out through one Hub per namespace
// (encode once, same Frame to every recipient). Loop thread only.
//
// Handlers (middlewares, on_connection, a socket's on/on_any/on_disconnect)
// should not throw: refuse with a ConnectError, an ack or disconnect().
// One that throws while a packet is handled costs its connection, which is
// closed (server_close), never the loop or the other clients.
//
//   socketio::Server io(transport, {});
//   io.of("/").on_connection([](socketio::Socket& s) {
//     s.on("hello", [&s](const Json::Array& args, const socketio::Ack& ack) {
//       if (ack) ack.send("hi");
//       s.to("lobby").emit("said", args.empty() ? Json() : args[0]);
//     });
//   });
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "realtime/authenticator.h"
#include "realtime/export.h"
#include "realtime/hub.h"
#include "realtime/json.h"
#include "realtime/socketio_socket.h"
#include "realtime/transport.h"

namespace realtime::socketio {

struct Options {
  // An Engine.IO connection that has joined no namespace this long is closed.
  std::chrono::milliseconds connect_timeout{45'000};
  // Per packet: binary attachments, and their bytes together (what a
  // packet may make the server hold; the default is Engine.IO's maxPayload).
  // A connection in no namespace yet may send no binary packet at all.
  std::size_t max_attachments = 10;
  std::size_t max_attachment_bytes = 1'000'000;
  // A packet whose announced attachments have not all arrived by then
  // closes its connection (parse_error).
  std::chrono::milliseconds attachment_timeout{30'000};
  // Namespaces one connection may join at once.
  std::size_t max_namespaces_per_connection = 16;
  // Server-initiated acks awaiting an answer, per socket.
  std::size_t max_pending_acks = 256;
  // JSON nesting accepted from clients.
  int max_json_depth = 32;
};

// A refusal of CONNECT: the client gets connect_error with this message
// (and data, when not null).
struct ConnectError {
  std::string message;
  Json data;
};
// Runs on CONNECT, before the socket is announced: may set identity() and
// data(), or refuse. Synchronous; it must not block.
using Middleware = std::function<std::optional<ConnectError>(Socket& socket)>;

// Who an emit reaches: rooms and users (all sockets of the namespace when
// neither is named), less the except rooms (a sid is a room of one). A
// socket's user is its identity().user_id, or its sid when that is empty.
// An emit to rooms, users or the whole namespace, in the form it travels
// between the nodes of a cluster: each node delivers it to its own sockets.
struct RemoteEmit {
  std::vector<std::string> rooms, users, except;
  Delivery delivery = Delivery::reliable;
  Json::Array args;  // the event name first
};

class REALTIME_EXPORT BroadcastOperator {
 public:
  BroadcastOperator& to(std::string_view room) { rooms_.emplace_back(room); return *this; }
  BroadcastOperator& to_user(std::string_view user_id) { users_.emplace_back(user_id); return *this; }
  BroadcastOperator& except(std::string_view room_or_sid) { except_.emplace_back(room_or_sid); return *this; }
  // Socket.IO's `volatile`: sockets whose connection is under backpressure
  // skip this emit, so their queue keeps room for what must arrive. For
  // events a client can do without (typing, presence hints).
  BroadcastOperator& droppable() { delivery_ = Delivery::droppable; return *this; }
  template <class... A>
  std::size_t emit(std::string_view event, A&&... args) const {
    Json::Array a;
    (a.emplace_back(std::forward<A>(args)), ...);
    return emit_args(event, std::move(a));
  }
  // Returns how many sockets it was sent to.
  std::size_t emit_args(std::string_view event, Json::Array args) const;

 private:
  friend class Namespace;
  friend class Socket;
  explicit BroadcastOperator(Namespace& nsp) : nsp_(&nsp) {}
  Namespace* nsp_;
  std::vector<std::string> rooms_, users_, except_;
  Delivery delivery_ = Delivery::reliable;
};

class REALTIME_EXPORT Namespace {
 public:
  Namespace(const Namespace&) = delete;
  Namespace& operator=(const Namespace&) = delete;
  ~Namespace();

  const std::string& name() const { return name_; }
  void use(Middleware middleware) { middlewares_.push_back(std::move(middleware)); }
  void on_connection(std::function<void(Socket&)> handler) { on_connection_.push_back(std::move(handler)); }

  BroadcastOperator to(std::string_view room) { return BroadcastOperator(*this).to(room); }
  BroadcastOperator to_user(std::string_view user_id) { return BroadcastOperator(*this).to_user(user_id); }
  BroadcastOperator except(std::string_view room) { return BroadcastOperator(*this).except(room); }
  BroadcastOperator droppable() { return BroadcastOperator(*this).droppable(); }
  template <class... A>
  std::size_t emit(std::string_view event, A&&... args) {
    return BroadcastOperator(*this).emit(event, std::forward<A>(args)...);
  }
  std::size_t emit_args(std::string_view event, Json::Array args) {
    return BroadcastOperator(*this).emit_args(event, std::move(args));
  }

  // A connected socket by sid, or nullptr.
  Socket* socket(std::string_view sid) const;
  std::size_t size() const { return sockets_.size(); }
  // Rooms, users online per room, per-user channel: for services on top.
  Hub& hub() { return hub_; }

  // Clustering. A relay hears every emit made through a BroadcastOperator
  // of this namespace, after this node's sockets got it, and takes it to
  // the other nodes (a Socket's own emit() is never relayed). One relay; an
  // empty function removes it.
  void set_relay(std::function<void(const RemoteEmit&)> relay) { relay_ = std::move(relay); }
  // Sends an emit that another node relayed to this node's sockets only
  // (never relayed again). Returns how many sockets it was sent to.
  std::size_t deliver(const RemoteEmit& emit);

 private:
  friend class detail::Engine;
  friend class BroadcastOperator;
  friend class Socket;
  explicit Namespace(std::string name) : name_(std::move(name)) {}
  std::string name_;
  Hub hub_;
  std::vector<Middleware> middlewares_;
  std::vector<std::function<void(Socket&)>> on_connection_;
  std::map<std::string, std::shared_ptr<Socket>, std::less<>> sockets_;
  std::function<void(const RemoteEmit&)> relay_;
  std::size_t send_local(const std::vector<std::string>& rooms, const std::vector<std::string>& users,
                         const std::vector<std::string>& except, Delivery delivery, Json args);
};

class REALTIME_EXPORT Server {
 public:
  // Registers itself as the transport's handler; both live on one loop.
  // `transport` must outlive the Server.
  Server(Transport& transport, Options options = {});
  // Detaches from the transport (Transport::clear_handler), so the transport
  // may be destroyed after it and never calls back. Connections still open
  // stay with the transport: call shutdown() first to close them.
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // The namespace, created on first use. A CONNECT to a namespace never
  // created here gets connect_error "Invalid namespace".
  Namespace& of(std::string_view name);
  // Shorthand for of("/").on_connection(handler).
  void on_connection(std::function<void(Socket&)> handler) { of("/").on_connection(std::move(handler)); }
  // Runs before every namespace's middlewares; failure -> connect_error
  // {"message":code,"data":{"code":code}}. Must outlive the server.
  void set_authenticator(const Authenticator* authenticator);
  // Open Engine.IO connections, whether or not in a namespace.
  std::size_t connection_count() const;
  // Disconnects every socket ("server shutting down") and closes connections.
  void shutdown();

 private:
  std::unique_ptr<detail::Engine> engine_;
};

}  // namespace realtime::socketio
