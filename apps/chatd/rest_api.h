// chatd's REST API (protocol section 8): JSON routes that run the same
// chat operations as the socket events, plus attachments, ICE servers,
// dev tokens, health and metrics. Loop thread only; file I/O goes through
// Attachments to its worker.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "attachments.h"
#include "connection_stats.h"
#include "log.h"
#include "metrics.h"
#include "notifications.h"
#include "web_push_channel.h"
#include "options.h"
#include "realtime/chat_service.h"
#include "realtime/jwt_authenticator.h"
#include "realtime/lws_transport.h"
#include "realtime/socketio_server.h"

namespace chatd {

struct RestContext {
  const Config& config;
  realtime::LwsTransport& transport;
  realtime::socketio::Server& io;
  realtime::ChatService& chat;
  realtime::Store& store;
  const realtime::JwtAuthenticator& auth;
  Attachments& attachments;
  Log& log;
  const ConnectionStats& connections;  // send queues and close reasons, for /metrics
  const realtime::Bus* bus = nullptr;   // the cluster's bus (--bus), or none
  GatherFigures gather;                 // with several loops (--threads): /metrics sums them all
  std::function<std::size_t()> routable_nodes;  // a cluster's relays (node_directory.h); any thread
  const Notifications* notifications = nullptr;  // away members' notifications, for /metrics; or none
  WebPushSetup* push = nullptr;  // --vapid-key: the /api/push routes; or none
};

// Registers every route on the transport. Keeps per-caller rate buckets.
class RestApi {
 public:
  explicit RestApi(RestContext ctx);
  ~RestApi();
  void install();
  // This loop's figures for /metrics; its loop's thread.
  LoopFigures figures() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// A JSON answer, and an error in the contract's shape with its HTTP status:
// every chatd route answers through these.
realtime::HttpResponse json_response(int status, const realtime::Json& body);
realtime::HttpResponse error_response(const realtime::Status& s);

}  // namespace chatd
