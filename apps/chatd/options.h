// chatd's configuration: every setting has a command-line flag, a CHATD_*
// environment variable and a config-file key of the same name. Flags win
// over the environment, which wins over the file, which wins over defaults.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "realtime/chat_service.h"
#include "realtime/status.h"

namespace chatd {

struct Config {
  std::string host = "0.0.0.0";
  int port = 8080;
  std::string data_dir = "./data";
  std::string store = "sqlite";  // or "memory"
  std::string jwt_secret;
  std::string api_key;
  bool dev = false;
  std::vector<std::string> cors_origins;  // empty: same origin only
  std::string static_dir;                 // web client files served at /
  std::string log_level = "info";         // debug, info, warn, error
  std::string sqlite_sync = "full";       // full or normal
  std::size_t max_text_chars = 4000;
  int replay_limit = 1000;
  int session_max_minutes = 0;
  std::vector<std::string> session_end_roles;
  std::size_t max_body_bytes = 1 << 20;        // JSON request bodies
  std::size_t max_attachment_bytes = 10 << 20;
  std::size_t max_queued_bytes = 4 << 20;     // per connection send queue; past it: closed, too_slow
  std::vector<std::string> attachment_types;  // allowed MIME prefixes
  std::string turn_secret;
  std::vector<std::string> turn_urls;
  std::vector<std::string> stun_urls;
  int turn_ttl_seconds = 86400;
  realtime::RateLimit rest_rate{50, 100};    // per caller
  realtime::RateLimit message_rate{20, 40};  // per socket; see realtime::ChatOptions
  realtime::RateLimit typing_rate{5, 5};
  realtime::RateLimit rtc_rate{100, 100};
  bool metrics_public = true;
  std::chrono::milliseconds ping_interval{25000};
  std::chrono::milliseconds ping_timeout{20000};
  std::chrono::milliseconds connect_timeout{45000};
};

// Parses argv (and the environment, and --config). `help` is set when the
// user asked for --help; the text to print is in `help_text`.
struct ParsedConfig {
  Config config;
  bool help = false;
  std::string help_text;
};
realtime::Result<ParsedConfig> parse_config(int argc, char** argv);

}  // namespace chatd
