// Web Push delivery and routes (web_push_channel.h).
#include "web_push_channel.h"

#include <algorithm>
#include <map>
#include <mutex>

#include "http_client.h"
#include "rest_api.h"
#include "realtime/base64.h"
#include "realtime/utf8.h"
#include "realtime/digest.h"
#include "realtime/json.h"
#include "realtime/status_json.h"

namespace chatd {
namespace {

using realtime::HttpRequest;
using realtime::HttpResponder;
using realtime::HttpResponse;
using realtime::Json;
using realtime::Status;

constexpr std::size_t kMaxEndpointBytes = 1024;


// What the service worker shows: web/public/js/push_worker.js reads it.
std::string payload_of(const NoticeBatch& b) {
  const realtime::AwayNotice& n = b.latest;
  // Names are cut so that the whole payload stays within one push record
  // (4,096 bytes) whatever a token's name claim or a room title holds.
  constexpr std::size_t kNameBytes = 100;
  return Json::object({{"room", n.room},
                       {"roomTitle", std::string(realtime::utf8_prefix(n.room_title, kNameBytes))},
                       {"messages", b.messages},
                       {"messageId", n.message_id},
                       {"seq", static_cast<long long>(n.seq)},
                       {"senderName", std::string(realtime::utf8_prefix(n.sender_name, kNameBytes))},
                       {"text", n.preview},
                       {"at", realtime::format_iso8601(n.at)}})
      .dump();
}

std::string header(std::string_view name, std::string_view value) {
  std::string h(name);
  h += ": ";
  h += value;
  return h;
}

// Deliveries in a row that got no answer, by endpoint; every sender
// thread shares it. Bounded: when full, some count is forgotten, which
// only puts off that endpoint's deletion.
class Unanswered {
 public:
  // The count after this one.
  int failed(const std::string& endpoint) {
    std::lock_guard lock(mu_);
    if (counts_.size() >= kMaxEndpoints && !counts_.contains(endpoint)) counts_.erase(counts_.begin());
    return ++counts_[endpoint];
  }
  void answered(const std::string& endpoint) {
    std::lock_guard lock(mu_);
    counts_.erase(endpoint);
  }

