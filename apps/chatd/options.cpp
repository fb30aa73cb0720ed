// chatd option parsing: cxxopts for flags, then CHATD_* variables and the
// config file fill in whatever the command line did not set.
#include "options.h"

#include <cstdlib>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>

#include <cxxopts.hpp>

namespace chatd {
namespace {

std::vector<std::string> split_list(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream in(s);
  std::string item;
  while (std::getline(in, item, ',')) {
    auto b = item.find_first_not_of(" \t");
    auto e = item.find_last_not_of(" \t");
    if (b != std::string::npos) out.push_back(item.substr(b, e - b + 1));
  }
  return out;
}

// "key = value" lines; # starts a comment. Keys are the long flag names.
realtime::Result<std::map<std::string, std::string>> read_config_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) return realtime::Status::bad_request("cannot read config file " + path);
  std::map<std::string, std::string> values;
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    ++n;
    if (auto hash = line.find('#'); hash != std::string::npos) line.erase(hash);
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    auto eq = line.find('=');
    if (eq == std::string::npos)
      return realtime::Status::bad_request(path + ":" + std::to_string(n) + ": expected key = value");
    auto trim = [](std::string s) {
      auto b = s.find_first_not_of(" \t\r");
      auto e = s.find_last_not_of(" \t\r");
      return b == std::string::npos ? std::string() : s.substr(b, e - b + 1);
    };
    values[trim(line.substr(0, eq))] = trim(line.substr(eq + 1));
  }
  return values;
}

