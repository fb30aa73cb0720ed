// socketio::Socket: one client connected to one Socket.IO namespace.
//
// The Server creates a Socket when a client's CONNECT to a namespace is
// accepted and hands it to the namespace's connection handlers; handlers
// register event callbacks on it and emit to it. Sockets are owned by the
// Server; an application that keeps one beyond a callback holds a
// shared_ptr (shared_from_this()), and after disconnect every call on it is
// a harmless no-op. Loop thread only.
#pragma once

#include <any>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "realtime/authenticator.h"
#include "realtime/connection.h"
#include "realtime/export.h"
#include "realtime/json.h"
#include "realtime/status.h"

namespace realtime::socketio {

class Namespace;
class BroadcastOperator;
class Socket;
namespace detail { class Engine; }

// The reply to a client's event. Empty (false) when the client asked for
// no acknowledgement; answering twice sends once.
class REALTIME_EXPORT Ack {
 public:
  Ack() = default;
  explicit operator bool() const { return static_cast<bool>(state_); }
  void operator()(Json::Array args) const;
  template <class... A>
  void send(A&&... args) const {
    Json::Array a;
    (a.emplace_back(std::forward<A>(args)), ...);
    (*this)(std::move(a));
  }

 private:
  friend class detail::Engine;
  struct State;
  std::shared_ptr<State> state_;
};

using EventHandler = std::function<void(const Json::Array& args, const Ack& ack)>;
using AnyHandler = std::function<void(std::string_view event, const Json::Array& args, const Ack& ack)>;
// Server-initiated ack: the client's answer, or unavailable on timeout or
// disconnect.
using AckCallback = std::function<void(Result<Json::Array> reply)>;
// Reasons as socket.io names them: "client namespace disconnect",
// "server namespace disconnect", "transport close", "transport error",
// "ping timeout", "parse error", "server shutting down".
using DisconnectHandler = std::function<void(std::string_view reason)>;

class REALTIME_EXPORT Socket : public std::enable_shared_from_this<Socket> {
 public:
  Socket(const Socket&) = delete;
  Socket& operator=(const Socket&) = delete;
  ~Socket();

  const std::string& id() const { return sid_; }  // Socket.IO sid (client's socket.id)
  const std::string& connection_id() const;      // the Engine.IO session underneath
  // The Engine.IO connection itself (Node's socket.conn): closing it drops
  // every namespace of this client at once, with no DISCONNECT packet.
  Connection& connection() const { return *conn_; }
  Namespace& nsp() const { return *nsp_; }
  const Handshake& handshake() const { return *handshake_; }
  const Json& auth() const { return auth_; }  // CONNECT payload, {} when none
  bool connected() const { return connected_; }

  // Who this is: set by the server's Authenticator, or by a middleware.
  Identity& identity() { return identity_; }
  const Identity& identity() const { return identity_; }
  // Typed per-socket user data: socket.data() = MyState{...};
  // then socket.data_as<MyState>() (nullptr when absent or another type).
  std::any& data() { return data_; }
  template <class T>
  T* data_as() { return std::any_cast<T>(&data_); }

  // One handler per event name (a second on() replaces the first).
  void on(std::string event, EventHandler handler);
  // Runs for every event, after the named handler.
  void on_any(AnyHandler handler) { any_ = std::move(handler); }
  void on_disconnect(DisconnectHandler handler) { on_disconnect_.push_back(std::move(handler)); }

  template <class... A>
  SendStatus emit(std::string_view event, A&&... args) {
    Json::Array a;
    (a.emplace_back(std::forward<A>(args)), ...);
    return emit_args(event, std::move(a));
  }
  SendStatus emit_args(std::string_view event, Json::Array args);
  // The callback runs exactly once: with the client's ack arguments, or an
  // unavailable Status after `timeout`, on disconnect, or when too many
  // acks are already pending on this socket.
  void emit_with_ack(std::string_view event, Json::Array args, std::chrono::milliseconds timeout,
                     AckCallback callback);

  void join(std::string_view room);
  void leave(std::string_view room);
  std::vector<std::string> rooms() const;
  // Broadcast from this socket: to a room, or (broadcast()) everyone in the
  // namespace, never back to this socket.
  BroadcastOperator to(std::string_view room) const;
  BroadcastOperator broadcast() const;

  // Leaves the namespace (the client sees "io server disconnect"); with
  // close_connection the whole Engine.IO connection is closed too.
  void disconnect(bool close_connection = false);

 private:
  friend class detail::Engine;
  friend class Ack;
  struct PendingAck {
    AckCallback callback;
    std::uint64_t timer = 0;
  };
  Socket() = default;

  detail::Engine* engine_ = nullptr;
  Namespace* nsp_ = nullptr;
  std::shared_ptr<Connection> conn_;    // the Engine.IO connection
  std::shared_ptr<Connection> member_;  // how the namespace's Hub reaches this socket
  std::shared_ptr<const Handshake> handshake_;
  std::string sid_;
  Json auth_;
  Identity identity_;
  std::any data_;
  bool connected_ = false;
  std::map<std::string, EventHandler, std::less<>> handlers_;
  AnyHandler any_;
  std::vector<DisconnectHandler> on_disconnect_;
  std::uint64_t next_ack_id_ = 0;
  std::map<std::uint64_t, PendingAck> pending_acks_;
};

}  // namespace realtime::socketio
