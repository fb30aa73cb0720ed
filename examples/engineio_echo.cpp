// engineio_echo: the Engine.IO layer on its own, as the official Engine.IO
// protocol test suite expects it: path /engine.io/, port 3000, pingInterval
// 300 ms, pingTimeout 200 ms, maxPayload 1,000,000, CORS origin "*", and
// every message (text or binary) echoed to its sender.
//
// Flags for tests (echo_options.h, shared with socketio_echo): --port N
// (0 = ephemeral), --host H, --max-queued-bytes N, --ping-interval MS,
// --ping-timeout MS.
// It prints "listening on port N" once it accepts connections; SIGINT or
// SIGTERM stop it. Single-threaded: everything runs on the loop thread.
#include <csignal>
#include <cstdio>
#include <string>
#include <string_view>

#include "echo_options.h"
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
  echo::ParsedFlags flags = echo::parse_flags("engineio_echo", "/engine.io/", argc, argv);
  if (flags.exit_code >= 0) return flags.exit_code;
  auto transport = realtime::LwsTransport::create(flags.options);
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
