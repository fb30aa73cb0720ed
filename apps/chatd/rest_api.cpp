// REST routes: every route with a caller authenticates it (API key or JWT)
// and takes a token from its rate bucket on the request's headers, before
// the body is read; then the request becomes a chat operation's payload and
// its answer an HTTP status and body. Uploads are spooled to disk by the
// transport and stored by Attachments; downloads are streamed from disk, or
// (a cluster's shared store) read whole from the store.
#include "rest_api.h"

#include <optional>
#include <unordered_map>

#include "realtime/base64.h"
#include "realtime/digest.h"
#include "realtime/status_json.h"
#include "realtime/token_bucket.h"

namespace chatd {
namespace {

using realtime::Json;
using realtime::Result;
using realtime::Status;
using realtime::HttpDecision;
using realtime::HttpRequest;
using realtime::HttpResponse;
using realtime::HttpResponder;
using realtime::RouteOptions;

// A multipart body around a file of the largest size: boundaries and headers.
constexpr std::size_t kMultipartSlack = 16 * 1024;


HttpResponse refusal_response(const UploadRefusal& r) {
  return json_response(r.http_status, Json::object({{"error", Json::object({{"code", r.code}, {"message", r.message}})}}));
}

// The caller's own rate bucket: the API key's and users' are kept apart
// (a user id can be any string, so no user id may name the service's).
struct RateBuckets {
  static constexpr std::size_t kMaxUsers = 100'000;
  std::optional<realtime::TokenBucket> service;
  std::unordered_map<std::string, realtime::TokenBucket> users;
};

}  // namespace

realtime::HttpResponse json_response(int status, const realtime::Json& body) {
  realtime::HttpResponse r;
  r.status = status;
  r.body = body.dump();
  return r;
}

realtime::HttpResponse error_response(const realtime::Status& s) {
  return json_response(realtime::http_status(s.code()), realtime::Json::object({{"error", realtime::error_json(s)}}));
}

struct RestApi::Impl {
  explicit Impl(RestContext c) : ctx(c) {}
  LoopFigures figures() const;
  RestContext ctx;
  RateBuckets buckets;
  std::unique_ptr<PushRoutes> push_routes;  // with --vapid-key

  // Who is calling, or the response that refuses them.
  Result<realtime::Actor> authenticate(const HttpRequest& req) {
    auto h = req.headers.find("authorization");
    auto is_bearer = [](std::string_view v) {  // the scheme is case-insensitive (RFC 7235)
      return v.size() > 7 && std::equal(v.begin(), v.begin() + 7, "bearer ", [](char a, char b) {
               return std::tolower(static_cast<unsigned char>(a)) == b;
             });
    };
    if (h == req.headers.end() || !is_bearer(h->second))
      return Status::unauthorized("send Authorization: Bearer <token or API key>");
    const std::string_view token = std::string_view(h->second).substr(7);
    if (!ctx.config.api_key.empty() && realtime::constant_time_equal(token, ctx.config.api_key)) {
      realtime::Actor a;
      a.service = true;
      return a;
    }
    auto id = ctx.auth.verify(token);
    if (!id.ok()) return id.status();
    if (auto why = ctx.chat.banned(id->user_id)) return Status::forbidden(*why);
    return realtime::Actor{std::move(id).value(), false};
  }

  bool allow(const realtime::Actor& a) {
    const auto now = ctx.transport.now();
    const realtime::RateLimit& limit = ctx.config.rest_rate;
    if (a.service) {
      if (!buckets.service) buckets.service.emplace(limit.per_second, limit.burst, now);
      return buckets.service->take(now);
    }
    auto& users = buckets.users;
    if (users.size() >= RateBuckets::kMaxUsers) users.clear();  // bound memory; a reset only forgives
    auto it = users.find(a.identity.user_id);
    if (it == users.end()) it = users.emplace(a.identity.user_id, realtime::TokenBucket(limit.per_second, limit.burst, now)).first;
    return it->second.take(now);
  }

