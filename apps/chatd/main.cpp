// chatd: the standalone chat and call-signalling server.
//
// Wires librealtime together: the libwebsockets transport (Socket.IO on
// /socket.io/, REST on /api, static files), the SQLite, PostgreSQL or
// memory store, the JWT authenticator and the chat service. SIGTERM/SIGINT stop the
// loop; the store is flushed and closed before exit 0. SIGHUP reloads what
// can change without a restart (reload.h; the steps are listed below).
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <thread>
#include <vector>

#include "realtime/acceptor.h"
#include "realtime/base64.h"
#include "realtime/in_process_bus.h"
#include "realtime/local_first_bus.h"
#include "realtime/store_thread.h"
#include "server_loop.h"
#include "loop_routing.h"
#include "listener.h"
#include "node_directory.h"
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

// Set before the signal handlers, cleared after every loop returned.
std::vector<realtime::LwsTransport*> g_transports;
void on_signal(int) {
  for (auto* t : g_transports) t->stop();
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

  // --threads: that many loops, each a transport with its own share of the
  // connections. With more than one, an Acceptor owns the port and hands
  // each connection to the loop that holds its Engine.IO session.
  const std::size_t loops = chatd::resolve_threads(config.threads);
  auto listening = chatd::listen(config, loops);
  if (!listening.ok()) return fail(listening.status().message());
  chatd::Listener& listener = *listening;
  auto& transports = listener.transports;
  auto& acceptor = listener.acceptor;
  const auto& directory = listener.directory;
  const bool clustered = !config.cluster.bus.empty();
  const std::string& advertise = listener.advertise;
  const std::string& own_tag = listener.own_tag;
  realtime::LwsTransport& t = *transports[0];
  const int port = listener.port;

  // With several loops the store is called from a thread of its own and
  // each loop has a view of it (store_thread.h); with one, directly.
  std::unique_ptr<realtime::StoreThread> store_thread;
  if (loops > 1) store_thread = std::make_unique<realtime::StoreThread>();
  realtime::Executor& completions = store_thread ? static_cast<realtime::Executor&>(*store_thread) : t;
  std::unique_ptr<realtime::Store> store;
  std::string store_desc = "memory";
  if (config.store == "sqlite") {
    realtime::SqliteStoreOptions so;
    so.path = (std::filesystem::path(config.data_dir) / "chatd.db").string();
    so.synchronous = config.sqlite_sync == "normal" ? realtime::SqliteSync::normal : realtime::SqliteSync::full;
    so.reader_threads = config.sqlite_readers;
    so.search_timeout = config.search_timeout;
    auto opened = realtime::open_sqlite_store(so, completions);
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
    auto opened = realtime::open_postgres_store(po, completions);
    if (!opened.ok()) return fail("cannot open the database: " + opened.status().message());
    store = std::move(opened).value();
  } else {
    store = realtime::make_memory_store(completions);
  }
  // One Store per loop: the store itself, or a view of it on each loop.
  std::vector<std::unique_ptr<realtime::Store>> views;
  realtime::Store* store_of_loop0 = store.get();
  if (store_thread) {
    store_thread->serve(std::move(store));
    for (auto& tr : transports) views.push_back(store_thread->view(*tr));
    store_of_loop0 = views[0].get();
  }
  auto store_for = [&](std::size_t i) -> realtime::Store& { return store_thread ? *views[i] : *store_of_loop0; };

  realtime::SystemClock clock;
  int exit_code = 0;
  {
    // Attachment files: their own worker thread, and an observer of the
    // chat services (declared first: it must outlive them). They live on
    // loop 0; with several loops the Acceptor sends their routes there.
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
      // One connection: a file's ref updates apply in the order they were
      // made (a quick delete's removal must not overtake the settling of
      // the same message's ref, which would leave the file behind).
      ao.connections = 1;
      auto opened = realtime::open_postgres_attachment_store(ao, t);
      if (!opened.ok()) return fail("attachments: " + opened.status().message());
      shared_files = std::move(opened).value();
      files.shared = shared_files.get();
    }
    chatd::Attachments attachments(files, worker, t, store_for(0), log);
    if (auto s = attachments.open(); !s.ok()) return fail("attachments: " + s.message());
    // Notifications for members who are away (issue 16): one for every
    // loop, declared before the services, which must not outlive it.
    std::unique_ptr<chatd::WebPushSetup> push;  // --vapid-key; outlives its outbox
    chatd::Notifications notifications;
    {
      chatd::OutboxOptions ob;
      ob.window = config.notify.coalesce;
      ob.max_queue = config.notify.max_queue;
      ob.attempts = config.notify.attempts;
      ob.retry_base = config.notify.retry_base;
      ob.senders = config.notify.senders;
      if (!config.notify.webhook_url.empty()) {
        notifications.add(std::make_unique<chatd::Outbox>(
            "webhook", ob,
            chatd::webhook_delivery({config.notify.webhook_url, config.notify.webhook_secret, config.notify.webhook_timeout},
                                    log),
            log));
        // The origin only: a URL may carry credentials or a token in its path.
        log.info("webhook notifications on",
                 {{"to", realtime::web_push_origin(config.notify.webhook_url, true).value_or("(hidden)")}});
      }
      if (!config.notify.vapid_key_file.empty()) {
        const std::string pem = read_whole_file(config.notify.vapid_key_file);
        auto key = realtime::VapidKey::from_pem(pem);
        if (!key.ok()) return fail("--vapid-key " + config.notify.vapid_key_file + ": " + key.status().message());
        // The subscriptions live beside the rooms: in PostgreSQL every node sees them.
        realtime::Result<std::unique_ptr<realtime::PushSubscriptionStore>> subs = realtime::make_memory_push_subscriptions();
        if (config.store == "sqlite")
          subs = realtime::open_sqlite_push_subscriptions((std::filesystem::path(config.data_dir) / "chatd.db").string());
        else if (config.store == "postgres")
          subs = realtime::open_postgres_push_subscriptions(config.pg.url);
        if (!subs.ok()) return fail("push subscriptions: " + subs.status().message());
        push = std::make_unique<chatd::WebPushSetup>(chatd::WebPushSetup{std::move(key).value(), config.notify.vapid_subject,
                                                                         std::move(subs).value(),
                                                                         config.notify.push_max_subscriptions,
                                                                         config.notify.push_ttl});
        push->allow_http = config.notify.push_allow_http;
        push->timeout = config.notify.push_timeout;
        notifications.add(std::make_unique<chatd::Outbox>("webpush", ob, chatd::web_push_delivery(*push, log), log));
        log.info("Web Push notifications on", {{"subject", config.notify.vapid_subject}});
        if (push->allow_http) log.warn("--push-allow-http: http:// push endpoints accepted (tests only)");
      }
    }
    // The cluster's bus (issue 13), or the loops' own (--threads): declared
    // before the services, which must not outlive it.
    std::unique_ptr<realtime::Bus> network_bus;  // Redis, under a LocalFirstBus when there are several loops
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
      if (loops > 1) {
        // The loops hear each other directly, Redis outage or not (local_first_bus.h).
        network_bus = std::move(bus);
        bus = std::make_unique<realtime::LocalFirstBus>(*network_bus);
      }
    } else if (loops > 1) {
      bus = std::make_unique<realtime::InProcessBus>();
      bus_desc = "in-process";
    }
    if (bus) {
      cluster.node_id = config.cluster.node_id.empty() ? realtime::random_token(6) : config.cluster.node_id;
      cluster.node_timeout = config.cluster.node_timeout;
      cluster.advertise = advertise;
    }
    chatd::SharedParts shared{config, log, clock, attachments, t, bus.get(), cluster, loops, nullptr, {}, {}};
    if (!notifications.empty()) shared.notifications = &notifications;
    shared.push = push.get();
    if (acceptor && clustered) shared.routable_nodes = [directory] { return directory->size(); };
    if (!config.static_dir.empty()) {
      // Read once here: the loop never waits on the disk for it.
      shared.socketio_bundle = std::make_shared<const std::string>(
          read_whole_file(std::filesystem::path(config.static_dir) / "vendor" / "socket.io.min.js"));
      if (shared.socketio_bundle->empty())
        log.warn("no socket.io-client bundle in --static-dir (vendor/socket.io.min.js): /socket.io/socket.io.js is not served");
    }
    std::vector<std::unique_ptr<chatd::ServerLoop>> stacks;
    if (loops > 1) shared.gather = chatd::gather_figures(stacks);
    for (std::size_t i = 0; i < loops; ++i) {
      auto made = chatd::ServerLoop::create(shared, i, *transports[i], store_for(i));
      if (!made.ok()) return fail(made.status().message());
      stacks.push_back(std::move(made).value());
    }
    if (bus && !config.cluster.bus.empty()) {
      // The bus's own state changes, for the log (the service resyncs by itself).
      bus->watch_state(t, [&log](realtime::Bus::State s) {
        if (s == realtime::Bus::State::up) log.info("bus connected: cross-node delivery on");
        else log.warn("bus unreachable: serving this node's users only until it is back");
      });
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
      // Read on a worker, not the loop; the authenticators swap keys from
      // any thread, and reload_jwt_keys logs the outcome.
      std::vector<realtime::JwtAuthenticator*> auths;
      for (auto& s : stacks) auths.push_back(&s->auth());
      reloader->add("jwt-public-key", {"jwt-public-key"}, [&reload_io, auths, &log](const chatd::Config& c) {
        const bool queued = reload_io.run([c, auths, &log] {
          for (auto* auth : auths) (void)chatd::reload_jwt_keys(c, *auth, log);
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
    for (auto& tr : transports) g_transports.push_back(tr.get());
    std::signal(SIGTERM, on_signal);
    std::signal(SIGINT, on_signal);
    const std::string node_desc = bus ? cluster.node_id : std::string("-");
    log.info("chatd listening", {{"host", config.host}, {"port", std::to_string(port)}, {"store", store_desc},
                                 {"dev", config.dev ? "true" : "false"}, {"tls", t.tls_certificate() ? "on" : "off"},
                                 {"redirect_port", std::to_string(t.redirect_port())},
                                 {"node", node_desc}, {"threads", std::to_string(loops)}});
    if (!config.cluster.bus.empty())
      log.info("cluster", {{"node", cluster.node_id}, {"advertise", cluster.advertise},
                           {"bus", bus_desc},
                           {"node_timeout_s", std::to_string(config.cluster.node_timeout.count())}});
    if (auto cert = t.tls_certificate())
      log.info("TLS certificate", {{"subject", cert->subject}, {"serial", cert->serial}, {"not_after", cert->not_after}});
    // Loop 0 runs on this thread, the others on their own; a signal stops them all.
    // The directory of the other nodes, for the acceptor's relays.
    realtime::BlockingWorker resolver(t, 4);
    std::unique_ptr<chatd::DirectoryRefresh> refresh;
    if (acceptor && clustered)
      refresh = std::make_unique<chatd::DirectoryRefresh>(
          t, resolver, [&stacks] { return stacks[0]->chat().cluster_nodes(); }, *directory, own_tag);
    std::vector<std::thread> threads;
    for (std::size_t i = 1; i < loops; ++i) threads.emplace_back([&transports, i] { transports[i]->run(); });
    t.run();
    for (auto* tr : g_transports) tr->stop();
    acceptor.reset();  // no new connection is handed to a stopping loop
    for (auto& th : threads) th.join();
    g_transports.clear();
    log.info("stopping: connections closed, flushing the store");
  }
  views.clear();
  if (store_thread) {
    store_thread->close();
    store_thread.reset();
  } else {
    store->close();
  }
  log.info("stopped");
  return exit_code;
}
