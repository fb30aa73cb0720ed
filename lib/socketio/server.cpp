// Server: the public face of the Socket.IO server; everything is done by
// detail::Engine. Constructed and used on the loop thread.
#include "realtime/socketio_server.h"

#include "socketio/engine.h"

namespace realtime::socketio {

Server::Server(Transport& transport, Options options)
    : engine_(std::make_unique<detail::Engine>(transport, options)) {}
Server::~Server() = default;

Namespace& Server::of(std::string_view name) { return engine_->of(name); }
void Server::set_authenticator(const Authenticator* authenticator) { engine_->set_authenticator(authenticator); }
std::size_t Server::connection_count() const { return engine_->connection_count(); }
void Server::shutdown() { engine_->shutdown(); }

}  // namespace realtime::socketio