  // Every route that has a caller is added through here. On the headers,
  // before a byte of the body is read, the caller is authenticated and
  // rate-limited, then `check` (if any) may refuse too. The handler
  // authenticates again (an HMAC; nothing is carried over from the
  // admission) and gets the caller.
  using CallerHandler = std::function<void(realtime::Actor, const HttpRequest&, HttpResponder)>;
  using CallerCheck = std::function<void(const realtime::Actor&, const HttpRequest&, HttpDecision)>;
  void add(std::string method, std::string pattern, CallerHandler handler, RouteOptions options = {},
           CallerCheck check = nullptr) {
    options.admit = [this, check = std::move(check)](const HttpRequest& head, HttpDecision decide) {
      auto actor = authenticate(head);
      if (!actor.ok()) return decide(error_response(actor.status()));
      if (!allow(*actor)) return decide(error_response(Status::rate_limited("too many requests")));
      if (check) return check(*actor, head, std::move(decide));
      decide(std::nullopt);
    };
    ctx.transport.add_route(std::move(method), std::move(pattern), [this, handler = std::move(handler)](const HttpRequest& req, HttpResponder respond) {
      auto actor = authenticate(req);
      if (!actor.ok()) return respond(error_response(actor.status()));
      handler(std::move(actor).value(), req, std::move(respond));
    }, std::move(options));
  }

  Result<Json> body_json(const HttpRequest& req) {
    if (req.body.size() > ctx.config.max_body_bytes) return Status::payload_too_large("request body too large");
    if (req.body.empty()) return Json::object();
    auto j = Json::parse(req.body, 32);
    if (!j.ok()) return j.status();
    if (!j->is_object()) return Status::bad_request("the body must be a JSON object");
    return j;
  }

  // A service call names the user it acts for in `field` (query or body).
  static void act_for(realtime::Actor& a, const HttpRequest& req, const Json& body, std::string_view field) {
    if (!a.service) return;
    std::string user;
    if (auto q = req.query.find(std::string(field)); q != req.query.end()) user = q->second;
    if (body[field].is_string()) user = body[field].as_string();
    a.identity.user_id = user;
    a.identity.name = user;
    a.identity.role = "user";
  }

  // The common shape of a JSON route (the caller already checked): build
  // the payload, run the chat operation, answer with `created` on success.
  using Build = std::function<Result<Json>(realtime::Actor&, const HttpRequest&, Json& body)>;
  // Routes under /api/rooms/{id} name their room in the path: route()
  // validates it and sets the payload's `room`.
  enum class RoomInPath { no, yes };
  CallerHandler route(std::string event, int created, Build build, RoomInPath in_path = RoomInPath::no) {
    return [this, event, created, build, in_path](realtime::Actor actor, const HttpRequest& req, HttpResponder respond) {
      auto body = body_json(req);
      if (!body.ok()) return respond(error_response(body.status()));
      std::string room;
      if (in_path == RoomInPath::yes) {
        auto id = room_param(req);
        if (!id.ok()) return respond(error_response(id.status()));
        room = *id;
      }
      auto payload = build(actor, req, *body);
      if (!payload.ok()) return respond(error_response(payload.status()));
      if (in_path == RoomInPath::yes) payload->set("room", room);
      ctx.chat.call(actor, event, *payload, [respond, created](Result<Json> r) {
        if (!r.ok()) return respond(error_response(r.status()));
        Json out = std::move(r).value();
        int status = created;
        // A retried send or a reused direct room is not a creation.
        for (const char* flag : {"duplicate", "existing"}) {
          if (out.find(flag)) {
            status = 200;
            auto& o = out.as_object();
            std::erase_if(o, [&](const auto& m) { return m.first == flag; });
          }
        }
        respond(json_response(status, out));
      });
    };
  }

