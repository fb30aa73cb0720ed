// chatd's configuration: every setting has a command-line flag, a CHATD_*
// environment variable and a config-file key of the same name. Flags win
// over the environment, which wins over the file, which wins over defaults.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "realtime/chat_service.h"
#include "realtime/status.h"

namespace chatd {

struct Config {
  std::string host = "0.0.0.0";
  int port = 8080;
  int threads = 1;  // event loops; 0: one per core
  std::string data_dir = "./data";
  std::string store = "sqlite";  // or "memory", "postgres"
  std::string jwt_secret;
  std::string api_key;
  bool dev = false;
  std::vector<std::string> cors_origins;  // empty: same origin only
  std::string static_dir;                 // web client files served at /
  std::string log_level = "info";         // debug, info, warn, error
  std::string log_format = "logfmt";      // logfmt or json
  std::string sqlite_sync = "full";       // full or normal
  std::size_t sqlite_readers = 2;         // SQLite reader threads besides the search thread
  std::chrono::milliseconds search_timeout{2000};  // a search past it fails with unavailable
  std::size_t max_text_chars = 4000;
  int replay_limit = 1000;
  std::size_t max_answer_bytes = 1 << 20;   // replay, history, search, rooms:list pages
  std::size_t max_queued_bytes = 4 << 20;   // per connection; past it the client is cut (too slow)
  int session_max_minutes = 0;
  int join_token_ttl_seconds = 24 * 3600;  // session join tokens, from creation or rotation
  // Quotas and memory of the chat service; see realtime::ChatOptions.
  std::size_t room_create_quota = 200;       // rooms per user per period (0: no quota)
  int room_create_period_seconds = 3600;
  std::size_t max_create_members = 1000;     // entries in one room:create's members
  std::size_t max_room_members = 10000;
  std::size_t max_sockets_per_user = 50;     // 0: no limit
  std::size_t room_cache_bytes = 32 << 20;   // idle rooms kept in memory
  std::size_t name_cache_bytes = 8 << 20;    // display names kept in memory
  std::vector<std::string> session_end_roles;
  std::size_t max_body_bytes = 1 << 20;        // JSON request bodies
  std::size_t max_attachment_bytes = 10 << 20;
  std::vector<std::string> attachment_types;  // allowed MIME prefixes
  std::string turn_secret;
  std::vector<std::string> turn_urls;
  std::vector<std::string> stun_urls;
  int turn_ttl_seconds = 86400;
  realtime::RateLimit rest_rate{50, 100};    // per caller
  realtime::RateLimit message_rate{20, 40};  // per socket; see realtime::ChatOptions
  realtime::RateLimit typing_rate{5, 5};
  realtime::RateLimit rtc_rate{100, 100};
  realtime::RateLimit rtc_stats_rate{1, 10};     // rtc:stats per socket
  std::size_t call_quality_rooms = 1000;         // rooms with a call quality summary
  std::size_t call_quality_participants = 16;    // users reporting, per room
  bool metrics_public = true;
  std::chrono::milliseconds ping_interval{25000};
  std::chrono::milliseconds ping_timeout{20000};
  std::chrono::milliseconds connect_timeout{45000};
  // Request bodies and attachment storage (what a client may make the
  // server hold in memory and on disk).
  std::chrono::milliseconds body_timeout{30000};     // a JSON body must arrive within this
  std::chrono::seconds http_keepalive_timeout{5};     // idle keep-alive connections, announced in answers
  std::chrono::milliseconds upload_timeout{120000};  // an upload's body within this
  std::size_t max_buffered_bytes = 64 << 20;             // bodies in memory, all clients
  std::size_t max_buffered_bytes_per_address = 8 << 20;  // per client address; 0: no cap
  std::uint64_t attachment_quota_bytes = 1ull << 30;     // live attachments per uploader; 0: none
  std::uint64_t min_free_bytes = 256ull << 20;           // uploads stop before the data dir has less free
  int attachment_unclaimed_minutes = 24 * 60;            // an upload no message uses goes after this

