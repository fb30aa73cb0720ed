// REST routes: authenticate (API key or JWT), rate-limit per caller, turn
// the request into a chat operation's payload, and its answer into an HTTP
// status and body. Attachments are stored under <data-dir>/attachments as
// <id> (bytes) and <id>.json (room, name, mime, size).
#include "rest_api.h"

#include <filesystem>
#include <fstream>
#include <unordered_map>

#include "core/base64.h"
#include "chat/crypto.h"
#include "chat/token_bucket.h"
#include "chat/wire.h"
#include "multipart.h"

namespace chatd {
namespace {

using realtime::Json;
using realtime::Result;
using realtime::Status;
using realtime::StatusCode;
using realtime::HttpRequest;
using realtime::HttpResponse;
using realtime::HttpResponder;

int http_status(StatusCode code) {
  switch (code) {
    case StatusCode::ok: return 200;
    case StatusCode::bad_request: return 400;
    case StatusCode::unauthorized: return 401;
    case StatusCode::forbidden: return 403;
    case StatusCode::not_found:
    case StatusCode::peer_not_found: return 404;
    case StatusCode::conflict:
    case StatusCode::room_ended: return 409;
    case StatusCode::payload_too_large: return 413;
    case StatusCode::rate_limited: return 429;
    case StatusCode::unavailable: return 503;
    case StatusCode::internal: return 500;
  }
  return 500;
}

HttpResponse json_response(int status, const Json& body) {
  HttpResponse r;
  r.status = status;
  r.body = body.dump();
  return r;
}

HttpResponse error_response(const Status& s) {
  return json_response(http_status(s.code()), Json::object({{"error", realtime::chat::error_json(s)}}));
}

bool valid_attachment_id(std::string_view id) {
  if (id.size() != 22) return false;
  for (char c : id)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_') return false;
  return true;
}

}  // namespace

struct RestApi::Impl {
  explicit Impl(RestContext c) : ctx(c) {}
  RestContext ctx;
  std::unordered_map<std::string, realtime::chat::TokenBucket> buckets;

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
    if (!ctx.config.api_key.empty() && realtime::chat::constant_time_equal(token, ctx.config.api_key)) {
      realtime::Actor a;
      a.service = true;
      return a;
    }
    auto id = ctx.auth.verify(token);
    if (!id.ok()) return id.status();
    return realtime::Actor{std::move(id).value(), false};
  }

