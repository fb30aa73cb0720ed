// A test fixture helper: an LwsTransport on an ephemeral loopback port,
// run on its own thread, stopped and joined on destruction. Tests talk to
// it over real sockets and hand work to its loop with post().
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <thread>

#include "realtime/lws_transport.h"

namespace realtime::testing {

class LwsTestServer {
 public:
  explicit LwsTestServer(LwsOptions opt) {
    opt.host = "127.0.0.1";
    opt.port = 0;
    auto t = LwsTransport::create(std::move(opt));
    if (t.ok()) transport_ = std::move(t).value();
  }
  ~LwsTestServer() { stop(); }
  void start() {
    thread_ = std::thread([this] { transport_->run(); });
  }
  void stop() {
    if (thread_.joinable()) {
      transport_->stop();
      thread_.join();
    }
  }
  bool ok() const { return transport_ != nullptr; }
  LwsTransport& transport() { return *transport_; }
  int port() const { return transport_->port(); }

 private:
  std::unique_ptr<LwsTransport> transport_;
  std::thread thread_;
};

}  // namespace realtime::testing