 private:
  static constexpr std::size_t kMaxEndpoints = 10000;
  std::mutex mu_;
  std::map<std::string, int> counts_;
};

}  // namespace

Outbox::Deliver web_push_delivery(WebPushSetup& push, Log& log) {
  http_client_init();
  auto unanswered = std::make_shared<Unanswered>();
  return [&push, &log, unanswered](NoticeBatch& batch) {
    auto subs = push.subscriptions->of_user(batch.latest.user_id);
    if (!subs.ok()) {
      log.warn("push subscriptions unreadable", {{"cause", subs.status().message()}});
      return Outbox::Outcome::retry;
    }
    const std::string payload = payload_of(batch);
    // RFC 8030 Topic: a newer message of the room replaces one the push
    // service still holds for an offline browser (32 base64url characters).
    const std::string topic = realtime::base64url_encode(realtime::sha256(batch.latest.room)).substr(0, 32);
    // Retried when a push service may take it later; given up (counted as
    // failed) when every browser's service refused it for good.
    bool again = false, taken = false, refused = false;
    for (const auto& s : *subs) {
      if (std::find(batch.reached.begin(), batch.reached.end(), s.endpoint) != batch.reached.end()) {
        taken = true;  // an earlier attempt got it there
        continue;
      }
      auto origin = realtime::web_push_origin(s.endpoint, push.allow_http);
      auto p256dh = realtime::base64url_decode(s.p256dh);
      auto auth = realtime::base64url_decode(s.auth);
      if (!origin || !p256dh || !auth) continue;
      auto body = realtime::web_push_encrypt(payload, {*p256dh, *auth});
      const auto expires = std::chrono::time_point_cast<std::chrono::milliseconds>(std::chrono::system_clock::now()) +
                           std::chrono::hours(12);
      auto authorization = push.key.authorization(*origin, push.subject, expires);
      if (!body.ok() || !authorization.ok()) {
        log.warn("push not sent", {{"user", s.user_id},
                                   {"cause", (body.ok() ? authorization.status() : body.status()).message()}});
        refused = true;
        continue;
      }
      HttpCall call;
      call.method = "POST";
      call.url = s.endpoint;
      call.timeout = push.timeout;
      call.public_only = !push.allow_http;
      call.body = std::move(*body);
      call.headers = {"Content-Type: application/octet-stream", "Content-Encoding: aes128gcm",
                      header("TTL", std::to_string(push.ttl.count())), "Urgency: normal", header("Topic", topic),
                      header("Authorization", *authorization)};
      auto answer = http_call(call);
      const long status = answer.ok() ? answer->status : 0;
      if (status == 0) {
        if (unanswered->failed(s.endpoint) >= kMaxUnanswered) {
          (void)push.subscriptions->remove(s.endpoint, s.user_id);
          unanswered->answered(s.endpoint);
          log.info("push subscription unanswered, deleted",
                   {{"user", s.user_id}, {"times", std::to_string(kMaxUnanswered)},
                    {"cause", answer.ok() ? std::string("no status") : answer.status().message()}});
          continue;
        }
      } else {
        unanswered->answered(s.endpoint);
      }
      if (status >= 200 && status < 300) {
        taken = true;
        batch.reached.push_back(s.endpoint);
        continue;
      }
      if (status == 404 || status == 410) {
        // The browser unsubscribed or the subscription expired: forget it.
        (void)push.subscriptions->remove(s.endpoint, s.user_id);
        log.info("push subscription gone, deleted", {{"user", s.user_id}, {"status", std::to_string(status)}});
        continue;
      }
      std::string why;
      if (answer.ok()) {
        why = "HTTP ";
        why += std::to_string(status);
      } else {
        why = answer.status().message();
      }
      log.info("push delivery failed", {{"user", s.user_id}, {"attempt", std::to_string(batch.attempt)}, {"cause", why}});
      if (status == 0 || status == 408 || status == 429 || status >= 500)
        again = true;
      else
        refused = true;  // 400, 403 (a VAPID key the service does not know), 413, ...
    }
    if (again) return Outbox::Outcome::retry;
    return refused && !taken ? Outbox::Outcome::give_up : Outbox::Outcome::delivered;
  };
}

PushRoutes::PushRoutes(WebPushSetup& push, realtime::LwsTransport& loop, std::size_t max_body_bytes)
    : push_(push), loop_(loop), max_body_bytes_(max_body_bytes), worker_(loop, 256) {}

void PushRoutes::install(const AddRoute& add) {
  loop_.add_route("GET", "/api/push/vapid-public-key", [this](const HttpRequest&, HttpResponder respond) {
    respond(json_response(200, Json::object({{"publicKey", realtime::base64url_encode(push_.key.public_key())}})));
  });
  // The store call runs on the worker; its answer goes back on the loop.
  auto on_worker = [this](HttpResponder respond, std::function<HttpResponse()> job) {
    auto shared = std::make_shared<HttpResponder>(std::move(respond));
    const bool queued = worker_.run([shared, job = std::move(job)]() -> std::function<void()> {
      auto answer = std::make_shared<HttpResponse>(job());
      return [shared, answer] { (*shared)(std::move(*answer)); };
    });
    if (!queued) (*shared)(error_response(Status::unavailable("too many subscription changes at once; try again")));
  };
  auto parse = [this](const realtime::Actor& a, const HttpRequest& req) -> realtime::Result<Json> {
    if (a.service || a.identity.user_id.empty())
      return Status::forbidden("a subscription belongs to a user: call with the user's token");
    if (req.body.size() > max_body_bytes_) return Status::payload_too_large("request body too large");
    // DELETE may name the endpoint in the query instead of a body.
    auto q = req.query.find("endpoint");
    auto j = req.body.empty() && q != req.query.end() ? realtime::Result<Json>(Json::object({{"endpoint", q->second}}))
                                                      : Json::parse(req.body, 8);
    if (!j.ok()) return j.status();
    if (!j->is_object()) return Status::bad_request("the body must be a JSON object");
    const Json& e = (*j)["endpoint"];
    if (!e.is_string() || e.as_string().size() > kMaxEndpointBytes ||
        !realtime::web_push_origin(e.as_string(), push_.allow_http))
      return Status::bad_request("endpoint must be an https URL of at most 1024 bytes");
    return j;
  };
  add("POST", "/api/push/subscriptions", [this, parse, on_worker](realtime::Actor a, const HttpRequest& req,
                                                                   HttpResponder respond) {
    auto j = parse(a, req);
    if (!j.ok()) return respond(error_response(j.status()));
    const Json& keys = (*j)["keys"];
    const Json& p256dh = keys["p256dh"];
    const Json& auth = keys["auth"];
    auto point = p256dh.is_string() ? realtime::base64url_decode(p256dh.as_string()) : std::nullopt;
    auto secret = auth.is_string() ? realtime::base64url_decode(auth.as_string()) : std::nullopt;
    if (!point || point->size() != 65 || (*point)[0] != '\x04' || !secret || secret->size() != 16)
      return respond(error_response(Status::bad_request(
          "keys.p256dh must be a base64url P-256 point (65 bytes) and keys.auth 16 bytes in base64url")));
    realtime::PushSubscription s{a.identity.user_id, (*j)["endpoint"].as_string(), p256dh.as_string(), auth.as_string(), 0};
    on_worker(std::move(respond), [this, s] {
      const Status st = push_.subscriptions->put(s, push_.max_per_user);
      return st.ok() ? json_response(201, Json::object({{"ok", true}})) : error_response(st);
    });
  });
  add("GET", "/api/push/subscriptions", [this, on_worker](realtime::Actor a, const HttpRequest&, HttpResponder respond) {
    if (a.service || a.identity.user_id.empty())
      return respond(error_response(Status::forbidden("a subscription belongs to a user: call with the user's token")));
    on_worker(std::move(respond), [this, user = a.identity.user_id] {
      auto subs = push_.subscriptions->of_user(user);
      if (!subs.ok()) return error_response(subs.status());
      Json::Array list;
      for (const auto& s : *subs)
        list.push_back(Json::object({{"endpoint", s.endpoint},
                                     {"createdAt", realtime::format_iso8601(realtime::Timestamp(std::chrono::milliseconds(s.created)))}}));
      return json_response(200, Json::object({{"subscriptions", Json(std::move(list))}}));
    });
  });
  add("DELETE", "/api/push/subscriptions", [this, parse, on_worker](realtime::Actor a, const HttpRequest& req,
                                                                     HttpResponder respond) {
    auto j = parse(a, req);
    if (!j.ok()) return respond(error_response(j.status()));
    on_worker(std::move(respond), [this, endpoint = (*j)["endpoint"].as_string(), user = a.identity.user_id] {
      auto removed = push_.subscriptions->remove(endpoint, user);
      if (!removed.ok()) return error_response(removed.status());
      return *removed ? json_response(200, Json::object({{"ok", true}}))
                      : error_response(Status::not_found("no such subscription of yours"));
    });
  });
}

}  // namespace chatd
