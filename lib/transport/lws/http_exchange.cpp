// HTTP exchange for the lws transport: gathers one request (method, path,
// query, headers, capped body), hands it to the Engine.IO endpoint or the
// router, and writes the response in chunks as the socket drains. Loop
// thread only; one request at a time per connection (HTTP/1.1 keep-alive).
#include <algorithm>
#include <array>
#include <cctype>
#include <cstring>

#include "transport/lws/impl.h"

namespace realtime {
namespace {

constexpr std::size_t kChunk = 16 * 1024;

struct MethodToken {
  lws_token_indexes token;
  const char* name;
};
constexpr std::array<MethodToken, 7> kMethods = {{
    {WSI_TOKEN_GET_URI, "GET"},
    {WSI_TOKEN_POST_URI, "POST"},
    {WSI_TOKEN_OPTIONS_URI, "OPTIONS"},
    {WSI_TOKEN_PUT_URI, "PUT"},
    {WSI_TOKEN_PATCH_URI, "PATCH"},
    {WSI_TOKEN_DELETE_URI, "DELETE"},
    {WSI_TOKEN_HEAD_URI, "HEAD"},
}};

std::string copy_token(lws* wsi, lws_token_indexes t) {
  int n = lws_hdr_total_length(wsi, t);
  if (n <= 0) return {};
  std::string s(static_cast<std::size_t>(n) + 1, '\0');
  int got = lws_hdr_copy(wsi, s.data(), n + 1, t);
  s.resize(got > 0 ? static_cast<std::size_t>(got) : 0);
  return s;
}

void read_query(lws* wsi, HttpRequest& req) {
  std::array<char, 2048> buf{};
  // Bounded by the header buffer; 256 fragments is far above any real use.
  for (int i = 0; i < 256; ++i) {
    int n = lws_hdr_copy_fragment(wsi, buf.data(), static_cast<int>(buf.size()), WSI_TOKEN_HTTP_URI_ARGS, i);
    if (n < 0) break;
    std::string_view frag(buf.data(), static_cast<std::size_t>(n));
    auto eq = frag.find('=');
    if (eq == std::string_view::npos) {
      req.query.emplace(std::string(frag), std::string());
    } else {
      req.query.emplace(std::string(frag.substr(0, eq)), std::string(frag.substr(eq + 1)));
    }
  }
}

void read_headers(lws* wsi, HttpRequest& req) {
  for (int t = 0; t < WSI_TOKEN_COUNT; ++t) {
    auto tok = static_cast<lws_token_indexes>(t);
    const char* name = reinterpret_cast<const char*>(lws_token_to_string(tok));
    if (name == nullptr) continue;
    std::string_view n(name);
    // Method/URI pseudo tokens ("get ", ":path") are not headers.
    if (n.size() < 2 || n.back() != ':' || n.front() == ':') continue;
    if (lws_hdr_total_length(wsi, tok) <= 0) continue;
    req.headers.emplace(std::string(n.substr(0, n.size() - 1)), copy_token(wsi, tok));
  }
}

bool has_body_method(std::string_view m) {
  return m == "POST" || m == "PUT" || m == "PATCH" || m == "DELETE";
}

}  // namespace

int LwsTransport::Impl::on_http(lws* wsi) {
  WsiState& st = state(wsi);
  st.role = lws_detail::Role::http;
  st.request = HttpRequest{};
  st.cors.clear();
  st.response.reset();
  st.headers_sent = false;
  st.body_offset = 0;
  st.waiting_body = false;
  st.body_too_large = false;
  for (const auto& m : kMethods) {
    if (lws_hdr_total_length(wsi, m.token) > 0) {
      st.request.method = m.name;
      st.request.path = copy_token(wsi, m.token);
      break;
    }
  }
  if (st.request.method.empty()) return -1;
  read_query(wsi, st.request);
  read_headers(wsi, st.request);
  std::array<char, 128> peer{};
  if (lws_get_peer_simple(wsi, peer.data(), peer.size()) != nullptr) st.request.remote_address = peer.data();
  // Every answer on this path (Engine.IO, routes, files, errors) carries
  // the CORS headers an allowed origin needs to read it.
  add_cors(st);

  std::size_t content_length = 0;
  auto length_header = st.request.headers.find("content-length");
  if (length_header != st.request.headers.end()) {
    content_length = static_cast<std::size_t>(std::strtoull(length_header->second.c_str(), nullptr, 10));
  }
  // lws completes a POST body announced as empty (Content-Length: 0) too,
  // and drops a response given before that completion: wait for it.
  const bool empty_post = st.request.method == "POST" && length_header != st.request.headers.end();
  if (has_body_method(st.request.method) && (content_length > 0 || empty_post)) {
    st.waiting_body = true;
    st.body_limit = is_eio_path(st.request.path) ? opt_.max_payload : opt_.max_http_body;
    st.body_too_large = content_length > st.body_limit;
    // Long bodies trickle in; the request timeout restarts per chunk below.
    set_wsi_timeout(wsi, PENDING_TIMEOUT_HTTP_CONTENT, 30);
    return 0;
  }
  dispatch(st);
  return 0;
}

int LwsTransport::Impl::on_http_body(WsiState& st, const char* data, std::size_t len) {
  if (!st.waiting_body) return -1;
  set_wsi_timeout(st.wsi, PENDING_TIMEOUT_HTTP_CONTENT, 30);
  // Over the cap the rest is read and discarded, so the 413 reaches the
  // client before the connection closes; memory stays at the cap.
  if (st.body_too_large || st.request.body.size() + len > st.body_limit) {
    st.body_too_large = true;
    st.request.body.clear();
    st.request.body.shrink_to_fit();
    return 0;
  }
  st.request.body.append(data, len);
  return 0;
}

int LwsTransport::Impl::on_http_body_done(WsiState& st) {
  set_wsi_timeout(st.wsi, NO_PENDING_TIMEOUT, 0);
  st.waiting_body = false;
  if (st.body_too_large) {
    if (is_eio_path(st.request.path)) {
      // engine.io answers 413 and the session cannot carry on.
      auto sid = st.request.query.find("sid");
      if (sid != st.request.query.end()) {
        if (auto it = sessions_.find(sid->second); it != sessions_.end()) {
          auto keep = it->second;
          close_session(*keep, CloseReason::transport_error);
        }
      }
    }
    auto r = lws_detail::error_response(413, "payload_too_large", "request body too large");
    r.headers["connection"] = "close";
    respond(st, std::move(r));
    return 0;
  }
  dispatch(st);
  return 0;
}

void LwsTransport::Impl::dispatch(WsiState& st) {
  const HttpRequest& req = st.request;
  if (is_eio_path(req.path)) {
    eio_http(st);
    return;
  }
  auto m = router_.match(req.method, req.path);
  if (m.handler != nullptr) {
    st.request.params = std::move(m.params);
    // Copy: the handler may keep the request beyond this call.
    (*m.handler)(st.request, responder_for(st));
    return;
  }
  if (m.path_known && req.method == "OPTIONS") {
    answer_preflight(st, m.allow);
    return;
  }
  if (m.path_known) {
    auto r = lws_detail::error_response(405, "bad_request", "method not allowed");
    r.headers["allow"] = m.allow;
    respond(st, std::move(r));
    return;
  }
  if (static_files_ && router_.under_static(req.path)) {
    // Read on the file thread: the loop never waits on the disk.
    HttpResponder responder = responder_for(st);
    const bool queued = static_files_->run([this, method = req.method, path = req.path, responder]() {
      auto r = router_.serve_static(method, path);
      return std::function<void()>([responder, r = std::move(r)]() mutable {
        responder(r ? std::move(*r) : lws_detail::error_response(404, "not_found", "no such path"));
      });
    });
    if (!queued) respond(st, lws_detail::error_response(503, "unavailable", "too many file reads queued"));
    return;
  }
  respond(st, lws_detail::error_response(404, "not_found", "no such path"));
}

HttpResponder LwsTransport::Impl::responder_for(WsiState& st) {
  st.slot = std::make_shared<lws_detail::ResponseSlot>(lws_detail::ResponseSlot{this, st.wsi});
  std::weak_ptr<lws_detail::ResponseSlot> weak = st.slot;
  return [weak](HttpResponse r) {
    auto slot = weak.lock();
    if (!slot || slot->wsi == nullptr || slot->impl == nullptr) return;
    lws* wsi = slot->wsi;
    slot->wsi = nullptr;  // answer once
    if (auto* s = slot->impl->find_state(wsi)) slot->impl->respond(*s, std::move(r));
  };
}

void LwsTransport::Impl::respond(WsiState& st, HttpResponse response) {
  // lws closes after a "Connection: close" request without saying so; a
  // keep-alive client agent (Node's) would then reuse a dying socket.
  if (auto c = st.request.headers.find("connection"); c != st.request.headers.end()) {
    std::string v = c->second;
    std::transform(v.begin(), v.end(), v.begin(),
                   [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
    if (v.find("close") != std::string::npos) response.headers["connection"] = "close";
  }
  st.response = std::make_unique<HttpResponse>(std::move(response));
  st.headers_sent = false;
  st.body_offset = 0;
  lws_callback_on_writable(st.wsi);
}

int LwsTransport::Impl::on_http_writeable(WsiState& st) {
  if (!st.response && st.role == lws_detail::Role::poll_get && st.session) {
    auto& c = *st.session;
    if (c.poll_ == st.wsi) {
      c.poll_ = nullptr;
      HttpResponse r;
      r.content_type = "text/plain; charset=UTF-8";
      r.body = take_poll_body(c, false);
      if (r.body.empty()) r.body.push_back('6');  // a noop packet; push_back, as GCC 12 -O3 misreads assign("6") (-Wrestrict)
      respond(st, std::move(r));  // written on the next writeable turn
      return 0;
    }
  }
  if (!st.response) return 0;
  HttpResponse& r = *st.response;
  if (!st.headers_sent) {
    std::vector<unsigned char> buf(LWS_PRE + 4096);
    unsigned char* start = buf.data() + LWS_PRE;
    unsigned char* p = start;
    unsigned char* end = buf.data() + buf.size() - 1;
    if (lws_add_http_common_headers(st.wsi, static_cast<unsigned>(r.status), r.content_type.c_str(),
                                    r.body.size(), &p, end) != 0) {
      return -1;
    }
    auto add = [&](const std::string& name, const std::string& value) {
      std::string n = name + ":";
      return lws_add_http_header_by_name(st.wsi, reinterpret_cast<const unsigned char*>(n.c_str()),
                                         reinterpret_cast<const unsigned char*>(value.data()),
                                         static_cast<int>(value.size()), &p, end);
    };
    for (const auto& [name, value] : st.cors) {
      if (add(name, value) != 0) return -1;
    }
    for (const auto& [name, value] : r.headers) {
      if (add(name, value) != 0) return -1;
    }
    if (lws_finalize_write_http_header(st.wsi, start, &p, end) != 0) return -1;
    st.headers_sent = true;
    if (!r.body.empty() && st.request.method != "HEAD") {
      lws_callback_on_writable(st.wsi);
      return 0;
    }
  } else {
    std::size_t n = std::min(kChunk, r.body.size() - st.body_offset);
    std::vector<unsigned char> buf(LWS_PRE + n);
    std::memcpy(buf.data() + LWS_PRE, r.body.data() + st.body_offset, n);
    bool last = st.body_offset + n == r.body.size();
    if (lws_write(st.wsi, buf.data() + LWS_PRE, n, last ? LWS_WRITE_HTTP_FINAL : LWS_WRITE_HTTP) < 0)
      return -1;
    st.body_offset += n;
    if (!last) {
      lws_callback_on_writable(st.wsi);
      return 0;
    }
  }
  // The whole response is out: ready for the next request on this socket.
  bool close = r.headers.count("connection") != 0;
  st.response.reset();
  st.role = lws_detail::Role::http;
  st.session.reset();
  st.slot.reset();
  if (close) return -1;
  return lws_http_transaction_completed(st.wsi) != 0 ? -1 : 0;
}

void LwsTransport::Impl::answer_preflight(WsiState& st, std::string methods) {
  if (!st.cors.empty()) {
    auto h = st.request.headers.find("access-control-request-headers");
    st.cors["access-control-allow-methods"] = std::move(methods);
    st.cors["access-control-allow-headers"] = h != st.request.headers.end() ? h->second : "content-type";
    st.cors["access-control-max-age"] = "86400";
  }
  HttpResponse r;
  r.status = 204;
  r.content_type = "text/plain";
  respond(st, std::move(r));
}

void LwsTransport::Impl::add_cors(WsiState& st) {
  auto origin = st.request.headers.find("origin");
  if (origin == st.request.headers.end() || opt_.cors_origins.empty()) return;
  bool allowed = std::any_of(opt_.cors_origins.begin(), opt_.cors_origins.end(),
                             [&](const std::string& o) { return o == "*" || o == origin->second; });
  if (!allowed) return;
  // Echo the origin (not "*") so credentialed requests work too.
  st.cors["access-control-allow-origin"] = origin->second;
  st.cors["access-control-allow-credentials"] = "true";
  st.cors["vary"] = "Origin";
}

}  // namespace realtime
