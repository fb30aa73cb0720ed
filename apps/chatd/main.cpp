// chatd: the standalone chat and call-signalling server.
//
// Wires librealtime together: the libwebsockets transport (Socket.IO on
// /socket.io/, REST on /api, static files), the SQLite, PostgreSQL or
// memory store, the JWT authenticator and the chat service. SIGTERM/SIGINT stop the
// loop; the store is flushed and closed before exit 0. SIGHUP reloads what
// can change without a restart (reload.h; the steps are listed below).
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>

#include "realtime/base64.h"
#include "connection_stats.h"
#include "log.h"
#include "options.h"
#include "realtime/chat_service.h"
#include "jwt_setup.h"
#include "realtime/lws_transport.h"
#include "realtime/memory_store.h"
#include "realtime/postgres_attachment_store.h"
#include "realtime/postgres_store.h"
#include "realtime/random.h"
#include "realtime/redis_bus.h"
#include "realtime/blocking_worker.h"
#include "reload.h"
#include "realtime/socketio_server.h"
#include "realtime/sqlite_store.h"
#include "attachments.h"
#include "rest_api.h"

namespace {

realtime::LwsTransport* g_transport = nullptr;
void on_signal(int) {
  if (g_transport) g_transport->stop();
}

// SIGHUP, on the loop: --tls-cert/--tls-key read again; a pair that fails
// to load keeps the one being served.
void reload_tls(realtime::LwsTransport& t, chatd::Log& log) {
  t.reload_tls([&log](const realtime::Result<realtime::TlsCertificate>& r) {
    if (!r.ok()) {
      log.error("TLS certificate reload failed, still serving the previous one", {{"cause", r.status().message()}});
      return;
    }
    log.info("TLS certificate reloaded", {{"subject", r->subject}, {"serial", r->serial}, {"not_after", r->not_after}});
  });
}

// The whole file, or "" when it cannot be read.
std::string read_whole_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return {};
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

int fail(const std::string& what) {
  std::fprintf(stderr, "chatd: %s\n", what.c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  // Before any thread starts, so that all inherit it: SIGHUP waits for the
  // HangupListener instead of ending the process.
  chatd::block_hangup();
  auto parsed = chatd::parse_config(argc, argv);
  if (!parsed.ok()) {
    std::fprintf(stderr, "chatd: %s\nTry 'chatd --help'.\n", parsed.status().message().c_str());
    return 2;
  }
  if (parsed->help) {
    std::fputs(parsed->help_text.c_str(), stdout);
    return 0;
  }
  if (parsed->version) {
    std::printf("chatd %s\n", CHATD_VERSION);
    return 0;
  }
  chatd::Config config = parsed->config;
  chatd::Log log(chatd::Log::parse(config.log_level), *chatd::Log::parse_format(config.log_format));
  if (config.dev) {
    log.warn("DEVELOPMENT MODE: anyone can get a token for any user at POST /api/dev/token. Never run this in production.");
    if (config.jwt_secret.empty()) config.jwt_secret = realtime::random_token(32);
  }

  std::error_code ec;
  std::filesystem::create_directories(config.data_dir, ec);
  if (ec) return fail("cannot create the data directory " + config.data_dir + ": " + ec.message());

  realtime::LwsOptions lws;
  lws.host = config.host == "0.0.0.0" ? "" : config.host;
  lws.port = config.port;
  lws.cors_origins = config.cors_origins;
  lws.ping_interval = config.ping_interval;
  lws.ping_timeout = config.ping_timeout;
  // JSON bodies; the upload route sets its own limit and spools to disk.
  lws.max_http_body = config.max_body_bytes;
  lws.body_timeout = config.body_timeout;
  lws.keepalive_timeout = config.http_keepalive_timeout;
  lws.max_buffered_bytes = config.max_buffered_bytes;
  lws.max_buffered_bytes_per_address = config.max_buffered_bytes_per_address;
  lws.max_queued_bytes = config.max_queued_bytes;
  lws.tls_cert_file = config.tls.cert_file;
  lws.tls_key_file = config.tls.key_file;
  if (config.tls.redirect_port != 0) lws.tls_redirect_port = config.tls.redirect_port;
  auto transport = realtime::LwsTransport::create(lws);
  // bad_request: the TLS files (the message names which and why).
  if (!transport.ok() && transport.status().code() == realtime::StatusCode::bad_request)
    return fail(transport.status().message());
  if (!transport.ok())
    return fail("cannot listen on " + config.host + ":" + std::to_string(config.port) + ": " + transport.status().message());
  realtime::LwsTransport& t = **transport;

  std::unique_ptr<realtime::Store> store;
  std::string store_desc = "memory";
  if (config.store == "sqlite") {
    realtime::SqliteStoreOptions so;
    so.path = (std::filesystem::path(config.data_dir) / "chatd.db").string();
    so.synchronous = config.sqlite_sync == "normal" ? realtime::SqliteSync::normal : realtime::SqliteSync::full;
    so.reader_threads = config.sqlite_readers;
    so.search_timeout = config.search_timeout;
    auto opened = realtime::open_sqlite_store(so, t);
    if (!opened.ok()) return fail("cannot open the database: " + opened.status().message());
    store = std::move(opened).value();
    store_desc = so.path;
  } else if (config.store == "postgres") {
    // --- PostgreSQL store (issue 12): shared by every chatd on the database ---
    realtime::PostgresStoreOptions po;
    po.conninfo = config.pg.url;
    po.readers = config.pg.readers;
    po.max_batch = config.pg.max_batch;
    po.connect_timeout = config.pg.connect_timeout;
    po.request_timeout = config.pg.request_timeout;
    po.start_timeout = config.pg.start_timeout;
    po.synchronous_commit = config.pg.synchronous_commit;
    po.on_health_change = [&log](const realtime::Status& s) {
      if (s.ok()) log.info("store reachable again");
      else log.warn("store unreachable: calls fail with unavailable until it is back", {{"cause", s.message()}});
    };
    // Never the URL itself: it may carry the password.
    store_desc = "postgres " + realtime::postgres_describe(config.pg.url);
    log.info("connecting to PostgreSQL", {{"server", realtime::postgres_describe(config.pg.url)}});
    auto opened = realtime::open_postgres_store(po, t);
    if (!opened.ok()) return fail("cannot open the database: " + opened.status().message());
    store = std::move(opened).value();
  } else {
    store = realtime::make_memory_store(t);
  }

  realtime::SystemClock clock;
  realtime::socketio::Options sio;
  sio.connect_timeout = config.connect_timeout;
  // Tokens (jwt_setup.h); SIGHUP re-reads --jwt-public-key (below).
  auto jwt = chatd::make_jwt(config, t, clock, log);
  if (!jwt.ok()) return fail(jwt.status().message());
  realtime::JwtAuthenticator& auth = *jwt->auth;
  int exit_code = 0;
  {
    // The server sees the transport through ConnectionStats, so /metrics
    // can report send queues and too_slow closes. Destroyed in reverse
    // order at the end of this block, each handler before the transport it
    // is set on (transport.h): the Server detaches from ConnectionStats,
    // ConnectionStats from `t`, and `t` goes last, after the store closed.
    chatd::ConnectionStats connections(t);
    realtime::socketio::Server io(connections, sio);
    io.set_authenticator(&auth);
    realtime::ChatOptions chat_options;
    chat_options.max_text_chars = config.max_text_chars;
    chat_options.replay_limit = config.replay_limit;
    // An answer must fit the queue with room to spare (the queue may hold
    // other traffic, and backpressure starts at half of it).
    chat_options.max_answer_bytes = std::min(config.max_answer_bytes, config.max_queued_bytes / 4);
    chat_options.session_max = std::chrono::minutes(config.session_max_minutes);
    chat_options.session_end_roles = config.session_end_roles;
    chat_options.join_token_ttl = std::chrono::seconds(config.join_token_ttl_seconds);
    chat_options.room_create_quota = config.room_create_quota;
    chat_options.room_create_period = std::chrono::seconds(config.room_create_period_seconds);
    chat_options.max_members_per_create = config.max_create_members;
    chat_options.max_members_per_room = config.max_room_members;
    chat_options.max_sockets_per_user = config.max_sockets_per_user;
    chat_options.room_cache_bytes = config.room_cache_bytes;
    chat_options.name_cache_bytes = config.name_cache_bytes;
    chat_options.message_rate = config.message_rate;
    chat_options.typing_rate = config.typing_rate;
    chat_options.rtc_rate = config.rtc_rate;
    // Attachment files: their own worker thread, and an observer of the
    // chat service (declared first: it must outlive the service).
    realtime::BlockingWorker worker(t);
    chatd::AttachmentOptions files;
    files.dir = std::filesystem::path(config.data_dir) / "attachments";
    files.max_bytes = config.max_attachment_bytes;
    files.types = config.attachment_types;
    files.quota_bytes = config.attachment_quota_bytes;
    files.min_free_bytes = config.min_free_bytes;
    files.unclaimed_ttl = std::chrono::minutes(config.attachment_unclaimed_minutes);
    files.upload_timeout = config.upload_timeout;
    // With PostgreSQL, attachments live in its database: every node of a cluster serves them.
    std::unique_ptr<realtime::AttachmentStore> shared_files;
    if (config.store == "postgres") {
      realtime::PostgresAttachmentStoreOptions ao;
      ao.pg.conninfo = config.pg.url;
      ao.pg.connect_timeout = config.pg.connect_timeout;
      ao.pg.request_timeout = config.pg.request_timeout;
      ao.pg.start_timeout = config.pg.start_timeout;
      auto opened = realtime::open_postgres_attachment_store(ao, t);
      if (!opened.ok()) return fail("attachments: " + opened.status().message());
      shared_files = std::move(opened).value();
      files.shared = shared_files.get();
    }
    chatd::Attachments attachments(files, worker, t, *store, log);
    if (auto s = attachments.open(); !s.ok()) return fail("attachments: " + s.message());
    // The cluster's bus (issue 13): declared before the service, which
    // must not outlive it.
    std::unique_ptr<realtime::Bus> bus;
    realtime::ClusterOptions cluster;
    std::string bus_desc;  // host:port, never the password
    if (!config.cluster.bus.empty()) {
      auto redis = realtime::parse_redis_url(config.cluster.bus);
      if (!redis.ok()) return fail("--bus: " + redis.status().message());
      bus_desc = redis->host;
      bus_desc += ':';
      bus_desc += std::to_string(redis->port);
      bus = std::make_unique<realtime::RedisBus>(*redis);
      cluster.node_id = config.cluster.node_id.empty() ? realtime::random_token(6) : config.cluster.node_id;
      cluster.node_timeout = config.cluster.node_timeout;
      cluster.advertise = config.cluster.advertise;
      if (cluster.advertise.empty()) {
        cluster.advertise = t.tls_certificate() ? "https://" : "http://";
        cluster.advertise += config.host;
        cluster.advertise += ':';
        cluster.advertise += std::to_string(t.port());
      }
    }
    realtime::ChatService chat(io.of("/"), *store, t, clock, chat_options);
    chat.set_message_observer(&attachments);
    if (bus) {
      chat.join_cluster(*bus, cluster);
      // The bus's own state changes, for the log (the service resyncs by itself).
      bus->watch_state(t, [&log](realtime::Bus::State s) {
        if (s == realtime::Bus::State::up) log.info("bus connected: cross-node delivery on");
        else log.warn("bus unreachable: serving this node's users only until it is back");
      });
    }
    chatd::RestApi api(chatd::RestContext{config, t, io, chat, *store, auth, attachments, log, connections, bus.get()});
    api.install();
    if (!config.static_dir.empty()) {
      if (auto s = t.serve_static("/", config.static_dir); !s.ok()) return fail("--static-dir: " + s.message());
      // socket.io-client's browser bundle (copied into the web dist at build
      // time) at /socket.io/socket.io.js, where Node's socket.io server has
      // it. Read once here: the loop never waits on the disk for it. The
      // Engine.IO endpoint is the exact path /socket.io/, so these win.
      auto bundle = std::make_shared<const std::string>(
          read_whole_file(std::filesystem::path(config.static_dir) / "vendor" / "socket.io.min.js"));
      if (!bundle->empty()) {
        auto serve = [bundle](const realtime::HttpRequest&, realtime::HttpResponder respond) {
          realtime::HttpResponse r;
          r.content_type = "application/javascript; charset=utf-8";
          r.headers["cache-control"] = "public, max-age=3600";
          r.body = *bundle;
          respond(std::move(r));
        };
        t.add_route("GET", "/socket.io/socket.io.js", serve);
        t.add_route("GET", "/socket.io/socket.io.min.js", serve);
      } else {
        log.warn("no socket.io-client bundle in --static-dir (vendor/socket.io.min.js): /socket.io/socket.io.js is not served");
      }
    }

    // SIGHUP reload steps, in order: each applies one part of the reread
    // configuration and names the settings it covers (a change to any other
    // setting is reported as needing a restart).
    realtime::BlockingWorker reload_io(t, 1);  // key files read on SIGHUP
    auto reloader = std::make_shared<chatd::Reloader>(*parsed, log);
    reloader->add("log-level", {"log-level"}, [&log](const chatd::Config& c) {
      log.set_level(chatd::Log::parse(c.log_level));
      return realtime::Status();
    });
    reloader->add("log-format", {"log-format"}, [&log](const chatd::Config& c) {
      log.set_format(*chatd::Log::parse_format(c.log_format));
      return realtime::Status();
    });
    if (t.tls_certificate()) {
      // The same files read again (a new path needs a restart) on the
      // transport's file thread; the outcome is logged when it is known.
      reloader->add("tls-certificate", {}, [&t, &log](const chatd::Config&) {
        reload_tls(t, log);
        return realtime::Status();
      });
    }
    if (!config.jwt.public_key_file.empty()) {
      // Read on a worker, not the loop; the authenticator swaps keys from
      // any thread, and reload_jwt_keys logs the outcome.
      reloader->add("jwt-public-key", {"jwt-public-key"}, [&reload_io, &auth, &log](const chatd::Config& c) {
        const bool queued = reload_io.run([c, &auth, &log] {
          (void)chatd::reload_jwt_keys(c, auth, log);
          return std::function<void()>([] {});
        });
        return queued ? realtime::Status() : realtime::Status::unavailable("a key reload is already queued");
      });
    }
    // The configuration (the --config file) is read on the listener's
    // thread; the loop only applies it. The loop may run a posted reload
    // after this block ended; the weak pointer makes that a no-op.
    chatd::HangupListener hangups([&t, argc, argv, weak = std::weak_ptr<chatd::Reloader>(reloader)] {
      auto reparsed = std::make_shared<realtime::Result<chatd::ParsedConfig>>(chatd::parse_config(argc, argv));
      t.post([weak, reparsed] {
        if (auto r = weak.lock()) r->reload(*reparsed);
      });
    });

    attachments.start();
    g_transport = &t;
    std::signal(SIGTERM, on_signal);
    std::signal(SIGINT, on_signal);
    log.info("chatd listening", {{"host", config.host}, {"port", std::to_string(t.port())}, {"store", store_desc},
                                 {"dev", config.dev ? "true" : "false"}, {"tls", t.tls_certificate() ? "on" : "off"},
                                 {"redirect_port", std::to_string(t.redirect_port())},
                                 {"node", bus ? cluster.node_id : std::string("-")}});
    if (bus)
      log.info("cluster", {{"node", cluster.node_id}, {"advertise", cluster.advertise},
                           {"bus", bus_desc},
                           {"node_timeout_s", std::to_string(config.cluster.node_timeout.count())}});
    if (auto cert = t.tls_certificate())
      log.info("TLS certificate", {{"subject", cert->subject}, {"serial", cert->serial}, {"not_after", cert->not_after}});
    t.run();
    g_transport = nullptr;
    log.info("stopping: connections closed, flushing the store");
  }
  store->close();
  log.info("stopped");
  return exit_code;
}
