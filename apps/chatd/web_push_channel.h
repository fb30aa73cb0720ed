// chatd's Web Push: the VAPID key, the subscriptions (one store per
// process, shared by a cluster through PostgreSQL), the outbox's delivery
// (RFC 8030 POST of an RFC 8291 body with RFC 8292 authorization) and the
// REST routes that register a browser. Deliveries and subscription
// changes run on worker threads; the loops only queue them.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>

#include "log.h"
#include "notifications.h"
#include "realtime/blocking_worker.h"
#include "realtime/chat_service.h"
#include "realtime/lws_transport.h"
#include "realtime/push_subscription_store.h"
#include "realtime/web_push.h"

namespace chatd {

struct WebPushSetup {
  realtime::VapidKey key;
  std::string subject;                 // mailto: or https: contact, in every token
  std::unique_ptr<realtime::PushSubscriptionStore> subscriptions;
  std::size_t max_per_user = 10;
  std::chrono::seconds ttl{86400};     // how long a push service keeps an undelivered message
  std::chrono::milliseconds timeout{5000};
  bool allow_http = false;             // http:// endpoints, for a local test push service only
};

// The outbox's delivery: every subscription of the batch's user that has
// not taken it yet (a retry goes to the rest only). A 404 or 410 deletes
// the subscription, and so does kMaxUnanswered deliveries in a row that
// got no answer at all (no connection, or none within the timeout): an
// endpoint that holds requests open would otherwise cost a sender its
// timeout on every notice to that user.
inline constexpr int kMaxUnanswered = 3;
Outbox::Deliver web_push_delivery(WebPushSetup& push, Log& log);

// POST, GET and DELETE /api/push/subscriptions and GET
// /api/push/vapid-public-key on one loop (docs/protocol.md). `add` is the
// REST API's authenticated route adder.
class PushRoutes {
 public:
  using Handler = std::function<void(realtime::Actor, const realtime::HttpRequest&, realtime::HttpResponder)>;
  using AddRoute = std::function<void(std::string method, std::string pattern, Handler)>;
  PushRoutes(WebPushSetup& push, realtime::LwsTransport& loop, std::size_t max_body_bytes);
  void install(const AddRoute& add);

 private:
  WebPushSetup& push_;
  realtime::LwsTransport& loop_;
  std::size_t max_body_bytes_;
  realtime::BlockingWorker worker_;  // last: its jobs use the above
};

}  // namespace chatd