  bool allow(const realtime::Actor& a) {
    const std::string key = a.service ? std::string("\x01service") : a.identity.user_id;
    if (buckets.size() > 100'000) buckets.clear();  // bound memory; a reset only forgives
    auto it = buckets.find(key);
    if (it == buckets.end())
      it = buckets.emplace(key, realtime::chat::TokenBucket(ctx.config.rest_rate.per_second, ctx.config.rest_rate.burst, ctx.transport.now())).first;
    return it->second.take(ctx.transport.now());
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

  // The common shape of a route: authenticate, limit, build the payload,
  // run the chat operation, answer with `created` on success.
  using Build = std::function<Result<Json>(realtime::Actor&, const HttpRequest&, Json& body)>;
  // Routes under /api/rooms/{id} name their room in the path: route()
  // validates it and sets the payload's `room`.
  enum class RoomInPath { no, yes };
  realtime::HttpHandler route(std::string event, int created, Build build, RoomInPath in_path = RoomInPath::no) {
    return [this, event, created, build, in_path](const HttpRequest& req, HttpResponder respond) {
      auto actor = authenticate(req);
      if (!actor.ok()) return respond(error_response(actor.status()));
      if (!allow(*actor)) return respond(error_response(Status::rate_limited("too many requests")));
      auto body = body_json(req);
      if (!body.ok()) return respond(error_response(body.status()));
      std::string room;
      if (in_path == RoomInPath::yes) {
        auto id = room_param(req);
        if (!id.ok()) return respond(error_response(id.status()));
        room = *id;
      }
      auto payload = build(*actor, req, *body);
      if (!payload.ok()) return respond(error_response(payload.status()));
      if (in_path == RoomInPath::yes) payload->set("room", room);
      ctx.chat.call(*actor, event, *payload, [respond, created](Result<Json> r) {
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

void RestApi::Impl::install() {
  auto& t = ctx.transport;
  using A = realtime::Actor;
  using R = const HttpRequest;
  constexpr auto kRoom = RoomInPath::yes;
  t.add_route("POST", "/api/rooms", route("room:create", 201, [](A&, R&, Json& body) -> Result<Json> { return body; }));
  t.add_route("GET", "/api/rooms", route("rooms:list", 200, [](A& a, R& req, Json& body) -> Result<Json> {
    act_for(a, req, body, "userId");
    return Json::object();
  }));
  t.add_route("GET", "/api/rooms/{id}", route("room:get", 200, [](A& a, R& req, Json& body) -> Result<Json> {
    act_for(a, req, body, "userId");
    return Json::object();
  }, kRoom));
  t.add_route("POST", "/api/rooms/{id}/members", route("member:add", 201, [](A& a, R& req, Json& body) -> Result<Json> {
    if (!a.service) act_for(a, req, body, "by");
    return body;
  }, kRoom));
  t.add_route("DELETE", "/api/rooms/{id}/members/{userId}", route("member:remove", 200, [](A&, R& req, Json&) -> Result<Json> {
    return Json::object({{"userId", req.params.at("userId")}});
  }, kRoom));
  t.add_route("GET", "/api/rooms/{id}/messages", route("message:history", 200, [](A& a, R& req, Json& body) -> Result<Json> {
    act_for(a, req, body, "userId");
    Json p = Json::object();
    for (const char* n : {"before", "after", "limit"})
      if (Status s = query_int(req, n, p); !s.ok()) return s;
    return p;
  }, kRoom));
  t.add_route("POST", "/api/rooms/{id}/messages", route("message:send", 201, [](A& a, R&, Json& body) -> Result<Json> {
    if (a.service) {
      if (!body["senderId"].is_string()) return Status::bad_request("a service publish names senderId");
      a.identity.user_id = body["senderId"].as_string();
      a.identity.name = body["senderName"].is_string() ? body["senderName"].as_string() : a.identity.user_id;
      a.identity.role = body["senderRole"].is_string() ? body["senderRole"].as_string() : "";
    }
    return body;
  }, kRoom));
  t.add_route("PATCH", "/api/messages/{id}", route("message:edit", 200, [](A& a, R& req, Json& body) -> Result<Json> {
    act_for(a, req, body, "userId");
    body.set("id", req.params.at("id"));
    return body;
  }));
  t.add_route("DELETE", "/api/messages/{id}", route("message:delete", 200, [](A& a, R& req, Json& body) -> Result<Json> {
    act_for(a, req, body, "userId");
    return Json::object({{"id", req.params.at("id")}});
  }));
  t.add_route("POST", "/api/rooms/{id}/read", route("message:read", 200, [](A& a, R& req, Json& body) -> Result<Json> {
    act_for(a, req, body, "userId");
    return body;
  }, kRoom));
  t.add_route("GET", "/api/rooms/{id}/presence", route("presence:list", 200, [](A& a, R& req, Json& body) -> Result<Json> {
    act_for(a, req, body, "userId");
    return Json::object();
  }, kRoom));
  t.add_route("GET", "/api/rooms/{id}/search", route("message:search", 200, [](A& a, R& req, Json& body) -> Result<Json> {
    act_for(a, req, body, "userId");
    Json p = Json::object();
    if (auto q = req.query.find("q"); q != req.query.end()) p.set("q", q->second);
    if (Status s = query_int(req, "limit", p); !s.ok()) return s;
    return p;
  }, kRoom));
  t.add_route("POST", "/api/rooms/{id}/end", route("session:end", 200, [](A& a, R& req, Json& body) -> Result<Json> {
    act_for(a, req, body, "userId");
    return Json::object();
  }, kRoom));
  install_attachments();
  install_misc();
}

void RestApi::Impl::install_attachments() {
  const std::filesystem::path dir = std::filesystem::path(ctx.config.data_dir) / "attachments";
  ctx.transport.add_route("POST", "/api/rooms/{id}/attachments", [this, dir](const HttpRequest& req, HttpResponder respond) {
    auto actor = authenticate(req);
    if (!actor.ok()) return respond(error_response(actor.status()));
    if (!allow(*actor)) return respond(error_response(Status::rate_limited("too many requests")));
    auto id = room_param(req);
    if (!id.ok()) return respond(error_response(id.status()));
    if (req.body.empty()) return respond(error_response(Status::bad_request("empty upload")));
    if (req.body.size() > ctx.config.max_attachment_bytes)
      return respond(error_response(Status::payload_too_large("attachment too large")));
    std::string mime = "application/octet-stream";
    std::string content_type;
    if (auto ct = req.headers.find("content-type"); ct != req.headers.end()) content_type = ct->second;
    if (!content_type.empty()) mime = content_type.substr(0, content_type.find(';'));
    std::string name = "file";
    if (auto n = req.query.find("name"); n != req.query.end() && !n->second.empty()) name = n->second.substr(0, 255);
    std::string bytes = req.body;
    if (mime == "multipart/form-data") {
      auto part = parse_multipart(content_type, req.body);
      if (!part.ok()) return respond(error_response(part.status()));
      mime = part->mime;
      if (!part->filename.empty()) name = part->filename.substr(0, 255);
      bytes = std::move(part->bytes);
      if (bytes.empty()) return respond(error_response(Status::bad_request("empty upload")));
    }
    const auto& types = ctx.config.attachment_types;
    if (!types.empty() && std::none_of(types.begin(), types.end(), [&](const std::string& p) { return mime.starts_with(p); }))
      return respond(error_response(Status::bad_request("attachment type " + mime + " is not allowed")));
    ctx.chat.call(*actor, "room:get", Json::object({{"room", *id}}), [this, dir, req_body = std::move(bytes), mime, name, respond](Result<Json> room) mutable {
      if (!room.ok()) return respond(error_response(room.status()));
      const std::string room_id = (*room)["room"]["id"].as_string();
      const std::string att_id = realtime::detail::base64url_encode(realtime::chat::random_bytes(16));
      Json meta = Json::object({{"room", room_id}, {"name", name}, {"mime", mime}, {"size", static_cast<long long>(req_body.size())}});
      const bool queued = ctx.worker.run([dir, att_id, body = std::move(req_body), meta, respond]() -> std::function<void()> {
        std::error_code ec;
        std::filesystem::create_directories(dir, ec);
        std::ofstream data(dir / att_id, std::ios::binary);
        data.write(body.data(), static_cast<std::streamsize>(body.size()));
        std::ofstream m(dir / (att_id + ".json"));
        m << meta.dump();
        const bool ok = !ec && data.good() && m.good();
        data.close();
        m.close();
        return [ok, att_id, meta, respond] {
          if (!ok) return respond(error_response(Status::internal("could not store the attachment")));
          respond(json_response(201, Json::object({{"attachment", Json::object({{"url", "/api/attachments/" + att_id},
                                                                                {"name", meta["name"]},
                                                                                {"size", meta["size"]},
                                                                                {"mime", meta["mime"]}})}})));
        };
      });
      if (!queued) respond(error_response(Status::unavailable("attachment queue is full")));
    });
  });

  ctx.transport.add_route("GET", "/api/attachments/{id}", [this, dir](const HttpRequest& req, HttpResponder respond) {
    auto actor = authenticate(req);
    if (!actor.ok()) return respond(error_response(actor.status()));
    if (!allow(*actor)) return respond(error_response(Status::rate_limited("too many requests")));
    const std::string att_id = req.params.at("id");
    if (!valid_attachment_id(att_id)) return respond(error_response(Status::not_found("no such attachment")));
    realtime::Actor who = *actor;
    const bool queued = ctx.worker.run([this, dir, att_id, who, respond]() -> std::function<void()> {
      std::ifstream m(dir / (att_id + ".json"));
      std::string meta_text((std::istreambuf_iterator<char>(m)), std::istreambuf_iterator<char>());
      std::ifstream data(dir / att_id, std::ios::binary);
      std::string bytes((std::istreambuf_iterator<char>(data)), std::istreambuf_iterator<char>());
      const bool found = m.good() || !meta_text.empty();
      return [this, found, meta_text, bytes = std::move(bytes), who, respond]() mutable {
        auto meta = Json::parse(meta_text);
        if (!found || !meta.ok() || !(*meta)["room"].is_string()) return respond(error_response(Status::not_found("no such attachment")));
        const std::string mime = (*meta)["mime"].is_string() ? (*meta)["mime"].as_string() : "application/octet-stream";
        ctx.chat.call(who, "room:get", Json::object({{"room", (*meta)["room"]}}), [mime, bytes = std::move(bytes), respond](Result<Json> room) mutable {
          if (!room.ok()) return respond(error_response(room.status()));
          HttpResponse r;
          r.content_type = mime;
          r.headers["x-content-type-options"] = "nosniff";
          r.body = std::move(bytes);
          respond(std::move(r));
        });
      };
    });
    if (!queued) respond(error_response(Status::unavailable("attachment queue is full")));
  });
}

void RestApi::Impl::install_misc() {
  auto& t = ctx.transport;
  t.add_route("GET", "/healthz", [](const HttpRequest&, HttpResponder respond) {
    respond(json_response(200, Json::object({{"status", "ok"}})));
  });
  t.add_route("GET", "/api/ice-servers", [this](const HttpRequest& req, HttpResponder respond) {
    auto actor = authenticate(req);
    if (!actor.ok()) return respond(error_response(actor.status()));
    const Config& c = ctx.config;
    Json servers = Json::array();
    if (!c.stun_urls.empty()) {
      Json urls = Json::array();
      for (const auto& u : c.stun_urls) urls.push(u);
      servers.push(Json::object({{"urls", std::move(urls)}}));
    }
    if (!c.turn_secret.empty() && !c.turn_urls.empty()) {
      const auto expiry = std::chrono::duration_cast<std::chrono::seconds>(realtime::SystemClock{}.now().time_since_epoch()).count() + c.turn_ttl_seconds;
      const std::string user = actor->service ? "service" : actor->identity.user_id;
      const std::string username = std::to_string(expiry) + ":" + user;
      Json urls = Json::array();
      for (const auto& u : c.turn_urls) urls.push(u);
      servers.push(Json::object({{"urls", std::move(urls)}, {"username", username},
                                 {"credential", realtime::detail::base64_encode(realtime::chat::hmac_sha1(c.turn_secret, username), realtime::detail::Base64::standard)}}));
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
  t.add_route("GET", "/metrics", [this](const HttpRequest& req, HttpResponder respond) {
    if (!ctx.config.metrics_public) {
      auto actor = authenticate(req);
      if (!actor.ok() || !actor->service) return respond(error_response(Status::unauthorized("metrics need the API key")));
    }
    const realtime::ChatStats& s = ctx.chat.stats();
    std::string out;
    auto line = [&](const std::string& name, const std::string& help, const std::string& type, const std::string& value) {
      out += "# HELP " + name + " " + help + "\n# TYPE " + name + " " + type + "\n" + name + " " + value + "\n";
    };
    line("chatd_connections", "Open Engine.IO connections.", "gauge", std::to_string(ctx.io.connection_count()));
    line("chatd_rooms_active", "Rooms with at least one socket in them.", "gauge", std::to_string(ctx.io.of("/").hub().room_count()));
    line("chatd_events_total", "Socket events and REST calls handled.", "counter", std::to_string(s.events));
    line("chatd_messages_in_total", "Messages stored.", "counter", std::to_string(s.messages_stored));
    line("chatd_messages_out_total", "message:new deliveries to sockets.", "counter", std::to_string(s.messages_delivered));
    line("chatd_store_queue_depth", "Store calls accepted but not completed.", "gauge", std::to_string(ctx.store.pending()));
    const ConnectionStats::Queues queues = ctx.connections.queues();
    line("chatd_send_queue_bytes", "Bytes queued for all connections, not yet written.", "gauge", std::to_string(queues.total_bytes));
    line("chatd_send_queue_max_bytes", "The largest one connection's send queue, bytes.", "gauge", std::to_string(queues.max_bytes));
    line("chatd_too_slow_closes_total", "Connections closed because their send queue passed its cap.", "counter",
         std::to_string(ctx.connections.closed(realtime::CloseReason::too_slow)));
    out += "# HELP chatd_errors_total Failed events and calls by error code.\n# TYPE chatd_errors_total counter\n";
    for (const auto& [code, n] : s.errors) out += "chatd_errors_total{code=\"" + code + "\"} " + std::to_string(n) + "\n";
    out += "# HELP chatd_ack_latency_ms Time from an event's arrival to its answer.\n# TYPE chatd_ack_latency_ms histogram\n";
    std::uint64_t cumulative = 0;
    for (std::size_t i = 0; i < std::size(realtime::ChatStats::kLatencyBoundsMs); ++i) {
      cumulative += s.latency_buckets[i];
      char bound[32];
      std::snprintf(bound, sizeof bound, "%g", realtime::ChatStats::kLatencyBoundsMs[i]);
      out += std::string("chatd_ack_latency_ms_bucket{le=\"") + bound + "\"} " + std::to_string(cumulative) + "\n";
    }
    cumulative += s.latency_buckets[std::size(realtime::ChatStats::kLatencyBoundsMs)];
    out += "chatd_ack_latency_ms_bucket{le=\"+Inf\"} " + std::to_string(cumulative) + "\n";
    out += "chatd_ack_latency_ms_sum " + std::to_string(s.latency_sum_ms) + "\n";
    out += "chatd_ack_latency_ms_count " + std::to_string(cumulative) + "\n";
    HttpResponse r;
    r.content_type = "text/plain; version=0.0.4";
    r.body = std::move(out);
    respond(std::move(r));
  });
}

}  // namespace chatd
