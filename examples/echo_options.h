// The command line of the two conformance echo servers (engineio_echo and
// socketio_echo): the official protocol suites expect the same fixed setup
// from both (port 3000, heartbeat 300/200 ms, maxPayload 1,000,000, CORS
// "*"), and the tests under tests/ adjust it with the same few flags. Called
// once from main(), before the loop exists.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdio>
#include <exception>
#include <string>
#include <utility>

#include <cxxopts.hpp>

#include "realtime/lws_transport.h"

namespace echo {

// What main() goes on with: the transport options, or (exit_code >= 0) the
// status to exit with at once: 0 after --help, 2 after a bad command line.
struct ParsedFlags {
  realtime::LwsOptions options;
  int exit_code = -1;
};

// `path` is the Engine.IO path the suite connects to ("/engine.io/" or
// "/socket.io/"). Errors and help go to stderr and stdout.
inline ParsedFlags parse_flags(const char* program, std::string path, int argc, char** argv) {
  ParsedFlags out;
  cxxopts::Options options(program, "Echo server for the official Engine.IO / Socket.IO protocol test suites");
  // clang-format off
  options.add_options()
      ("port", "TCP port (0: an ephemeral one, printed on start)",
       cxxopts::value<int>()->default_value("3000"))
      ("host", "Address to listen on (empty: every address)", cxxopts::value<std::string>()->default_value(""))
      ("ping-interval", "Heartbeat interval, ms (load tests relax the suite's)", cxxopts::value<int>()->default_value("300"))
      ("ping-timeout", "Heartbeat timeout, ms", cxxopts::value<int>()->default_value("200"))
      ("max-queued-bytes", "Bytes queued for one slow client before it is disconnected",
       cxxopts::value<std::size_t>()->default_value(std::to_string(realtime::LwsOptions{}.max_queued_bytes)))
      ("h,help", "Show this help");
  // clang-format on
  try {
    auto args = options.parse(argc, argv);
    if (args.count("help") != 0) {
      std::printf("%s\n", options.help().c_str());
      out.exit_code = 0;
      return out;
    }
    if (!args.unmatched().empty()) {
      std::fprintf(stderr, "%s: unexpected argument %s\n", program, args.unmatched()[0].c_str());
      out.exit_code = 2;
      return out;
    }
    realtime::LwsOptions& opt = out.options;
    opt.host = args["host"].as<std::string>();
    opt.port = args["port"].as<int>();
    opt.path = std::move(path);
    opt.ping_interval = std::chrono::milliseconds(args["ping-interval"].as<int>());
    opt.ping_timeout = std::chrono::milliseconds(args["ping-timeout"].as<int>());
    opt.max_queued_bytes = args["max-queued-bytes"].as<std::size_t>();
    opt.max_payload = 1000000;
    opt.cors_origins = {"*"};
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s: %s\n", program, e.what());
    out.exit_code = 2;
  }
  return out;
}

}  // namespace echo