  // --- TLS (issue 15): both set, the port speaks only HTTPS/WSS ---
  struct Tls {
    std::string cert_file;  // PEM chain: the certificate, then intermediates; re-read on SIGHUP
    std::string key_file;   // PEM private key, unencrypted; re-read on SIGHUP
    int redirect_port = 0;  // plain-HTTP port answering 301 to https; 0: none
  } tls;
  // --- Tokens from identity providers (issue 15); see realtime::JwtOptions ---
  struct Jwt {
    std::string public_key_file;             // PEM PUBLIC KEY blocks (RS/PS/ES256, EdDSA); reloaded on SIGHUP
    std::string jwks_url;                    // the provider's JWKS (https://.../.well-known/jwks.json)
    std::string issuer;                      // required iss; empty: not checked
    std::vector<std::string> audiences;      // accepted aud values; empty: not checked
    std::string claim_user = "sub";
    std::string claim_name = "name";
    std::string claim_role = "role";
    std::chrono::milliseconds jwks_refresh{600000};   // scheduled JWKS fetches
    double jwks_kid_fetches_per_minute = 6;           // extra fetches unknown kids may cause...
    double jwks_kid_fetch_burst = 3;                  // ...and at most this many at once
    std::chrono::milliseconds jwks_timeout{5000};     // one fetch, connect included
    std::size_t jwks_max_bytes = 256 * 1024;          // one JWKS document or key file
    std::size_t max_keys = 32;                        // keys in one JWKS document or key file
  } jwt;

  // --- PostgreSQL store (--store postgres; issue 12) ---
  struct Postgres {
    std::string url;  // libpq URI or key=value string; may hold the password: never log it
    std::size_t readers = 2;
    std::size_t max_batch = 4096;
    std::chrono::milliseconds connect_timeout{3000};
    std::chrono::milliseconds request_timeout{5000};
    std::chrono::milliseconds start_timeout{30000};
    std::string synchronous_commit = "on";
  } pg;

  // --- Cluster (--bus; issue 13) ---
  struct Cluster {
    std::string bus;        // redis://host:port[/db]; empty: a single node
    std::string node_id;    // empty: random
    std::string advertise;  // http(s)://host:port other nodes reach this one at
    std::chrono::seconds node_timeout{15};
  } cluster;

  // --- Notifications for members who are away (issue 16) ---
  struct Notify {
    std::string webhook_url;     // empty: no webhook
    std::string webhook_secret;  // signs each webhook body; never log it
    std::chrono::milliseconds webhook_timeout{5000};
    int attempts = 5;                            // per notification and channel
    std::chrono::milliseconds retry_base{1000};  // doubling up to a minute
    std::size_t max_queue = 10000;               // (user, room) entries per channel
    std::chrono::milliseconds coalesce{2000};    // one delivery per (user, room) within it
    int senders = 4;                             // deliveries at once per channel
    std::string vapid_key_file;                  // PEM P-256 private key; empty: no Web Push
    std::string vapid_subject;                   // mailto: or https: contact
    std::size_t push_max_subscriptions = 10;     // per user
    std::chrono::seconds push_ttl{86400};
    std::chrono::milliseconds push_timeout{5000};  // per push request
    bool push_allow_http = false;                // http:// endpoints: local tests only
  } notify;
};

// Parses argv (and the environment, and --config). `help` is set when the
// user asked for --help; the text to print is in `help_text`. `version` is
// set for --version. Called again on SIGHUP (on the loop thread) with the
// same argv, so an edited config file is read afresh.
struct ParsedConfig {
  Config config;
  bool help = false;
  bool version = false;
  std::string help_text;
  // Every option's effective text (flag, else environment, else file, else
  // default), by long name; --help, --version and --config are not in it.
  // SIGHUP compares two of these to name the settings that changed. Holds
  // secrets: never log the values.
  std::map<std::string, std::string> settings;
};
realtime::Result<ParsedConfig> parse_config(int argc, char** argv);

}  // namespace chatd
