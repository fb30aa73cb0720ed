// engineio_echo: the Engine.IO layer on its own, as the official Engine.IO
// protocol test suite expects it: path /engine.io/, port 3000, pingInterval
// 300 ms, pingTimeout 200 ms, maxPayload 1,000,000, CORS origin "*", and
// every message (text or binary) echoed to its sender.
//
// Flags for tests: --port N (0 = ephemeral), --host H, --max-queued-bytes N,
// --ping-interval MS, --ping-timeout MS.
// It prints "listening on port N" once it accepts connections; SIGINT or
// SIGTERM stop it. Single-threaded: everything runs on the loop thread.
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string_view>

#include "realtime/lws_transport.h"

namespace {

realtime::LwsTransport* g_transport = nullptr;

void on_signal(int) {
  if (g_transport != nullptr) g_transport->stop();
}

class Echo final : public realtime::TransportHandler {
 public:
  void on_open(const std::shared_ptr<realtime::Connection>&, const realtime::Handshake&) override {}
  void on_message(realtime::Connection& conn, std::string_view data, bool binary) override {
    std::string copy(data);
    (void)conn.send(binary ? realtime::Frame::blob(std::move(copy)) : realtime::Frame::text(std::move(copy)));
  }
  void on_close(realtime::Connection&, realtime::CloseReason) override {}
};

}  // namespace

int main(int argc, char** argv) {
  realtime::LwsOptions opt;
  opt.host = "";
  opt.port = 3000;
  opt.path = "/engine.io/";
  opt.ping_interval = std::chrono::milliseconds(300);
  opt.ping_timeout = std::chrono::milliseconds(200);
  opt.max_payload = 1000000;
  opt.cors_origins = {"*"};
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string_view flag = argv[i];
    const char* value = argv[i + 1];
    if (flag == "--port") {
      opt.port = std::atoi(value);
    } else if (flag == "--host") {
      opt.host = value;
    } else if (flag == "--ping-interval") {
      opt.ping_interval = std::chrono::milliseconds(std::atoi(value));
    } else if (flag == "--ping-timeout") {
      opt.ping_timeout = std::chrono::milliseconds(std::atoi(value));
    } else if (flag == "--max-queued-bytes") {
      opt.max_queued_bytes = static_cast<std::size_t>(std::strtoull(value, nullptr, 10));
    } else {
      std::fprintf(stderr, "unknown flag %s\n", argv[i]);
      return 2;
    }
  }
  auto transport = realtime::LwsTransport::create(opt);
  if (!transport.ok()) {
    std::fprintf(stderr, "engineio_echo: %s\n", transport.status().to_string().c_str());
    return 1;
  }
  Echo echo;
  (*transport)->set_handler(echo);
  g_transport = transport->get();
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  std::printf("listening on port %d\n", (*transport)->port());
  std::fflush(stdout);
  (*transport)->run();
  g_transport = nullptr;
  return 0;
}
