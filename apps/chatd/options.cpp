// chatd option parsing: cxxopts for flags, then CHATD_* variables and the
// config file fill in whatever the command line did not set.
#include "options.h"

#include <algorithm>
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
      ("threads", "Event loops, each serving its share of the connections on a core of its own (0: one per core; at most 64). Above 1, plain HTTP only: terminate TLS in front", cxxopts::value<int>()->default_value("1"))
      ("data-dir", "Directory for the SQLite file (chatd.db) and attachments", cxxopts::value<std::string>()->default_value("./data"))
      ("store", "Message store: sqlite, postgres (shared by several chatd; see --pg-url) or memory (nothing kept across restarts)", cxxopts::value<std::string>()->default_value("sqlite"))
      ("sqlite-sync", "full: an ack survives a power cut; normal: survives a crash", cxxopts::value<std::string>()->default_value("full"))
      ("sqlite-readers", "SQLite reader threads (history, room lists, presence), besides the search thread", cxxopts::value<std::size_t>()->default_value("2"))
      ("search-timeout", "A message:search that takes longer fails with unavailable, ms (queueing included)", cxxopts::value<int>()->default_value("2000"))
      ("static-dir", "Serve the web client from this directory at /", cxxopts::value<std::string>()->default_value(""))
      ("cors-origin", "Origins allowed to use polling and the REST API (comma list, or *); default: same origin only", cxxopts::value<std::string>()->default_value(""))
      ("log-level", "debug, info, warn or error (SIGHUP rereads it)", cxxopts::value<std::string>()->default_value("info"))
      ("log-format", "logfmt (key=value) or json: one object per line (SIGHUP rereads it)", cxxopts::value<std::string>()->default_value("logfmt"))
      ("config", "Read settings from this file (key = value lines)", cxxopts::value<std::string>()->default_value(""))
      ("h,help", "Show this help")
      ("version", "Print chatd's version and exit");
  options.add_options("Security")
      ("jwt-secret", "HS256 secret that user tokens are signed with (required unless --dev)", cxxopts::value<std::string>()->default_value(""))
      ("api-key", "Key for service calls to the REST API (Authorization: Bearer <key>)", cxxopts::value<std::string>()->default_value(""))
      ("dev", "Development mode: POST /api/dev/token hands out tokens. Never in production")
      ("metrics-public", "Serve /metrics to anyone (true/false)", cxxopts::value<std::string>()->default_value("true"));
  options.add_options("Chat")
      ("max-text-chars", "Longest message, in characters", cxxopts::value<std::size_t>()->default_value("4000"))
      ("replay-limit", "Messages replayed to a rejoining client before replayTruncated", cxxopts::value<int>()->default_value("1000"))
      ("max-answer-bytes", "Bytes of messages or rooms in one replay, history page or rooms:list page (at most a quarter of --max-queued-bytes is used)", cxxopts::value<std::size_t>()->default_value("1048576"))
      ("session-max-minutes", "End session rooms this long after they start (0: never)", cxxopts::value<int>()->default_value("0"))
      ("session-end-roles", "Room roles allowed to end a session (comma list; default: any member)", cxxopts::value<std::string>()->default_value(""))
      ("join-token-ttl", "Seconds a session join token works, from creation or rotation (session:token)", cxxopts::value<int>()->default_value("86400"))
      ("room-create-quota", "Rooms one user may create per --room-create-period (0: no quota; services are not counted)", cxxopts::value<std::size_t>()->default_value("200"))
      ("room-create-period", "Seconds over which --room-create-quota refills", cxxopts::value<int>()->default_value("3600"))
      ("max-create-members", "Entries in one room:create members list", cxxopts::value<std::size_t>()->default_value("1000"))
      ("max-room-members", "Members one room may have", cxxopts::value<std::size_t>()->default_value("10000"))
      ("max-sockets-per-user", "Sockets one user may have connected at once (0: no limit)", cxxopts::value<std::size_t>()->default_value("50"))
      ("room-cache-bytes", "Memory for rooms no socket is in (rooms with sockets are always kept)", cxxopts::value<std::size_t>()->default_value("33554432"))
      ("name-cache-bytes", "Memory for display names of users seen", cxxopts::value<std::size_t>()->default_value("8388608"))
      ("max-body-bytes", "Largest JSON request body", cxxopts::value<std::size_t>()->default_value("1048576"))
      ("max-attachment-bytes", "Largest attachment upload", cxxopts::value<std::size_t>()->default_value("10485760"))
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
      ("turn-ttl", "Lifetime of TURN credentials, seconds", cxxopts::value<int>()->default_value("86400"))
      ("rtc-stats-rate", "rtc:stats call quality reports per second per socket", cxxopts::value<double>()->default_value("1"))
      ("rtc-stats-burst", "rtc:stats burst per socket", cxxopts::value<double>()->default_value("10"))
      ("call-quality-rooms", "Rooms whose call quality summary is kept (least recently reported forgotten first)", cxxopts::value<std::size_t>()->default_value("1000"))
      ("call-quality-participants", "Users reporting call quality kept per room", cxxopts::value<std::size_t>()->default_value("16"));
  options.add_options("Request bodies and attachment storage")
      ("body-timeout", "A JSON request body must arrive within this, ms (the whole body, not per chunk)", cxxopts::value<int>()->default_value("30000"))
      ("http-keepalive-timeout", "Close an idle HTTP keep-alive connection after this, s (answers announce it)", cxxopts::value<int>()->default_value("5"))
      ("upload-timeout", "An attachment upload's body must arrive within this, ms", cxxopts::value<int>()->default_value("120000"))
      ("max-buffered-bytes", "Request bodies held in memory at once, all clients (past it: 503)", cxxopts::value<std::size_t>()->default_value("67108864"))
      ("max-buffered-bytes-per-address", "Request bodies held in memory at once per client address (past it: 429); 0: no cap, e.g. behind a proxy", cxxopts::value<std::size_t>()->default_value("8388608"))
      ("attachment-quota-bytes", "Attachment bytes one user may have stored (past it: 413 quota_exceeded); 0: no quota", cxxopts::value<std::uint64_t>()->default_value("1073741824"))
      ("min-free-bytes", "Uploads are refused (507) before free space on --data-dir falls below this, so the database keeps room", cxxopts::value<std::uint64_t>()->default_value("268435456"))
      ("attachment-unclaimed-minutes", "An upload that no message uses is removed after this", cxxopts::value<int>()->default_value("1440"));
  options.add_options("Engine.IO")
      ("ping-interval", "Heartbeat interval, ms", cxxopts::value<int>()->default_value("25000"))
      ("ping-timeout", "Heartbeat timeout, ms", cxxopts::value<int>()->default_value("20000"))
      ("connect-timeout", "Close connections that join no namespace within this, ms", cxxopts::value<int>()->default_value("45000"))
      ("max-queued-bytes", "Bytes queued for one slow client before it is disconnected (at least 65536)", cxxopts::value<std::size_t>()->default_value("4194304"));
  // --- TLS (issue 15) ---
  options.add_options("TLS")
      ("tls-cert", "PEM certificate chain (the server certificate first, then intermediates). With --tls-key the port serves only HTTPS and WSS (TLS 1.2+). Re-read on SIGHUP", cxxopts::value<std::string>()->default_value(""))
      ("tls-key", "PEM private key of --tls-cert, unencrypted. Re-read on SIGHUP; a pair that fails to load keeps the old one", cxxopts::value<std::string>()->default_value(""))
      ("tls-redirect-port", "Also listen on this port for plain HTTP and answer every request 301 to the https URL (0: off)", cxxopts::value<int>()->default_value("0"));
  // --- Tokens from identity providers (issue 15) ---
  options.add_options("Identity provider tokens")
      ("jwt-public-key", "PEM file of public keys (RS256, PS256, ES256, EdDSA tokens); SIGHUP reloads it", cxxopts::value<std::string>()->default_value(""))
      ("jwks-url", "Identity provider's JWKS URL (http or https); fetched in the background, refreshed on a schedule and on an unknown kid", cxxopts::value<std::string>()->default_value(""))
      ("jwt-issuer", "Tokens must have this iss (empty: not checked)", cxxopts::value<std::string>()->default_value(""))
      ("jwt-audience", "Tokens' aud must hold one of these (comma list; empty: not checked)", cxxopts::value<std::string>()->default_value(""))
      ("jwt-claim-user", "Claim holding the user id", cxxopts::value<std::string>()->default_value("sub"))
      ("jwt-claim-name", "Claim holding the display name (when absent: the user id)", cxxopts::value<std::string>()->default_value("name"))
      ("jwt-claim-role", "Claim holding the role (when absent: user)", cxxopts::value<std::string>()->default_value("role"))
      ("jwks-refresh", "Seconds between scheduled JWKS fetches", cxxopts::value<int>()->default_value("600"))
      ("jwks-kid-fetches-per-minute", "JWKS fetches per minute that tokens with an unknown kid may cause (a flood of bad kids makes no more)", cxxopts::value<double>()->default_value("6"))
      ("jwks-kid-fetch-burst", "JWKS fetches that unknown kids may cause at once, before --jwks-kid-fetches-per-minute refills them", cxxopts::value<double>()->default_value("3"))
      ("jwks-timeout", "Longest one JWKS fetch may take, ms", cxxopts::value<int>()->default_value("5000"))
      ("jwks-max-bytes", "Largest JWKS document or public key file, bytes", cxxopts::value<std::size_t>()->default_value("262144"))
      ("jwt-max-keys", "Most keys in one JWKS document or public key file", cxxopts::value<std::size_t>()->default_value("32"));
  // --- PostgreSQL store (issue 12) ---
  options.add_options("PostgreSQL")
      ("pg-url", "PostgreSQL connection for --store postgres: a URI (postgresql://user@host:5432/db) or key=value string; the password may be in it, in PGPASSWORD or ~/.pgpass", cxxopts::value<std::string>()->default_value(""))
      ("pg-readers", "Reader connections (history, search, lists)", cxxopts::value<std::size_t>()->default_value("2"))
      ("pg-max-batch", "Most writes committed in one transaction", cxxopts::value<std::size_t>()->default_value("4096"))
      ("pg-connect-timeout", "Longest one connection attempt may take, ms", cxxopts::value<int>()->default_value("3000"))
      ("pg-request-timeout", "Longest a call waits for PostgreSQL before failing with unavailable, ms", cxxopts::value<int>()->default_value("5000"))
      ("pg-start-timeout", "How long chatd retries an unreachable PostgreSQL at start before it exits, ms", cxxopts::value<int>()->default_value("30000"))
      ("pg-synchronous-commit", "synchronous_commit of the writer: on, remote_apply, remote_write or local", cxxopts::value<std::string>()->default_value("on"));
  // --- Cluster (issue 13) ---
  options.add_options("Cluster")
      ("bus", "Join a cluster of chatd nodes on this Redis: redis://[:password@]host[:port][/db]. Needs a shared store (--store postgres)", cxxopts::value<std::string>()->default_value(""))
      ("node-id", "This node's name in the cluster, in logs, /healthz and /metrics (letters, digits, - and _; default: random)", cxxopts::value<std::string>()->default_value(""))
      ("advertise", "Where the other nodes reach this one: http(s)://host:port (default: from --host and --port)", cxxopts::value<std::string>()->default_value(""))
      ("node-timeout", "Seconds a node may stay silent before the others count it dead (its users go offline, its call peers get rtc:peer-left)", cxxopts::value<int>()->default_value("15"));
  // --- Notifications (issue 16) ---
  options.add_options("Notifications")
      ("webhook-url", "POST a signed JSON notice here when a member is away from a room that gets a message (http or https)", cxxopts::value<std::string>()->default_value(""))
      ("webhook-secret", "Secret for the webhook's X-Chatd-Signature HMAC-SHA256 (required with --webhook-url; better in CHATD_WEBHOOK_SECRET)", cxxopts::value<std::string>()->default_value(""))
      ("webhook-timeout", "Longest one webhook request may take, ms", cxxopts::value<int>()->default_value("5000"))
      ("notify-attempts", "Deliveries tried per notification before giving up (failures retried with exponential backoff)", cxxopts::value<int>()->default_value("5"))
      ("notify-retry-ms", "First retry after this, ms; each next one waits twice as long, up to a minute", cxxopts::value<int>()->default_value("1000"))
      ("notify-queue", "Notifications waiting per channel, one per (user, room); past it the oldest is dropped", cxxopts::value<std::size_t>()->default_value("10000"))
      ("notify-coalesce-ms", "Messages to one away member in one room within this make one notification, ms", cxxopts::value<int>()->default_value("2000"))
      ("notify-senders", "Deliveries under way at once per channel, each on a thread (a slow receiver holds up one)", cxxopts::value<int>()->default_value("4"))
      ("vapid-key", "PEM file of a P-256 private key: turns on Web Push to members who are away (openssl ecparam -name prime256v1 -genkey -noout -out vapid.pem)", cxxopts::value<std::string>()->default_value(""))
      ("vapid-subject", "Contact the push services may use: mailto:you@example.com or an https URL (required with --vapid-key)", cxxopts::value<std::string>()->default_value(""))
      ("push-max-subscriptions", "Web Push subscriptions one user may have (browsers); the oldest go first", cxxopts::value<std::size_t>()->default_value("10"))
      ("push-ttl", "Seconds a push service keeps a notification for a browser that is offline", cxxopts::value<int>()->default_value("86400"))
      ("push-timeout", "Longest one push request may take, ms (an endpoint that gives no answer 3 deliveries in a row is deleted)", cxxopts::value<int>()->default_value("5000"))
      ("push-allow-http", "Accept http:// push endpoints and ones on this host or private networks (a local test push service only; never in production)");
  // clang-format on

  ParsedConfig out;
  cxxopts::ParseResult args;
  try {
    args = options.parse(argc, argv);
  } catch (const cxxopts::exceptions::exception& e) {
    return realtime::Status::bad_request(e.what());
  }
  // The groups in the order a reader wants them; any group not named here
  // still follows, so a new one cannot be left out of --help.
  std::vector<std::string> groups{"Server", "TLS", "Security", "Chat", "Request bodies and attachment storage",
                                  "Calls", "Engine.IO", "Identity provider tokens", "PostgreSQL", "Cluster",
                                  "Notifications"};
  for (const auto& g : options.groups())
    if (std::find(groups.begin(), groups.end(), g) == groups.end()) groups.push_back(g);
  if (args.count("help")) {
    out.help = true;
    out.help_text = options.help(groups);
    return out;
  }
  if (args.count("version")) {
    out.version = true;
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
  auto sqlite_readers = number("sqlite-readers", to_size);
  auto search_timeout = number("search-timeout", to_int);
  for (const realtime::Status& s : {sqlite_readers.status(), search_timeout.status()})
    if (!s.ok()) return s;
  c.sqlite_readers = *sqlite_readers;
  c.search_timeout = std::chrono::milliseconds(*search_timeout);
  c.static_dir = value("static-dir");
  c.cors_origins = split_list(value("cors-origin"));
  c.log_level = value("log-level");
  c.log_format = value("log-format");
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
  auto threads = number("threads", to_int);
  if (!threads.ok()) return threads.status();
  if (*threads < 0 || *threads > 64) return realtime::Status::bad_request("--threads must be 0 (one per core) to 64");
  c.threads = *threads;
  auto max_text = number("max-text-chars", to_size);
  auto replay = number("replay-limit", to_int);
  auto answer_bytes = number("max-answer-bytes", to_size);
  auto queued_bytes = number("max-queued-bytes", to_size);
  auto session_max = number("session-max-minutes", to_int);
  auto join_ttl = number("join-token-ttl", to_int);
  auto create_quota = number("room-create-quota", to_size);
  auto create_period = number("room-create-period", to_int);
  auto create_members = number("max-create-members", to_size);
  auto room_members = number("max-room-members", to_size);
  auto user_sockets = number("max-sockets-per-user", to_size);
  auto room_cache = number("room-cache-bytes", to_size);
  auto name_cache = number("name-cache-bytes", to_size);
  auto body = number("max-body-bytes", to_size);
  auto attach = number("max-attachment-bytes", to_size);
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
  auto rtc_stats_rate = rate_limit("rtc-stats");
  auto quality_rooms = number("call-quality-rooms", to_size);
  auto quality_participants = number("call-quality-participants", to_size);
  for (const realtime::Status& s : {rtc_stats_rate.status(), quality_rooms.status(), quality_participants.status()})
    if (!s.ok()) return s;
  if (*quality_rooms < 1 || *quality_participants < 1)
    return realtime::Status::bad_request("--call-quality-rooms and --call-quality-participants must be at least 1");
  c.rtc_stats_rate = *rtc_stats_rate;
  c.call_quality_rooms = *quality_rooms;
  c.call_quality_participants = *quality_participants;
  auto ttl = number("turn-ttl", to_int);
  auto ping_interval = number("ping-interval", to_int);
  auto ping_timeout = number("ping-timeout", to_int);
  auto connect_timeout = number("connect-timeout", to_int);
  auto to_u64 = [](const std::string& s, std::size_t* used = nullptr) -> std::uint64_t { return std::stoull(s, used); };
  auto body_timeout = number("body-timeout", to_int);
  auto keepalive = number("http-keepalive-timeout", to_int);
  auto upload_timeout = number("upload-timeout", to_int);
  auto buffered = number("max-buffered-bytes", to_size);
  auto buffered_per_address = number("max-buffered-bytes-per-address", to_size);
  auto quota = number("attachment-quota-bytes", to_u64);
  auto min_free = number("min-free-bytes", to_u64);
  auto unclaimed = number("attachment-unclaimed-minutes", to_int);
  for (const realtime::Status& s : {body_timeout.status(), keepalive.status(), upload_timeout.status(), buffered.status(),
                                    buffered_per_address.status(), quota.status(), min_free.status(), unclaimed.status()})
    if (!s.ok()) return s;
  for (const realtime::Status& s : {port.status(), max_text.status(), replay.status(), session_max.status(), join_ttl.status(), body.status(),
                                    attach.status(), rest_rate.status(), ttl.status(), ping_interval.status(),
                                    ping_timeout.status(), connect_timeout.status(), message_rate.status(),
                                    typing_rate.status(), rtc_rate.status(), answer_bytes.status(), queued_bytes.status(),
                                    create_quota.status(), create_period.status(), create_members.status(),
                                    room_members.status(), user_sockets.status(), room_cache.status(), name_cache.status()})
    if (!s.ok()) return s;
  c.port = *port;
  c.max_text_chars = *max_text;
  c.replay_limit = *replay;
  c.max_answer_bytes = *answer_bytes;
  c.max_queued_bytes = *queued_bytes;
  c.session_max_minutes = *session_max;
  c.join_token_ttl_seconds = *join_ttl;
  c.room_create_quota = *create_quota;
  c.room_create_period_seconds = *create_period;
  c.max_create_members = *create_members;
  c.max_room_members = *room_members;
  c.max_sockets_per_user = *user_sockets;
  c.room_cache_bytes = *room_cache;
  c.name_cache_bytes = *name_cache;
  c.max_body_bytes = *body;
  c.max_attachment_bytes = *attach;
  c.rest_rate = *rest_rate;
  c.message_rate = *message_rate;
  c.typing_rate = *typing_rate;
  c.rtc_rate = *rtc_rate;
  c.turn_ttl_seconds = *ttl;
  c.ping_interval = std::chrono::milliseconds(*ping_interval);
  c.ping_timeout = std::chrono::milliseconds(*ping_timeout);
  c.connect_timeout = std::chrono::milliseconds(*connect_timeout);
  c.body_timeout = std::chrono::milliseconds(*body_timeout);
  c.http_keepalive_timeout = std::chrono::seconds(*keepalive);
  c.upload_timeout = std::chrono::milliseconds(*upload_timeout);
  c.max_buffered_bytes = *buffered;
  c.max_buffered_bytes_per_address = *buffered_per_address;
  c.attachment_quota_bytes = *quota;
  c.min_free_bytes = *min_free;
  c.attachment_unclaimed_minutes = *unclaimed;

  // --- TLS (issue 15) ---
  {
    c.tls.cert_file = value("tls-cert");
    c.tls.key_file = value("tls-key");
    auto redirect = number("tls-redirect-port", to_int);
    if (!redirect.ok()) return redirect.status();
    c.tls.redirect_port = *redirect;
    if (c.tls.cert_file.empty() != c.tls.key_file.empty())
      return realtime::Status::bad_request("--tls-cert and --tls-key go together: give both, or neither");
    if (c.tls.redirect_port < 0 || c.tls.redirect_port > 65535)
      return realtime::Status::bad_request("--tls-redirect-port must be 0..65535");
    if (c.tls.redirect_port != 0 && c.tls.cert_file.empty())
      return realtime::Status::bad_request("--tls-redirect-port needs --tls-cert and --tls-key");
    // Several loops route each connection by its first request line, which
    // TLS hides until the handshake.
    if (c.threads != 1 && !c.tls.cert_file.empty())
      return realtime::Status::bad_request("--threads above 1 serves plain HTTP only: terminate TLS in front of chatd "
                                           "(nginx, haproxy) or run --threads 1");
  }

  // --- Tokens from identity providers (issue 15) ---
  {
    auto& j = c.jwt;
    j.public_key_file = value("jwt-public-key");
    j.jwks_url = value("jwks-url");
    j.issuer = value("jwt-issuer");
    j.audiences = split_list(value("jwt-audience"));
    j.claim_user = value("jwt-claim-user");
    j.claim_name = value("jwt-claim-name");
    j.claim_role = value("jwt-claim-role");
    auto refresh = number("jwks-refresh", to_int);
    auto kid_fetches = number("jwks-kid-fetches-per-minute", to_double);
    auto kid_burst = number("jwks-kid-fetch-burst", to_double);
    auto timeout = number("jwks-timeout", to_int);
    auto max_bytes = number("jwks-max-bytes", to_size);
    auto max_keys = number("jwt-max-keys", to_size);
    for (const realtime::Status& s : {refresh.status(), kid_fetches.status(), kid_burst.status(), timeout.status(), max_bytes.status(), max_keys.status()})
      if (!s.ok()) return s;
    if (*refresh < 10) return realtime::Status::bad_request("--jwks-refresh must be at least 10 seconds");
    if (*kid_fetches < 0 || *kid_fetches > 600) return realtime::Status::bad_request("--jwks-kid-fetches-per-minute must be 0 to 600");
    if (*kid_burst < 0 || *kid_burst > 100) return realtime::Status::bad_request("--jwks-kid-fetch-burst must be 0 to 100");
    if (*timeout <= 0) return realtime::Status::bad_request("--jwks-timeout must be positive");
    if (*max_bytes < 1024 || *max_keys < 1) return realtime::Status::bad_request("--jwks-max-bytes must be at least 1024 and --jwt-max-keys at least 1");
    if (j.claim_user.empty() || j.claim_name.empty() || j.claim_role.empty())
      return realtime::Status::bad_request("--jwt-claim-user, --jwt-claim-name and --jwt-claim-role must not be empty");
    if (!j.jwks_url.empty() && j.jwks_url.rfind("http://", 0) != 0 && j.jwks_url.rfind("https://", 0) != 0)
      return realtime::Status::bad_request("--jwks-url must be an http:// or https:// URL");
    j.jwks_refresh = std::chrono::seconds(*refresh);
    j.jwks_kid_fetches_per_minute = *kid_fetches;
    j.jwks_kid_fetch_burst = *kid_burst;
    j.jwks_timeout = std::chrono::milliseconds(*timeout);
    j.jwks_max_bytes = *max_bytes;
    j.max_keys = *max_keys;
  }

  // --- PostgreSQL store (issue 12) ---
  {
    c.pg.url = value("pg-url");
    c.pg.synchronous_commit = value("pg-synchronous-commit");
    auto readers = number("pg-readers", to_size);
    auto batch = number("pg-max-batch", to_size);
    auto connect = number("pg-connect-timeout", to_int);
    auto request = number("pg-request-timeout", to_int);
    auto start = number("pg-start-timeout", to_int);
    for (const realtime::Status& s : {readers.status(), batch.status(), connect.status(), request.status(), start.status()})
      if (!s.ok()) return s;
    if (*readers < 1 || *batch < 1) return realtime::Status::bad_request("--pg-readers and --pg-max-batch must be at least 1");
    if (*connect <= 0 || *request <= 0 || *start < 0)
      return realtime::Status::bad_request("--pg-connect-timeout and --pg-request-timeout must be positive, --pg-start-timeout not negative");
    const auto& sc = c.pg.synchronous_commit;
    if (sc != "on" && sc != "remote_apply" && sc != "remote_write" && sc != "local")
      return realtime::Status::bad_request("--pg-synchronous-commit must be on, remote_apply, remote_write or local");
    c.pg.readers = *readers;
    c.pg.max_batch = *batch;
    c.pg.connect_timeout = std::chrono::milliseconds(*connect);
    c.pg.request_timeout = std::chrono::milliseconds(*request);
    c.pg.start_timeout = std::chrono::milliseconds(*start);
    if (c.store == "postgres" && c.pg.url.empty())
      return realtime::Status::bad_request("--store postgres needs --pg-url (or CHATD_PG_URL)");
  }

  // --- Cluster (issue 13) ---
  {
    c.cluster.bus = value("bus");
    c.cluster.node_id = value("node-id");
    c.cluster.advertise = value("advertise");
    auto timeout = number("node-timeout", to_int);
    if (!timeout.ok()) return timeout.status();
    if (*timeout < 1 || *timeout > 3600) return realtime::Status::bad_request("--node-timeout must be 1 to 3600 seconds");
    c.cluster.node_timeout = std::chrono::seconds(*timeout);
    if (c.cluster.node_id.size() > 64 ||
        c.cluster.node_id.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_") != std::string::npos)
      return realtime::Status::bad_request("--node-id must be at most 64 letters, digits, - and _");
    if (!c.cluster.advertise.empty() && !c.cluster.advertise.starts_with("http://") && !c.cluster.advertise.starts_with("https://"))
      return realtime::Status::bad_request("--advertise must be an http:// or https:// address");
    if (!c.cluster.bus.empty() && c.store != "postgres") {
      std::string why = "--bus needs a shared store: every node must read and write the same rooms and messages, so use "
                        "--store postgres (--store ";
      why += c.store;
      why += " keeps them inside one process)";
      return realtime::Status::bad_request(why);
    }
  }

  // --- Notifications (issue 16) ---
  {
    auto& n = c.notify;
    n.webhook_url = value("webhook-url");
    n.webhook_secret = value("webhook-secret");
    auto timeout = number("webhook-timeout", to_int);
    auto attempts = number("notify-attempts", to_int);
    auto retry = number("notify-retry-ms", to_int);
    auto queue = number("notify-queue", to_size);
    auto coalesce = number("notify-coalesce-ms", to_int);
    auto senders = number("notify-senders", to_int);
    for (const realtime::Status& s :
         {timeout.status(), attempts.status(), retry.status(), queue.status(), coalesce.status(), senders.status()})
      if (!s.ok()) return s;
    if (!n.webhook_url.empty() && !n.webhook_url.starts_with("http://") && !n.webhook_url.starts_with("https://"))
      return realtime::Status::bad_request("--webhook-url must be an http:// or https:// URL");
    if (!n.webhook_url.empty() && n.webhook_secret.size() < 16)
      return realtime::Status::bad_request("--webhook-url needs --webhook-secret (or CHATD_WEBHOOK_SECRET) of at least 16 characters");
    if (*timeout <= 0 || *retry <= 0 || *coalesce < 0)
      return realtime::Status::bad_request("--webhook-timeout and --notify-retry-ms must be positive, --notify-coalesce-ms not negative");
    if (*attempts < 1 || *attempts > 20) return realtime::Status::bad_request("--notify-attempts must be 1 to 20");
    if (*queue < 1) return realtime::Status::bad_request("--notify-queue must be at least 1");
    if (*senders < 1 || *senders > 64) return realtime::Status::bad_request("--notify-senders must be 1 to 64");
    n.senders = *senders;
    n.webhook_timeout = std::chrono::milliseconds(*timeout);
    n.attempts = *attempts;
    n.retry_base = std::chrono::milliseconds(*retry);
    n.max_queue = *queue;
    n.coalesce = std::chrono::milliseconds(*coalesce);
    n.vapid_key_file = value("vapid-key");
    n.vapid_subject = value("vapid-subject");
    const std::string allow_http = fallback("push-allow-http").value_or("");
    n.push_allow_http = args.count("push-allow-http") > 0 || allow_http == "1" || allow_http == "true";
    auto max_subs = number("push-max-subscriptions", to_size);
    auto push_ttl = number("push-ttl", to_int);
    auto push_timeout = number("push-timeout", to_int);
    for (const realtime::Status& s : {max_subs.status(), push_ttl.status(), push_timeout.status()})
      if (!s.ok()) return s;
    if (!n.vapid_key_file.empty() && !n.vapid_subject.starts_with("mailto:") && !n.vapid_subject.starts_with("https://"))
      return realtime::Status::bad_request("--vapid-key needs --vapid-subject: mailto:you@example.com or an https:// URL");
    if (*max_subs < 1 || *max_subs > 100) return realtime::Status::bad_request("--push-max-subscriptions must be 1 to 100");
    if (*push_ttl < 0 || *push_ttl > 28 * 86400) return realtime::Status::bad_request("--push-ttl must be 0 to 2419200 seconds");
    n.push_max_subscriptions = *max_subs;
    n.push_ttl = std::chrono::seconds(*push_ttl);
    if (*push_timeout < 100 || *push_timeout > 60000) return realtime::Status::bad_request("--push-timeout must be 100 to 60000 ms");
    n.push_timeout = std::chrono::milliseconds(*push_timeout);
  }

  using realtime::Status;
  if (c.port < 0 || c.port > 65535) return Status::bad_request("--port must be 0..65535");
  if (c.store != "sqlite" && c.store != "memory" && c.store != "postgres")
    return Status::bad_request("--store must be sqlite, postgres or memory");
  if (c.sqlite_sync != "full" && c.sqlite_sync != "normal") return Status::bad_request("--sqlite-sync must be full or normal");
  if (c.sqlite_readers < 1 || c.sqlite_readers > 64) return Status::bad_request("--sqlite-readers must be 1 to 64");
  if (c.search_timeout.count() <= 0) return Status::bad_request("--search-timeout must be positive");
  if (c.log_level != "debug" && c.log_level != "info" && c.log_level != "warn" && c.log_level != "error")
    return Status::bad_request("--log-level must be debug, info, warn or error");
  if (c.log_format != "logfmt" && c.log_format != "json") return Status::bad_request("--log-format must be logfmt or json");
  if (c.max_text_chars < 1) return Status::bad_request("--max-text-chars must be at least 1");
  if (c.replay_limit < 0) return Status::bad_request("--replay-limit must not be negative");
  if (c.max_queued_bytes < 65536) return Status::bad_request("--max-queued-bytes must be at least 65536");
  if (c.max_answer_bytes < 4096) return Status::bad_request("--max-answer-bytes must be at least 4096");
  if (c.session_max_minutes < 0) return Status::bad_request("--session-max-minutes must not be negative");
  if (c.join_token_ttl_seconds <= 0) return Status::bad_request("--join-token-ttl must be positive");
  if (c.room_create_period_seconds <= 0) return Status::bad_request("--room-create-period must be positive");
  if (c.max_create_members < 1 || c.max_room_members < 2)
    return Status::bad_request("--max-create-members must be at least 1 and --max-room-members at least 2");
  if (c.ping_interval.count() <= 0 || c.ping_timeout.count() <= 0 || c.connect_timeout.count() <= 0)
    return Status::bad_request("timeouts must be positive");
  if (c.http_keepalive_timeout.count() < 2) return Status::bad_request("--http-keepalive-timeout must be at least 2");
  if (c.body_timeout.count() <= 0 || c.upload_timeout.count() <= 0)
    return Status::bad_request("--body-timeout and --upload-timeout must be positive");
  if (c.max_buffered_bytes < c.max_body_bytes)
    return Status::bad_request("--max-buffered-bytes must hold at least one --max-body-bytes body");
  if (c.attachment_unclaimed_minutes < 0) return Status::bad_request("--attachment-unclaimed-minutes must not be negative");
  if (c.jwt_secret.empty() && c.jwt.public_key_file.empty() && c.jwt.jwks_url.empty() && !c.dev)
    return Status::bad_request("set --jwt-secret (or CHATD_JWT_SECRET) to the secret your tokens are signed with, "
                               "--jwt-public-key or --jwks-url to check your identity provider's tokens, "
                               "or start with --dev to try chatd with development tokens");

  // Every option's effective text, for SIGHUP to see what changed.
  for (const auto& group : groups) {
    for (const auto& o : options.group_help(group).options) {
      const std::string& name = o.l.front();
      if (name == "help" || name == "version" || name == "config") continue;
      std::string text = o.default_value;
      if (args.count(name)) {
        for (const auto& kv : args.arguments())
          if (kv.key() == name) text = kv.value();
      } else if (auto f = fallback(name)) {
        text = *f;
      }
      out.settings[name] = std::move(text);
    }
  }
  return out;
}

}  // namespace chatd
