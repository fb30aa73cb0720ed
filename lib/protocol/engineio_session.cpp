// Engine.IO v4 session state machine (see engineio_session.h). Pure; one
// instance is used from one thread at a time.
#include "protocol/engineio_session.h"

#include <algorithm>

namespace realtime::protocol::engineio {

Session::Session(SessionConfig config, TimePoint now)
    : config_(config), next_ping_at_(now + config.ping_interval) {}

Output Session::close(CloseReason reason) {
  Output out;
  if (closed_) return out;
  closed_ = true;
  upgrading_ = false;
  out.close = reason;
  return out;
}

Output Session::on_packet(const Packet& packet, Channel channel, TimePoint now) {
  Output out;
  if (closed_) return out;
  if (channel == Channel::probe) {
    if (upgraded_) return out;  // a second probe after the upgrade: the transport refuses it
    if (packet.type == PacketType::ping && packet.data == "probe" && !packet.binary) {
      out.to_probe.push_back(Packet::text(PacketType::pong, "probe"));
      upgrading_ = true;
      upgrade_deadline_ = now + config_.upgrade_timeout;
      // The client pauses polling during the upgrade; a held GET must be
      // released or the client waits for it until the ping.
      out.flush_poll = true;
    } else if (packet.type == PacketType::upgrade && upgrading_) {
      upgrading_ = false;
      upgraded_ = true;
      out.upgraded = true;
      out.flush_poll = true;
    } else {
      upgrading_ = false;
      out.drop_probe = true;
    }
    return out;
  }
  switch (packet.type) {
    case PacketType::message:
      out.deliver.push_back(packet);
      break;
    case PacketType::pong:
      if (awaiting_pong_) {
        awaiting_pong_ = false;
        next_ping_at_ = now + config_.ping_interval;
      }
      break;
    case PacketType::close:
      return close(CloseReason::client_close);
    case PacketType::open:
    case PacketType::ping:
    case PacketType::upgrade:
    case PacketType::noop:
      // engine.io ignores these from a client on an established transport.
      break;
  }
  return out;
}

Output Session::on_timer(TimePoint now) {
  Output out;
  if (closed_) return out;
  if (awaiting_pong_ && now >= pong_deadline_) return close(CloseReason::ping_timeout);
  if (!awaiting_pong_ && now >= next_ping_at_) {
    out.to_primary.push_back(Packet::text(PacketType::ping));
    awaiting_pong_ = true;
    pong_deadline_ = now + config_.ping_timeout;
  }
  if (upgrading_ && now >= upgrade_deadline_) {
    upgrading_ = false;
    out.drop_probe = true;
  }
  return out;
}

void Session::on_probe_closed() { upgrading_ = false; }

TimePoint Session::next_deadline() const {
  TimePoint t = awaiting_pong_ ? pong_deadline_ : next_ping_at_;
  if (upgrading_) t = std::min(t, upgrade_deadline_);
  return t;
}

}  // namespace realtime::protocol::engineio
