// socketio_echo: the Socket.IO server the official Socket.IO protocol test
// suite expects: port 3000, pingInterval 300 ms, pingTimeout 200 ms,
// maxPayload 1,000,000, connectTimeout 1,000 ms, CORS origin "*".
//   - on connection to "/" or "/custom" it emits "auth" with the CONNECT
//     payload ({} when none);
//   - on "/", "message" is answered with "message-back" and the same
//     arguments (binary included), "message-with-ack" with an ack carrying
//     the same arguments;
//   - any other namespace gets CONNECT_ERROR {"message":"Invalid namespace"}.
// Beyond the suite, for the interop tests (events the suite never sends):
// auth {"reject":true} is refused with connect_error "rejected"; "ask"
// makes the server emit "question" with an ack and report the client's
// answer as "answer"; "drop" closes the client's Engine.IO connection
// (the client then reconnects); "join" and "to-room" exercise rooms.
//
// Flags (echo_options.h, shared with engineio_echo): --port N (0 =
// ephemeral), --host H, --max-queued-bytes N, --ping-interval MS and
// --ping-timeout MS (load tests relax the suite's tight heartbeat). Prints
// "listening on port N" once it accepts connections; SIGINT or SIGTERM stop it. Single-threaded.
#include <csignal>
#include <cstdio>
#include <optional>
#include <string_view>

#include "echo_options.h"
#include "realtime/lws_transport.h"
#include "realtime/socketio_server.h"

namespace {

using realtime::Json;
using realtime::socketio::Ack;
using realtime::socketio::ConnectError;
using realtime::socketio::Socket;

realtime::LwsTransport* g_transport = nullptr;

void on_signal(int) {
  if (g_transport != nullptr) g_transport->stop();
}

void add_interop_events(Socket& s) {
  s.on("ask", [&s](const Json::Array& args, const Ack&) {
    s.emit_with_ack("question", args, std::chrono::seconds(5), [&s](realtime::Result<Json::Array> reply) {
      if (reply.ok()) {
        s.emit_args("answer", std::move(reply).value());
      } else {
        s.emit("answer", Json::object({{"error", reply.status().message()}}));
      }
    });
  });
  s.on("drop", [&s](const Json::Array&, const Ack&) { s.connection().close(realtime::CloseReason::server_close); });
  s.on("join", [&s](const Json::Array& args, const Ack& ack) {
    if (!args.empty() && args[0].is_string()) s.join(args[0].as_string());
    if (ack) ack.send(true);
  });
  s.on("to-room", [&s](const Json::Array& args, const Ack& ack) {
    if (args.size() < 2 || !args[0].is_string()) return;
    const std::size_t n = s.to(args[0].as_string()).emit("room-message", args[1]);
    if (ack) ack.send(static_cast<long long>(n));
  });
}

}  // namespace

int main(int argc, char** argv) {
  echo::ParsedFlags flags = echo::parse_flags("socketio_echo", "/socket.io/", argc, argv);
  if (flags.exit_code >= 0) return flags.exit_code;
  auto transport = realtime::LwsTransport::create(flags.options);
  if (!transport.ok()) {
    std::fprintf(stderr, "socketio_echo: %s\n", transport.status().to_string().c_str());
    return 1;
  }

  realtime::socketio::Options sio;
  sio.connect_timeout = std::chrono::milliseconds(1000);
  realtime::socketio::Server io(**transport, sio);

  auto& main_ns = io.of("/");
  main_ns.use([](Socket& s) -> std::optional<ConnectError> {
    if (s.auth()["reject"] == Json(true)) return ConnectError{"rejected", Json::object({{"reason", "test"}})};
    return std::nullopt;
  });
  main_ns.on_connection([](Socket& s) {
    s.emit("auth", s.auth());
    s.on("message", [&s](const Json::Array& args, const Ack&) { s.emit_args("message-back", args); });
    s.on("message-with-ack", [](const Json::Array& args, const Ack& ack) {
      if (ack) ack(args);
    });
    add_interop_events(s);
  });
  io.of("/custom").on_connection([](Socket& s) { s.emit("auth", s.auth()); });

  g_transport = transport->get();
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  std::printf("listening on port %d\n", (*transport)->port());
  std::fflush(stdout);
  (*transport)->run();
  g_transport = nullptr;
  return 0;
}
