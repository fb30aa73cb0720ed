// listen() (listener.h): which shape of listening side, and the routing
// function the Acceptor runs on its thread.
#include "listener.h"

#include <unistd.h>

#include <atomic>

#include "loop_routing.h"

namespace chatd {

namespace {

std::string advertise_for(const Config& config, int port) {
  std::string a = config.tls.cert_file.empty() ? "http://" : "https://";
  a += config.host;
  a += ':';
  a += std::to_string(port);
  return a;
}

// What the acceptor's thread routes with. Filled in once the transports
// exist; until then (the first instants) a connection is closed.
struct Routing {
  std::atomic<bool> ready{false};
  std::vector<realtime::LwsTransport*> loops;
  std::atomic<std::size_t> next{0};
  std::string own_tag;
  realtime::Acceptor* acceptor = nullptr;
  std::shared_ptr<NodeDirectory> directory;
  bool clustered = false;

  void route(int fd, std::string_view line, const sockaddr_storage& peer) {
    if (!ready.load()) {
      ::close(fd);
      return;
    }
    if (clustered) {
      const std::string_view sid = realtime::request_line_sid(line);
      if (sid.size() > 1 + kNodeTagChars) {
        const std::string_view tag = sid.substr(1, kNodeTagChars);
        if (tag != own_tag)
          if (auto to = directory->find(tag)) return acceptor->forward(fd, *to);
      }
    }
    loops[pick_loop(line, peer, loops.size(), next)]->adopt(fd);
  }
};

}  // namespace

realtime::LwsOptions lws_options(const Config& config) {
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
  return lws;
}

realtime::Result<Listener> listen(const Config& config, std::size_t loops) {
  Listener out;
  out.advertise = config.cluster.advertise;
  const realtime::LwsOptions lws = lws_options(config);
  const bool clustered = !config.cluster.bus.empty();
  // TLS hides the request line, and options.cpp refuses --threads with it.
  const bool routed = loops > 1 || (clustered && config.tls.cert_file.empty());
  if (!routed) {
    auto transport = realtime::LwsTransport::create(lws);
    // bad_request: the TLS files (the message names which and why).
    if (!transport.ok() && transport.status().code() == realtime::StatusCode::bad_request) return transport.status();
    if (!transport.ok())
      return realtime::Status::unavailable("cannot listen on " + config.host + ":" + std::to_string(config.port) + ": " +
                                           transport.status().message());
    out.transports.push_back(std::move(transport).value());
    out.port = out.transports[0]->port();
    if (out.advertise.empty()) out.advertise = advertise_for(config, out.port);
    return out;
  }
  realtime::AcceptorOptions ao;
  ao.host = lws.host;
  ao.port = config.port;
  ao.first_line_timeout = config.body_timeout;
  auto routing = std::make_shared<Routing>();
  routing->directory = out.directory;
  routing->clustered = clustered;
  auto acceptor = realtime::Acceptor::create(
      ao, [routing](int fd, std::string_view line, const sockaddr_storage& peer) { routing->route(fd, line, peer); });
  if (!acceptor.ok()) return acceptor.status();
  out.acceptor = std::move(acceptor).value();
  out.port = out.acceptor->port();
  if (out.advertise.empty()) out.advertise = advertise_for(config, out.port);
  if (clustered) out.own_tag = node_tag(out.advertise);
  for (std::size_t i = 0; i < loops; ++i) {
    realtime::LwsOptions o = lws;
    o.listen = false;
    o.sid_prefix = sid_prefix(i);
    o.sid_prefix += out.own_tag;
    o.close_after_response = true;
    auto t = realtime::LwsTransport::create(o);
    if (!t.ok()) return realtime::Status::unavailable("loop " + std::to_string(i) + ": " + t.status().message());
    routing->loops.push_back(t->get());
    out.transports.push_back(std::move(t).value());
  }
  routing->own_tag = out.own_tag;
  routing->acceptor = out.acceptor.get();
  routing->ready.store(true);
  return out;
}

}  // namespace chatd
