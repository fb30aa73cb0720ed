// ConnectionStats: counts connections on their way from the lws transport to
// the Socket.IO server (see connection_stats.h). Loop thread only.
#include "connection_stats.h"

#include <algorithm>

namespace chatd {

ConnectionStats::Queues ConnectionStats::queues() const {
  Queues q;
  for (const realtime::Connection* c : open_) {
    const std::size_t n = c->queued_bytes();
    q.total_bytes += n;
    q.max_bytes = std::max(q.max_bytes, n);
  }
  return q;
}

ConnectionStats::~ConnectionStats() { inner_.clear_handler(); }

void ConnectionStats::set_handler(realtime::TransportHandler& handler) {
  handler_ = &handler;
  inner_.set_handler(*this);
}

void ConnectionStats::on_open(const std::shared_ptr<realtime::Connection>& conn, const realtime::Handshake& handshake) {
  open_.insert(conn.get());
  if (handler_) handler_->on_open(conn, handshake);
}

void ConnectionStats::on_message(realtime::Connection& conn, std::string_view data, bool binary) {
  if (handler_) handler_->on_message(conn, data, binary);
}

void ConnectionStats::on_close(realtime::Connection& conn, realtime::CloseReason reason) {
  open_.erase(&conn);
  ++closed_[static_cast<std::size_t>(reason)];
  if (handler_) handler_->on_close(conn, reason);
}

}  // namespace chatd
