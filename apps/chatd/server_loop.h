// ServerLoop: one event loop of chatd and what lives on it: the transport's
// connections, the Socket.IO server, the token checks, the chat service and
// the REST API. chatd runs --threads of them in one process; each is a node
// of a cluster of one process (or, with --bus, of the whole cluster), so
// what crosses loops is exactly what crosses nodes (docs/architecture.md,
// "Several loops").
//
// Built and destroyed on the main thread while no loop runs; everything
// else on its loop's thread.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "attachments.h"
#include "connection_stats.h"
#include "jwt_setup.h"
#include "log.h"
#include "metrics.h"
#include "notifications.h"
#include "options.h"
#include "realtime/bus.h"
#include "realtime/chat_service.h"
#include "realtime/clock.h"
#include "realtime/cluster.h"
#include "realtime/lws_transport.h"
#include "realtime/socketio_server.h"
#include "realtime/store.h"
#include "rest_api.h"

namespace chatd {

// What every loop shares; main() owns it and outlives the loops.
struct SharedParts {
  const Config& config;
  Log& log;
  const realtime::Clock& clock;
  Attachments& attachments;          // lives on loop 0 (see MessageObserver relay in server_loop.cpp)
  realtime::EventLoop& attachments_loop;
  realtime::Bus* bus = nullptr;      // null: one loop, no cluster
  realtime::ClusterOptions cluster;  // node_id is the process's; a loop adds its index when there are several
  std::size_t loops = 1;
  // socket.io-client's browser bundle from --static-dir, read once; empty: not served.
  std::shared_ptr<const std::string> socketio_bundle;
  GatherFigures gather;  // several loops: /metrics asks them all (gather_figures below)
  std::function<std::size_t()> routable_nodes;  // relays to other nodes, when the acceptor makes them
  Notifications* notifications = nullptr;  // away members (notifications.h); null: none configured
  WebPushSetup* push = nullptr;            // --vapid-key (web_push_channel.h); null: no Web Push
};

class ServerLoop {
 public:
  // `store` is this loop's (a StoreThread view when loops share one).
  static realtime::Result<std::unique_ptr<ServerLoop>> create(SharedParts& shared, std::size_t index,
                                                              realtime::LwsTransport& transport, realtime::Store& store);
  ~ServerLoop();
  ServerLoop(const ServerLoop&) = delete;
  ServerLoop& operator=(const ServerLoop&) = delete;

  realtime::LwsTransport& transport() { return transport_; }
  realtime::JwtAuthenticator& auth() { return *jwt_.auth; }
  realtime::ChatService& chat() { return *chat_; }
  const std::string& node_id() const { return node_id_; }
  LoopFigures figures() const { return api_->figures(); }

 private:
  class ObserverRelay;
  ServerLoop(SharedParts& shared, realtime::LwsTransport& transport, realtime::Store& store, JwtSetup jwt);

  realtime::LwsTransport& transport_;
  JwtSetup jwt_;
  ConnectionStats connections_;
  realtime::socketio::Server io_;
  std::unique_ptr<ObserverRelay> relay_;  // loops other than the attachments' own
  std::unique_ptr<realtime::ChatService> chat_;
  std::unique_ptr<RestApi> api_;
  std::string node_id_;
};

// /metrics over every loop of `loops` (which must outlive the function and
// be complete before the first scrape).
GatherFigures gather_figures(const std::vector<std::unique_ptr<ServerLoop>>& loops);

// The chat service's options from the configuration.
realtime::ChatOptions chat_options(const Config& config);

}  // namespace chatd
