// detail::Engine: the Socket.IO server's machinery behind Server.
//
// It is the TransportHandler: it keeps one Client per Engine.IO
// connection (decoder, namespaces joined, connect timer), turns packets into
// socket callbacks, and is what Socket, Ack and BroadcastOperator call to
// put packets on the wire. Loop thread only. Callbacks into application code
// may re-enter (disconnect, emit, close); every path holds shared_ptrs to
// what it touches and re-checks state afterwards.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "core/string_map.h"
#include "protocol/socketio_packet.h"
#include "realtime/socketio_server.h"

namespace realtime::socketio::detail {

class Engine final : public TransportHandler {
 public:
  Engine(Transport& transport, Options options);
  ~Engine() override;

  void on_open(const std::shared_ptr<Connection>& conn, const Handshake& handshake) override;
  // These two run application handlers; an exception from one stops here,
  // at the transport boundary, and costs only its connection (closed with
  // server_close). docs/architecture.md, "Errors and exceptions".
  void on_message(Connection& conn, std::string_view data, bool binary) override;
  void on_close(Connection& conn, CloseReason reason) override;

  Namespace& of(std::string_view name);
  void set_authenticator(const Authenticator* a) { authenticator_ = a; }
  std::size_t connection_count() const { return clients_.size(); }
  void shutdown();

  // Used by Socket, Ack and BroadcastOperator.
  SendStatus send(Socket& socket, protocol::socketio::Packet packet);
  void emit_with_ack(Socket& socket, std::string_view event, Json::Array args,
                     std::chrono::milliseconds timeout, AckCallback callback);
  // Takes the socket out of its namespace and client and runs its
  // disconnect handlers; tells the client when notify_client.
  void remove_socket(Socket& socket, std::string_view reason, bool notify_client);
  static Ack make_ack(Socket& socket, std::uint64_t id);
  EventLoop& loop() { return transport_.loop(); }

 private:
  struct Client {
    std::shared_ptr<Connection> conn;
    std::shared_ptr<const Handshake> handshake;
    protocol::socketio::Decoder decoder;
    std::map<std::string, std::shared_ptr<Socket>, std::less<>> sockets;  // by namespace
    EventLoop::TimerId connect_timer = 0;
    EventLoop::TimerId attachment_timer = 0;
  };

  void receive(Connection& conn, std::string_view data, bool binary);
  void closed(Connection& conn, CloseReason reason);
  void arm_connect_timer(const std::shared_ptr<Client>& client);
  void handle(const std::shared_ptr<Client>& client, protocol::socketio::Packet packet);
  void connect(const std::shared_ptr<Client>& client, protocol::socketio::Packet packet);
  void dispatch_event(Socket& socket, protocol::socketio::Packet packet);
  void resolve_ack(Socket& socket, protocol::socketio::Packet packet);
  void refuse(Client& client, const std::string& nsp, ConnectError error);
  std::string new_sid();

  Transport& transport_;
  Options options_;
  const Authenticator* authenticator_ = nullptr;
  std::map<std::string, std::unique_ptr<Namespace>, std::less<>> namespaces_;
  realtime::detail::StringMap<std::shared_ptr<Client>> clients_;  // by connection id
};

}  // namespace realtime::socketio::detail
