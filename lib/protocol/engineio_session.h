// Engine.IO v4 session state machine: heartbeat and upgrade, without I/O.
//
// The lws transport owns one per session and calls it on the loop thread:
// it feeds every decoded packet (tagged with the channel it came on) and the
// current time, and wakes it at next_deadline(). Each call returns what to
// do: packets to send, messages to deliver, whether to flush a held poll,
// finish or abandon an upgrade, or close. Time is passed in, never read,
// so tests and the fuzz target drive it deterministically.
#pragma once

#include <chrono>
#include <optional>
#include <vector>

#include "protocol/engineio_packet.h"
#include "realtime/connection.h"

namespace realtime::protocol::engineio {

using SteadyClock = std::chrono::steady_clock;
using TimePoint = SteadyClock::time_point;
using Millis = std::chrono::milliseconds;

struct SessionConfig {
  Millis ping_interval{25000};    // server sends a ping this long after the last pong
  Millis ping_timeout{20000};     // and closes if no pong follows within this
  Millis upgrade_timeout{10000};  // a probe WebSocket must send "5" within this
};

// Where a packet arrived: the session's current transport, or a WebSocket
// that is probing to replace a polling transport.
enum class Channel : std::uint8_t { primary, probe };

struct Output {
  std::vector<Packet> to_primary;    // send on the current transport
  std::vector<Packet> to_probe;      // send on the probing WebSocket
  std::vector<Packet> deliver;       // messages for the application, in order
  bool flush_poll = false;           // answer a held GET now (noop if nothing queued)
  bool upgraded = false;             // the probe is now the transport
  bool drop_probe = false;           // close the probe; polling carries on
  std::optional<CloseReason> close;  // end the session
};

class Session {
 public:
  Session(SessionConfig config, TimePoint now);

  Output on_packet(const Packet& packet, Channel channel, TimePoint now);
  // Call when now >= next_deadline(); early calls do nothing harmful.
  Output on_timer(TimePoint now);
  // The probe socket went away before "5".
  void on_probe_closed();

  TimePoint next_deadline() const;
  bool upgrading() const { return upgrading_; }
  bool upgraded() const { return upgraded_; }
  bool closed() const { return closed_; }

 private:
  Output close(CloseReason reason);

  SessionConfig config_;
  TimePoint next_ping_at_;
  TimePoint pong_deadline_{};
  TimePoint upgrade_deadline_{};
  bool awaiting_pong_ = false;
  bool upgrading_ = false;
  bool upgraded_ = false;
  bool closed_ = false;
};

}  // namespace realtime::protocol::engineio
