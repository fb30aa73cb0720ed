// Test helpers for the Socket.IO server: an in-memory client that speaks
// raw Socket.IO packets and decodes what the server sends back. Used by the
// tests in this folder on the test's (loop) thread.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "protocol/socketio_packet.h"
#include "realtime/in_process_transport.h"
#include "realtime/socketio_server.h"
#include "test_util.h"

namespace realtime::socketio::testing {

class TestClient {
 public:
  TestClient(InProcessTransport& t, Handshake hs = {}) : t_(t), client_(t.connect(std::move(hs))) {
    t_.run_until_idle();
  }
  void send(std::string text) { client_->send(std::move(text)); }
  void send_binary(std::string bytes) { client_->send(std::move(bytes), true); }
  bool is_open() const { return client_->is_open(); }
  std::optional<CloseReason> close_reason() const { return client_->close_reason(); }
  void close() { client_->close(); }
  const std::vector<Frame>& raw() const { return client_->received(); }

  // Runs the loop, then returns the text of every frame received since the
  // last call (binary frames as "<bin:N>" with N bytes).
  std::vector<std::string> texts() {
    t_.run_until_idle();
    std::vector<std::string> out;
    for (const auto& f : client_->take()) {
      out.push_back(f.binary ? "<bin:" + std::to_string(f.view().size()) + ">" : std::string(f.view()));
    }
    return out;
  }
  // Runs the loop and decodes what arrived into packets.
  std::vector<protocol::socketio::Packet> packets() {
    t_.run_until_idle();
    std::vector<protocol::socketio::Packet> out;
    for (const auto& f : client_->take()) {
      auto r = decoder_.feed(f.view(), f.binary);
      EXPECT_TRUE(r.ok()) << "server sent a bad packet: " << f.view();
      if (r.ok() && r->has_value()) out.push_back(std::move(**r));
    }
    return out;
  }
  // CONNECT to a namespace and return the sid the server assigned ("" on refusal).
  std::string connect(const std::string& nsp = "/", const std::string& auth = "") {
    send(realtime::testing::cat("0", nsp == "/" ? std::string() : realtime::testing::cat(nsp, ","), auth));
    for (auto& p : packets()) {
      if (p.type == protocol::socketio::PacketType::connect && p.nsp == nsp) return p.data["sid"].as_string();
    }
    return "";
  }

 private:
  InProcessTransport& t_;
  std::shared_ptr<InProcessClient> client_;
  protocol::socketio::Decoder decoder_{protocol::socketio::DecoderLimits{100, 100'000'000, 64}};
};

}  // namespace realtime::socketio::testing
