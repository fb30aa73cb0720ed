// ServerLoop (server_loop.h): builds one loop's stack in the order the
// lifetimes need (transport first, then the Socket.IO server on it, the
// chat service, the REST API) and tears it down the other way round.
#include "server_loop.h"

namespace chatd {

// The attachments live on one loop; the chat services of the others tell
// them about messages through this, on that loop, and hear the answer back
// on their own.
class ServerLoop::ObserverRelay final : public realtime::MessageObserver {
 public:
  ObserverRelay(MessageObserver& target, realtime::EventLoop& target_loop, realtime::EventLoop& here)
      : target_(target), target_loop_(target_loop), here_(here) {}

  void before_store(const realtime::NewMessage& message, std::function<void(realtime::Status)> proceed) override {
    auto& here = here_;
    auto& target = target_;
    target_loop_.post([&target, &here, message, proceed = std::move(proceed)] {
      target.before_store(message, [&here, proceed](realtime::Status s) {
        here.post([proceed, s = std::move(s)] { proceed(s); });
      });
    });
  }
  void after_store(const realtime::NewMessage& message, const realtime::Result<realtime::Appended>& result) override {
    auto& target = target_;
    target_loop_.post([&target, message, result] { target.after_store(message, result); });
  }
  void deleted(const realtime::Message& before) override {
    auto& target = target_;
    target_loop_.post([&target, before] { target.deleted(before); });
  }

 private:
  MessageObserver& target_;
  realtime::EventLoop& target_loop_;
  realtime::EventLoop& here_;
};

GatherFigures gather_figures(const std::vector<std::unique_ptr<ServerLoop>>& loops) {
  return [&loops](realtime::EventLoop& here, std::function<void(std::vector<LoopFigures>)> done) {
    // Each answer comes back to the asking loop, which counts them: no lock.
    struct Pending {
      std::vector<LoopFigures> got;
      std::size_t left;
      std::function<void(std::vector<LoopFigures>)> done;
    };
    auto p = std::make_shared<Pending>(Pending{std::vector<LoopFigures>(loops.size()), loops.size(), std::move(done)});
    for (std::size_t i = 0; i < loops.size(); ++i) {
      const ServerLoop* loop = loops[i].get();
      loops[i]->transport().post([p, &here, loop, i] {
        here.post([p, i, f = loop->figures()]() mutable {
          p->got[i] = std::move(f);
          if (--p->left == 0) p->done(std::move(p->got));
        });
      });
    }
  };
}

realtime::ChatOptions chat_options(const Config& config) {
  realtime::ChatOptions o;
  o.max_text_chars = config.max_text_chars;
  o.replay_limit = config.replay_limit;
  // An answer must fit the queue with room to spare (the queue may hold
  // other traffic, and backpressure starts at half of it).
  o.max_answer_bytes = std::min(config.max_answer_bytes, config.max_queued_bytes / 4);
  o.session_max = std::chrono::minutes(config.session_max_minutes);
  o.session_end_roles = config.session_end_roles;
  o.join_token_ttl = std::chrono::seconds(config.join_token_ttl_seconds);
  o.room_create_quota = config.room_create_quota;
  o.room_create_period = std::chrono::seconds(config.room_create_period_seconds);
  o.max_members_per_create = config.max_create_members;
  o.max_members_per_room = config.max_room_members;
  o.max_sockets_per_user = config.max_sockets_per_user;
  o.room_cache_bytes = config.room_cache_bytes;
  o.name_cache_bytes = config.name_cache_bytes;
  o.message_rate = config.message_rate;
  o.typing_rate = config.typing_rate;
  o.rtc_rate = config.rtc_rate;
  o.rtc_stats_rate = config.rtc_stats_rate;
  o.quality_rooms = config.call_quality_rooms;
  o.quality_participants = config.call_quality_participants;
  return o;
}

realtime::Result<std::unique_ptr<ServerLoop>> ServerLoop::create(SharedParts& shared, std::size_t index,
                                                                 realtime::LwsTransport& transport,
                                                                 realtime::Store& store) {
  // Tokens (jwt_setup.h): each loop checks its own, with its own key cache.
  auto jwt = make_jwt(shared.config, transport, shared.clock, shared.log);
  if (!jwt.ok()) return jwt.status();
  std::unique_ptr<ServerLoop> loop(new ServerLoop(shared, transport, store, std::move(jwt).value()));
  auto& chat = *loop->chat_;
  if (&shared.attachments_loop == &transport) {
    chat.set_message_observer(&shared.attachments);
  } else {
    loop->relay_ = std::make_unique<ObserverRelay>(shared.attachments, shared.attachments_loop, transport);
    chat.set_message_observer(loop->relay_.get());
  }
  if (shared.bus != nullptr) {
    realtime::ClusterOptions cluster = shared.cluster;
    if (shared.loops > 1) {
      cluster.node_id += '-';
      cluster.node_id += std::to_string(index);
    }
    loop->node_id_ = cluster.node_id;
    chat.join_cluster(*shared.bus, cluster);
  }
  loop->api_ = std::make_unique<RestApi>(RestContext{shared.config, transport, loop->io_, chat, store, *loop->jwt_.auth,
                                                     shared.attachments, shared.log, loop->connections_, shared.bus,
                                                     shared.gather, shared.routable_nodes, shared.notifications, shared.push});
  loop->api_->install();
  if (!shared.config.static_dir.empty()) {
    if (auto s = transport.serve_static("/", shared.config.static_dir); !s.ok())
      return realtime::Status::bad_request("--static-dir: " + s.message());
    // socket.io-client's browser bundle at /socket.io/socket.io.js, where
    // Node's socket.io server has it. The Engine.IO endpoint is the exact
    // path /socket.io/, so these win.
    if (shared.socketio_bundle && !shared.socketio_bundle->empty()) {
      auto serve = [bundle = shared.socketio_bundle](const realtime::HttpRequest&, realtime::HttpResponder respond) {
        realtime::HttpResponse r;
        r.content_type = "application/javascript; charset=utf-8";
        r.headers["cache-control"] = "public, max-age=3600";
        r.body = *bundle;
        respond(std::move(r));
      };
      transport.add_route("GET", "/socket.io/socket.io.js", serve);
      transport.add_route("GET", "/socket.io/socket.io.min.js", serve);
    }
  }
  return loop;
}

ServerLoop::ServerLoop(SharedParts& shared, realtime::LwsTransport& transport, realtime::Store& store, JwtSetup jwt)
    : transport_(transport),
      jwt_(std::move(jwt)),
      connections_(transport),
      io_(connections_, [&shared] {
        realtime::socketio::Options sio;
        sio.connect_timeout = shared.config.connect_timeout;
        return sio;
      }()) {
  io_.set_authenticator(jwt_.auth.get());
  realtime::ChatOptions options = chat_options(shared.config);
  options.notifier = shared.notifications;
  chat_ = std::make_unique<realtime::ChatService>(io_.of("/"), store, transport, shared.clock, std::move(options));
}

// Members go in reverse: the REST API and the chat service before the
// Socket.IO server, which detaches from ConnectionStats, which detaches
// from the transport (transport.h).
ServerLoop::~ServerLoop() = default;

}  // namespace chatd