std::string env_name(const std::string& flag) {
  std::string out = "CHATD_";
  for (char c : flag) out += c == '-' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace

realtime::Result<ParsedConfig> parse_config(int argc, char** argv) {
  cxxopts::Options options("chatd", "chatd: real-time chat and call signalling (Socket.IO compatible)\n\n"
                                    "Every option can also be set as an environment variable (--jwt-secret ->\n"
                                    "CHATD_JWT_SECRET) or as 'jwt-secret = ...' in the --config file.\n"
                                    "Flags win over the environment, the environment over the file.\n");
  // clang-format off
  options.add_options("Server")
      ("host", "Address to listen on", cxxopts::value<std::string>()->default_value("0.0.0.0"))
      ("port", "TCP port", cxxopts::value<int>()->default_value("8080"))
      ("data-dir", "Directory for the SQLite file (chatd.db) and attachments", cxxopts::value<std::string>()->default_value("./data"))
      ("store", "Message store: sqlite or memory (nothing kept across restarts)", cxxopts::value<std::string>()->default_value("sqlite"))
      ("sqlite-sync", "full: an ack survives a power cut; normal: survives a crash", cxxopts::value<std::string>()->default_value("full"))
      ("static-dir", "Serve the web client from this directory at /", cxxopts::value<std::string>()->default_value(""))
      ("cors-origin", "Origins allowed to use polling and the REST API (comma list, or *); default: same origin only", cxxopts::value<std::string>()->default_value(""))
      ("log-level", "debug, info, warn or error", cxxopts::value<std::string>()->default_value("info"))
      ("config", "Read settings from this file (key = value lines)", cxxopts::value<std::string>()->default_value(""))
      ("h,help", "Show this help");
  options.add_options("Security")
      ("jwt-secret", "HS256 secret that user tokens are signed with (required unless --dev)", cxxopts::value<std::string>()->default_value(""))
      ("api-key", "Key for service calls to the REST API (Authorization: Bearer <key>)", cxxopts::value<std::string>()->default_value(""))
      ("dev", "Development mode: POST /api/dev/token hands out tokens. Never in production")
      ("metrics-public", "Serve /metrics to anyone (true/false)", cxxopts::value<std::string>()->default_value("true"));
  options.add_options("Chat")
      ("max-text-chars", "Longest message, in characters", cxxopts::value<std::size_t>()->default_value("4000"))
      ("replay-limit", "Messages replayed to a rejoining client before replayTruncated", cxxopts::value<int>()->default_value("1000"))
      ("session-max-minutes", "End session rooms this long after they start (0: never)", cxxopts::value<int>()->default_value("0"))
      ("session-end-roles", "Room roles allowed to end a session (comma list; default: any member)", cxxopts::value<std::string>()->default_value(""))
      ("max-body-bytes", "Largest JSON request body", cxxopts::value<std::size_t>()->default_value("1048576"))
      ("max-attachment-bytes", "Largest attachment upload", cxxopts::value<std::size_t>()->default_value("10485760"))
      ("max-queued-bytes", "Bytes that may wait to be sent to one connection; a slower reader is disconnected", cxxopts::value<std::size_t>()->default_value("4194304"))
      ("attachment-types", "Allowed attachment MIME type prefixes (comma list; default: any)", cxxopts::value<std::string>()->default_value(""))
      ("rest-rate", "REST requests per second per caller", cxxopts::value<double>()->default_value("50"))
      ("rest-burst", "REST burst per caller", cxxopts::value<double>()->default_value("100"))
      ("message-rate", "Socket events per second per socket (all but typing and rtc:*)", cxxopts::value<double>()->default_value("20"))
      ("message-burst", "Socket event burst per socket", cxxopts::value<double>()->default_value("40"))
      ("typing-rate", "typing events per second per socket", cxxopts::value<double>()->default_value("5"))
      ("typing-burst", "typing burst per socket", cxxopts::value<double>()->default_value("5"))
      ("rtc-rate", "rtc:* signalling events per second per socket", cxxopts::value<double>()->default_value("100"))
      ("rtc-burst", "rtc:* burst per socket", cxxopts::value<double>()->default_value("100"));
  options.add_options("Calls")
      ("stun-urls", "STUN URLs for /api/ice-servers (comma list)", cxxopts::value<std::string>()->default_value(""))
      ("turn-urls", "TURN URLs for /api/ice-servers (comma list)", cxxopts::value<std::string>()->default_value(""))
      ("turn-secret", "Shared secret for TURN REST credentials", cxxopts::value<std::string>()->default_value(""))
      ("turn-ttl", "Lifetime of TURN credentials, seconds", cxxopts::value<int>()->default_value("86400"));
  options.add_options("Engine.IO")
      ("ping-interval", "Heartbeat interval, ms", cxxopts::value<int>()->default_value("25000"))
      ("ping-timeout", "Heartbeat timeout, ms", cxxopts::value<int>()->default_value("20000"))
      ("connect-timeout", "Close connections that join no namespace within this, ms", cxxopts::value<int>()->default_value("45000"));
  // clang-format on

  ParsedConfig out;
  cxxopts::ParseResult args;
  try {
    args = options.parse(argc, argv);
  } catch (const cxxopts::exceptions::exception& e) {
    return realtime::Status::bad_request(e.what());
  }
  if (args.count("help")) {
    out.help = true;
    out.help_text = options.help({"Server", "Security", "Chat", "Calls", "Engine.IO"});
    return out;
  }
  if (!args.unmatched().empty()) return realtime::Status::bad_request("unexpected argument " + args.unmatched()[0]);

  std::map<std::string, std::string> file;
  std::string config_path = args["config"].as<std::string>();
  if (config_path.empty())
    if (const char* e = std::getenv("CHATD_CONFIG")) config_path = e;
  if (!config_path.empty()) {
    auto f = read_config_file(config_path);
    if (!f.ok()) return f.status();
    file = std::move(f).value();
  }
  // A setting's text from the environment or the file, when the command
  // line did not give it (flags win over the environment, the environment
  // over the file); nullopt means "use the flag's value or default".
  auto fallback = [&](const std::string& name) -> std::optional<std::string> {
    if (args.count(name)) return std::nullopt;
    if (const char* e = std::getenv(env_name(name).c_str())) return std::string(e);
    if (auto it = file.find(name); it != file.end()) return it->second;
    return std::nullopt;
  };
  auto value = [&](const std::string& name) { return fallback(name).value_or(args[name].as<std::string>()); };
  auto number = [&](const std::string& name, auto parse) -> realtime::Result<decltype(parse(std::string()))> {
    const auto text = fallback(name);
    if (!text) return args[name].as<decltype(parse(std::string()))>();
    try {
      std::size_t used = 0;
      auto v = parse(*text, &used);
      if (used != text->size()) throw std::invalid_argument(*text);
      return v;
    } catch (const std::exception&) {
      return realtime::Status::bad_request("--" + name + ": not a number: " + *text);
    }
  };
  auto to_int = [](const std::string& s, std::size_t* used = nullptr) { return std::stoi(s, used); };
  auto to_size = [](const std::string& s, std::size_t* used = nullptr) -> std::size_t { return std::stoull(s, used); };
  auto to_double = [](const std::string& s, std::size_t* used = nullptr) { return std::stod(s, used); };

  Config& c = out.config;
  c.host = value("host");
  c.data_dir = value("data-dir");
  c.store = value("store");
  c.sqlite_sync = value("sqlite-sync");
  c.static_dir = value("static-dir");
  c.cors_origins = split_list(value("cors-origin"));
  c.log_level = value("log-level");
  c.jwt_secret = value("jwt-secret");
  c.api_key = value("api-key");
  c.session_end_roles = split_list(value("session-end-roles"));
  c.attachment_types = split_list(value("attachment-types"));
  c.stun_urls = split_list(value("stun-urls"));
  c.turn_urls = split_list(value("turn-urls"));
  c.turn_secret = value("turn-secret");
  const std::string dev_text = fallback("dev").value_or("");
  c.dev = args.count("dev") > 0 || dev_text == "1" || dev_text == "true";
  c.metrics_public = value("metrics-public") != "false";

  auto port = number("port", to_int);
  auto max_text = number("max-text-chars", to_size);
  auto replay = number("replay-limit", to_int);
  auto session_max = number("session-max-minutes", to_int);
  auto body = number("max-body-bytes", to_size);
  auto attach = number("max-attachment-bytes", to_size);
  auto queued = number("max-queued-bytes", to_size);
  // A token bucket from --<name>-rate and --<name>-burst, checked.
  auto rate_limit = [&](const std::string& name) -> realtime::Result<realtime::RateLimit> {
    auto rate = number(name + "-rate", to_double);
    if (!rate.ok()) return rate.status();
    auto burst = number(name + "-burst", to_double);
    if (!burst.ok()) return burst.status();
    if (*rate <= 0 || *burst < 1)
      return realtime::Status::bad_request("--" + name + "-rate must be > 0 and --" + name + "-burst >= 1");
    return realtime::RateLimit{*rate, *burst};
  };
  auto rest_rate = rate_limit("rest");
  auto message_rate = rate_limit("message");
  auto typing_rate = rate_limit("typing");
  auto rtc_rate = rate_limit("rtc");
  auto ttl = number("turn-ttl", to_int);
  auto ping_interval = number("ping-interval", to_int);
  auto ping_timeout = number("ping-timeout", to_int);
  auto connect_timeout = number("connect-timeout", to_int);
  for (const realtime::Status& s : {port.status(), max_text.status(), replay.status(), session_max.status(), body.status(),
                                    attach.status(), queued.status(), rest_rate.status(), ttl.status(), ping_interval.status(),
                                    ping_timeout.status(), connect_timeout.status(), message_rate.status(),
                                    typing_rate.status(), rtc_rate.status()})
    if (!s.ok()) return s;
  c.port = *port;
  c.max_text_chars = *max_text;
  c.replay_limit = *replay;
  c.session_max_minutes = *session_max;
  c.max_body_bytes = *body;
  c.max_attachment_bytes = *attach;
  c.max_queued_bytes = *queued;
  c.rest_rate = *rest_rate;
  c.message_rate = *message_rate;
  c.typing_rate = *typing_rate;
  c.rtc_rate = *rtc_rate;
  c.turn_ttl_seconds = *ttl;
  c.ping_interval = std::chrono::milliseconds(*ping_interval);
  c.ping_timeout = std::chrono::milliseconds(*ping_timeout);
  c.connect_timeout = std::chrono::milliseconds(*connect_timeout);

  using realtime::Status;
  if (c.port < 0 || c.port > 65535) return Status::bad_request("--port must be 0..65535");
  if (c.store != "sqlite" && c.store != "memory") return Status::bad_request("--store must be sqlite or memory");
  if (c.sqlite_sync != "full" && c.sqlite_sync != "normal") return Status::bad_request("--sqlite-sync must be full or normal");
  if (c.log_level != "debug" && c.log_level != "info" && c.log_level != "warn" && c.log_level != "error")
    return Status::bad_request("--log-level must be debug, info, warn or error");
  if (c.max_text_chars < 1) return Status::bad_request("--max-text-chars must be at least 1");
  if (c.max_queued_bytes < 4096) return Status::bad_request("--max-queued-bytes must be at least 4096");
  if (c.replay_limit < 0) return Status::bad_request("--replay-limit must not be negative");
  if (c.session_max_minutes < 0) return Status::bad_request("--session-max-minutes must not be negative");
  if (c.ping_interval.count() <= 0 || c.ping_timeout.count() <= 0 || c.connect_timeout.count() <= 0)
    return Status::bad_request("timeouts must be positive");
  if (c.jwt_secret.empty() && !c.dev)
    return Status::bad_request("set --jwt-secret (or CHATD_JWT_SECRET) to the secret your tokens are signed with, "
                               "or start with --dev to try chatd with development tokens");
  return out;
}

}  // namespace chatd
