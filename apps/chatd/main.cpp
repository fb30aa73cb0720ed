// chatd: the standalone chat and call-signalling server.
//
// This is the foundation build: it parses and validates the options chatd
// will take and reports what it would run. The network transport, the
// SQLite store and the chat service are wired in by their own issues.
#include <cstdlib>
#include <filesystem>
#include <string>

#include <cxxopts.hpp>
#include <fmt/format.h>

int main(int argc, char** argv) {
  cxxopts::Options options("chatd", "Real-time chat and call signalling server (Socket.IO compatible)");
  options.add_options()
      ("host", "Address to listen on", cxxopts::value<std::string>()->default_value("0.0.0.0"))
      ("port", "TCP port to listen on", cxxopts::value<int>()->default_value("8080"))
      ("data-dir", "Directory for the SQLite file and attachments", cxxopts::value<std::string>()->default_value("./data"))
      ("h,help", "Show this help and exit");
  try {
    auto args = options.parse(argc, argv);
    if (args.count("help")) {
      fmt::print("{}\n", options.help());
      return EXIT_SUCCESS;
    }
    const int port = args["port"].as<int>();
    if (port < 1 || port > 65535) {
      fmt::print(stderr, "chatd: --port must be between 1 and 65535, got {}\n", port);
      return 2;
    }
    fmt::print(stderr,
               "chatd: this build has no network transport yet; it would listen on {}:{} with data in {}\n",
               args["host"].as<std::string>(), port,
               std::filesystem::absolute(args["data-dir"].as<std::string>()).string());
    return 3;
  } catch (const cxxopts::exceptions::exception& e) {
    fmt::print(stderr, "chatd: {}\nTry 'chatd --help'.\n", e.what());
    return 2;
  }
}