  static Status query_int(const HttpRequest& req, const char* name, Json& payload) {
    auto it = req.query.find(name);
    if (it == req.query.end() || it->second.empty()) return {};
    try {
      std::size_t used = 0;
      long long v = std::stoll(it->second, &used);
      if (used != it->second.size()) throw std::invalid_argument(name);
      payload.set(name, v);
      return {};
    } catch (const std::exception&) {
      return Status::bad_request(std::string(name) + " must be an integer");
    }
  }

  static Result<std::string> room_param(const HttpRequest& req) {
    const std::string& id = req.params.at("id");
    if (!realtime::is_valid_room_id(id)) return Status::bad_request("invalid room id");
    return id;
  }

  void install();
  void install_attachments();
  void install_misc();
};

RestApi::RestApi(RestContext ctx) : impl_(std::make_unique<Impl>(ctx)) {}
RestApi::~RestApi() = default;
void RestApi::install() { impl_->install(); }
LoopFigures RestApi::figures() const { return impl_->figures(); }

LoopFigures RestApi::Impl::figures() const {
  LoopFigures f;
  f.connections = ctx.io.connection_count();
  f.rooms_active = ctx.io.of("/").hub().room_count();
  f.chat = ctx.chat.stats();
  f.queues = ctx.connections.queues();
  f.too_slow = ctx.connections.closed(realtime::CloseReason::too_slow);
  if (ctx.bus) f.cluster = ctx.chat.cluster_stats();
  return f;
}

void RestApi::Impl::install() {
  using A = realtime::Actor;
  using R = const HttpRequest;
  if (ctx.push) {  // Web Push subscriptions (issue 16; web_push_channel.h)
    push_routes = std::make_unique<PushRoutes>(*ctx.push, ctx.transport, ctx.config.max_body_bytes);
    push_routes->install([this](std::string m, std::string p, PushRoutes::Handler h) { add(std::move(m), std::move(p), std::move(h)); });
  }
  constexpr auto kRoom = RoomInPath::yes;
  add("POST", "/api/rooms", route("room:create", 201, [](A&, R&, Json& body) -> Result<Json> { return body; }));
  add("GET", "/api/rooms", route("rooms:list", 200, [](A& a, R& req, Json& body) -> Result<Json> {
    act_for(a, req, body, "userId");
    Json p = Json::object();
    if (auto c = req.query.find("cursor"); c != req.query.end() && !c->second.empty()) p.set("cursor", c->second);
    if (Status s = query_int(req, "limit", p); !s.ok()) return s;
    return p;
  }));
  add("GET", "/api/rooms/{id}", route("room:get", 200, [](A& a, R& req, Json& body) -> Result<Json> {
    act_for(a, req, body, "userId");
    return Json::object();
  }, kRoom));
  add("POST", "/api/rooms/{id}/members", route("member:add", 201, [](A& a, R& req, Json& body) -> Result<Json> {
    if (!a.service) act_for(a, req, body, "by");
    return body;
  }, kRoom));
  add("DELETE", "/api/rooms/{id}/members/{userId}", route("member:remove", 200, [](A&, R& req, Json&) -> Result<Json> {
    return Json::object({{"userId", req.params.at("userId")}});
  }, kRoom));
  add("GET", "/api/rooms/{id}/messages", route("message:history", 200, [](A& a, R& req, Json& body) -> Result<Json> {
    act_for(a, req, body, "userId");
    Json p = Json::object();
    for (const char* n : {"before", "after", "limit"})
      if (Status s = query_int(req, n, p); !s.ok()) return s;
    return p;
  }, kRoom));
  add("POST", "/api/rooms/{id}/messages", route("message:send", 201, [](A& a, R&, Json& body) -> Result<Json> {
    if (a.service) {
      if (!body["senderId"].is_string()) return Status::bad_request("a service publish names senderId");
      a.identity.user_id = body["senderId"].as_string();
      a.identity.name = body["senderName"].is_string() ? body["senderName"].as_string() : a.identity.user_id;
      // A message's role is its sender's room role; a service names no
      // other (senderRole in the body is ignored, as the docs say).
      a.identity.role.clear();
    }
    return body;
  }, kRoom));
  add("PATCH", "/api/messages/{id}", route("message:edit", 200, [](A& a, R& req, Json& body) -> Result<Json> {
    act_for(a, req, body, "userId");
    body.set("id", req.params.at("id"));
    return body;
  }));
  add("DELETE", "/api/messages/{id}", route("message:delete", 200, [](A& a, R& req, Json& body) -> Result<Json> {
    act_for(a, req, body, "userId");
    return Json::object({{"id", req.params.at("id")}});
  }));
  add("POST", "/api/rooms/{id}/read", route("message:read", 200, [](A& a, R& req, Json& body) -> Result<Json> {
    act_for(a, req, body, "userId");
    return body;
  }, kRoom));
  add("GET", "/api/rooms/{id}/presence", route("presence:list", 200, [](A& a, R& req, Json& body) -> Result<Json> {
    act_for(a, req, body, "userId");
    return Json::object();
  }, kRoom));
  add("GET", "/api/rooms/{id}/search", route("message:search", 200, [](A& a, R& req, Json& body) -> Result<Json> {
    act_for(a, req, body, "userId");
    Json p = Json::object();
    if (auto q = req.query.find("q"); q != req.query.end()) p.set("q", q->second);
    if (Status s = query_int(req, "limit", p); !s.ok()) return s;
    return p;
  }, kRoom));
  add("POST", "/api/rooms/{id}/end", route("session:end", 200, [](A& a, R& req, Json& body) -> Result<Json> {
    act_for(a, req, body, "userId");
    return Json::object();
  }, kRoom));
  add("POST", "/api/rooms/{id}/token", route("session:token", 200, [](A& a, R& req, Json& body) -> Result<Json> {
    act_for(a, req, body, "userId");
    return Json::object();
  }, kRoom));
  add("GET", "/api/rooms/{id}/quality", route("rtc:quality", 200, [](A&, R&, Json&) -> Result<Json> {
    return Json::object();
  }, kRoom));
  // Moderation (docs/protocol.md, "Moderation").
  add("GET", "/api/rooms/{id}/audit", route("moderation:log", 200, [](A& a, R& req, Json& body) -> Result<Json> {
    act_for(a, req, body, "userId");
    Json p = Json::object();
    for (const char* n : {"before", "limit"})
      if (Status s = query_int(req, n, p); !s.ok()) return s;
    return p;
  }, kRoom));
  add("POST", "/api/users/{userId}/ban", route("user:ban", 200, [](A&, R& req, Json& body) -> Result<Json> {
    body.set("userId", req.params.at("userId"));
    return body;
  }));
  add("DELETE", "/api/users/{userId}/ban", route("user:unban", 200, [](A&, R& req, Json&) -> Result<Json> {
    return Json::object({{"userId", req.params.at("userId")}});
  }));
  add("GET", "/api/bans", route("bans:list", 200, [](A&, R& req, Json&) -> Result<Json> {
    Json p = Json::object();
    if (Status s = query_int(req, "limit", p); !s.ok()) return s;
    return p;
  }));
  add("GET", "/api/bans/audit", route("bans:log", 200, [](A&, R& req, Json&) -> Result<Json> {
    Json p = Json::object();
    for (const char* n : {"before", "limit"})
      if (Status s = query_int(req, n, p); !s.ok()) return s;
    return p;
  }));
  install_attachments();
  install_misc();
}

void RestApi::Impl::install_attachments() {
  Attachments& files = ctx.attachments;
  const Config& c = ctx.config;
  // The uploader whose quota an upload counts against; none for the service.
  auto owner = [](const realtime::Actor& a) { return a.service ? std::string() : a.identity.user_id; };
  RouteOptions upload;
  upload.max_body = c.max_attachment_bytes + kMultipartSlack;
  upload.body_timeout = c.upload_timeout;
  upload.spool_dir = files.spool_dir().string();
  // On the headers: the room and membership, then quota and disk space for
  // the announced length; only then is the body read (to the spool).
  auto check = [this, &files, owner](const realtime::Actor& a, const HttpRequest& head, HttpDecision decide) {
    auto room = room_param(head);
    if (!room.ok()) return decide(error_response(room.status()));
    auto cl = head.headers.find("content-length");
    const std::uint64_t length = cl == head.headers.end() ? 0 : std::stoull(cl->second);  // digits: the transport checked
    ctx.chat.call(a, "room:get", Json::object({{"room", *room}}), [&files, owner, a, length, decide](Result<Json> r) {
      if (!r.ok()) return decide(error_response(r.status()));
      files.admit(owner(a), length, [decide](std::optional<UploadRefusal> no) {
        decide(no ? std::optional<HttpResponse>(refusal_response(*no)) : std::nullopt);
      });
    });
  };
  add("POST", "/api/rooms/{id}/attachments", [this, &files, owner](realtime::Actor a, const HttpRequest& req, HttpResponder respond) {
    Upload up;
    up.owner = owner(a);
    up.room = req.params.at("id");
    if (auto ct = req.headers.find("content-type"); ct != req.headers.end()) up.content_type = ct->second;
    if (auto n = req.query.find("name"); n != req.query.end()) up.name = n->second;
    up.body_file = req.body_file;
    up.body_size = req.body_size;
    up.announced = req.body_size;
    // Membership again: it may have ended while the body came in.
    ctx.chat.call(a, "room:get", Json::object({{"room", up.room}}), [&files, up, respond](Result<Json> room) mutable {
      if (!room.ok()) {
        files.abandon(up.owner, up.announced);
        return respond(error_response(room.status()));
      }
      files.store(std::move(up), [respond](std::variant<realtime::Attachment, UploadRefusal> stored) {
        if (auto* no = std::get_if<UploadRefusal>(&stored)) return respond(refusal_response(*no));
        const auto& att = std::get<realtime::Attachment>(stored);
        respond(json_response(201, Json::object({{"attachment", Json::object({{"url", att.url},
                                                                                {"name", att.name},
                                                                                {"size", static_cast<long long>(att.size)},
                                                                                {"mime", att.mime}})}})));
      });
    });
  }, upload, check);

  add("GET", "/api/attachments/{id}", [this, &files](realtime::Actor who, const HttpRequest& req, HttpResponder respond) {
    files.find(req.params.at("id"), [this, &files, who, respond](Result<StoredAttachment> found) {
      if (!found.ok()) return respond(error_response(found.status()));
      ctx.chat.call(who, "room:get", Json::object({{"room", found->room}}), [&files, found = *found, respond](Result<Json> room) {
        if (!room.ok()) return respond(error_response(room.status()));
        HttpResponse r;
        r.content_type = found.mime;
        r.headers["x-content-type-options"] = "nosniff";
        if (!found.file.empty()) {
          r.file = found.file.string();  // streamed from disk by the transport, off the loop
          return respond(std::move(r));
        }
        // In the shared store (a cluster): read only once membership is known.
        files.read(found.id, [r = std::move(r), respond](Result<std::string> bytes) mutable {
          if (!bytes.ok()) return respond(error_response(bytes.status()));
          r.body = std::move(*bytes);
          respond(std::move(r));
        });
      });
    });
  });
}

void RestApi::Impl::install_misc() {
  auto& t = ctx.transport;
  t.add_route("GET", "/healthz", [this](const HttpRequest&, HttpResponder respond) {
    // A store that cannot write (full or failing disk, file gone, database
    // server unreachable) makes the server unfit for traffic: 503 takes it out of a load balancer's rotation.
    const Status store = ctx.store.health();
    Json body = Json::object({{"status", "ok"}});
    if (ctx.bus) {
      // A node without its bus still serves its own users: degraded, yet
      // 200, so that a balancer keeps it (all nodes lose the bus together).
      const bool up = ctx.bus->state() == realtime::Bus::State::up;
      body.set("node", ctx.chat.cluster_stats().node_id);
      body.set("bus", up ? "up" : "down");
      if (!up) body.set("status", "degraded");
    }
    if (!store.ok()) {
      body.set("status", "degraded");
      body.set("error", realtime::error_json(store));
      return respond(json_response(503, std::move(body)));
    }
    respond(json_response(200, std::move(body)));
  });
  add("GET", "/api/ice-servers", [this](realtime::Actor actor, const HttpRequest&, HttpResponder respond) {
    const Config& c = ctx.config;
    Json servers = Json::array();
    if (!c.stun_urls.empty()) {
      Json urls = Json::array();
      for (const auto& u : c.stun_urls) urls.push(u);
      servers.push(Json::object({{"urls", std::move(urls)}}));
    }
    if (!c.turn_secret.empty() && !c.turn_urls.empty()) {
      const auto expiry = std::chrono::duration_cast<std::chrono::seconds>(realtime::SystemClock{}.now().time_since_epoch()).count() + c.turn_ttl_seconds;
      const std::string user = actor.service ? "service" : actor.identity.user_id;
      const std::string username = std::to_string(expiry) + ":" + user;
      Json urls = Json::array();
      for (const auto& u : c.turn_urls) urls.push(u);
      servers.push(Json::object({{"urls", std::move(urls)}, {"username", username},
                                 {"credential", realtime::base64_encode(realtime::hmac_sha1(c.turn_secret, username), realtime::Base64::standard)}}));
    }
    respond(json_response(200, Json::object({{"iceServers", std::move(servers)}, {"ttl", c.turn_ttl_seconds}})));
  });
  t.add_route("POST", "/api/dev/token", [this](const HttpRequest& req, HttpResponder respond) {
    if (!ctx.config.dev) return respond(error_response(Status::not_found("not found")));
    auto body = body_json(req);
    if (!body.ok()) return respond(error_response(body.status()));
    const Json& b = *body;
    if (!b["userId"].is_string() || b["userId"].as_string().empty() || b["userId"].as_string().size() > 128)
      return respond(error_response(Status::bad_request("userId (1 to 128 bytes) is required")));
    realtime::Identity id{b["userId"].as_string(), b["name"].is_string() ? b["name"].as_string() : "",
                          b["role"].is_string() ? b["role"].as_string() : ""};
    respond(json_response(200, Json::object({{"token", ctx.auth.sign(id, std::chrono::hours(24))}})));
  });
  auto metrics = [this](const HttpRequest&, HttpResponder respond) {
    auto answer = [this, respond = std::move(respond)](const std::vector<LoopFigures>& loops) {
      const realtime::BusStats bus = ctx.bus ? ctx.bus->stats() : realtime::BusStats{};
      HttpResponse r;
      r.content_type = "text/plain; version=0.0.4";
      r.body = render_metrics(loops, ctx.store.pending(), ctx.bus ? &bus : nullptr,
                              ctx.routable_nodes ? std::optional<std::size_t>(ctx.routable_nodes()) : std::nullopt);
      if (ctx.notifications) r.body += ctx.notifications->metrics();
      respond(std::move(r));
    };
    // With several loops, each one's figures are taken on its own thread.
    if (ctx.gather) return ctx.gather(ctx.transport, std::move(answer));
    answer({figures()});
  };
  if (ctx.config.metrics_public) {
    t.add_route("GET", "/metrics", metrics);
  } else {
    add("GET", "/metrics", [metrics](realtime::Actor actor, const HttpRequest& req, HttpResponder respond) {
      if (!actor.service) return respond(error_response(Status::unauthorized("metrics need the API key")));
      metrics(req, std::move(respond));
    });
  }
}

}  // namespace chatd
