// HTTP exchange for the lws transport: reads one request's line and
// headers, routes it before any of its body is read (http_body.cpp takes
// the body from there), hands it to the Engine.IO endpoint or the route,
// and writes the response in chunks as the socket drains: from memory, or
// from a file read on the file thread. Loop thread only; one request at a
// time per connection (HTTP/1.1 keep-alive).
#include <algorithm>
#include <array>
#include <cctype>
#include <cstring>
#include <optional>

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

// How long the body is, from the headers; a response refuses the request.
// Only Content-Length framing is read: lws does not decode chunked bodies,
// and a request that names a Transfer-Encoding must not be guessed at (the
// same bytes could be read as a body here and as requests elsewhere).
struct Framing {
  std::size_t length = 0;
  bool expected = false;  // lws will deliver a body (maybe empty) and complete it
  bool unframed = false;  // a POST/PUT/PATCH without a length: empty, but lws expects a body
  std::optional<HttpResponse> refusal;
};

Framing body_framing(const HttpRequest& req) {
  Framing f;
  if (req.headers.count("transfer-encoding") != 0) {
    f.refusal = lws_detail::error_response(411, "bad_request",
                                           "send the body with a Content-Length (chunked bodies are not supported)");
    return f;
  }
  auto cl = req.headers.find("content-length");
  if (cl == req.headers.end()) {
    f.unframed = req.method == "POST" || req.method == "PUT" || req.method == "PATCH";
    return f;
  }
  const std::string& v = cl->second;
  if (v.empty() || v.size() > 15 || !std::all_of(v.begin(), v.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    f.refusal = lws_detail::error_response(400, "bad_request", "invalid Content-Length");
    return f;
  }
  f.length = static_cast<std::size_t>(std::stoull(v));
  // lws completes a POST body announced as empty too (and only a POST's).
  f.expected = f.length > 0 || req.method == "POST";
  return f;
}

}  // namespace

int LwsTransport::Impl::on_http(lws* wsi) {
  WsiState& st = state(wsi);
  end_request(st);  // a keep-alive connection's previous request, if still held
  st.request = HttpRequest{};
  st.cors.clear();
  st.response.reset();
  st.headers_sent = false;
  st.body_offset = 0;
  st.answered = false;
  st.close_after = false;
  st.draining = false;
  st.token = std::make_shared<lws_detail::RequestToken>(lws_detail::RequestToken{wsi});
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

  Framing framing = body_framing(st.request);
  if (framing.refusal) {
    refuse(st, std::move(*framing.refusal));
    return 0;
  }
  st.body.length = framing.length;
  st.body.expected = framing.expected;
  // With no length the body is empty, but lws waits for one: nothing after
  // this request can be read as the next one.
  st.close_after = framing.unframed;
  route_request(st);
  return 0;
}

void LwsTransport::Impl::route_request(WsiState& st) {
  const HttpRequest& req = st.request;
  if (is_eio_path(req.path)) {
    if (st.body.length > opt_.max_payload) {
      // engine.io answers 413 and the session cannot carry on.
      if (auto sid = req.query.find("sid"); sid != req.query.end())
        sessions_.close(sid->second, CloseReason::transport_error);
    }
    // Polling POSTs: in memory, within maxPayload and the budget.
    if (st.body.expected && !begin_body(st, opt_.max_payload, opt_.body_timeout)) return;
    on_admitted(st, std::nullopt);
    return;
  }
  auto m = router_.match(req.method, req.path);
  // Anything answered without its route reads no body: it closes instead.
  if (m.handler == nullptr && st.body.expected) st.close_after = true;
  if (m.handler != nullptr) {
    st.request.params = std::move(m.params);
    st.body.handler = m.handler;
    st.body.route = m.options;
    const RouteOptions& o = *m.options;
    const std::size_t limit = o.max_body != 0 ? o.max_body : opt_.max_http_body;
    const auto timeout = o.body_timeout.count() != 0 ? o.body_timeout : opt_.body_timeout;
    if (st.body.expected && !begin_body(st, limit, timeout)) return;
    if (o.admit) {
      ask_admission(st, o.admit);
    } else {
      on_admitted(st, std::nullopt);
    }
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
  if (files_ && router_.under_static(req.path)) {
    // Read on the file thread: the loop never waits on the disk.
    HttpResponder responder = responder_for(st);
    const bool queued = files_->run([this, method = req.method, path = req.path, responder]() {
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

void LwsTransport::Impl::run_request(WsiState& st) {
  if (st.body.handler == nullptr) {
    on_eio_request(st);
    return;
  }
  // The handler may keep a copy of the request beyond this call.
  (*st.body.handler)(st.request, responder_for(st));
}

HttpResponder LwsTransport::Impl::responder_for(WsiState& st) {
  std::weak_ptr<lws_detail::RequestToken> weak = st.token;
  return [this, weak](HttpResponse r) {
    auto token = weak.lock();
    if (WsiState* s = token ? request_state(token) : nullptr; s != nullptr && !s->answered) respond(*s, std::move(r));
  };
}

lws_detail::WsiState* LwsTransport::Impl::request_state(const std::shared_ptr<lws_detail::RequestToken>& token) {
  if (token->wsi == nullptr) return nullptr;
  WsiState* st = find_state(token->wsi);
  return st != nullptr && st->token == token ? st : nullptr;
}

void LwsTransport::Impl::respond(WsiState& st, HttpResponse response) {
  st.answered = true;
  // lws 4.1 serves no POLLOUT to an HTTP socket whose reads are paused:
  // resume them (what arrives now is dropped) or the answer never leaves.
  update_rx(st);
  // lws closes after a "Connection: close" request without saying so; a
  // keep-alive client agent (Node's) would then reuse a dying socket.
  if (auto c = st.request.headers.find("connection"); c != st.request.headers.end()) {
    std::string v = c->second;
    std::transform(v.begin(), v.end(), v.begin(),
                   [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
    if (v.find("close") != std::string::npos) response.headers["connection"] = "close";
  }
  if (st.close_after || opt_.close_after_response) response.headers["connection"] = "close";
  if (!response.headers.count("connection"))
    response.headers["keep-alive"] = "timeout=" + std::to_string(keepalive_seconds());
  st.response = std::make_unique<HttpResponse>(std::move(response));
  st.headers_sent = false;
  st.body_offset = 0;
  st.file = {};
  lws_callback_on_writable(st.wsi);
}

void LwsTransport::Impl::refuse(WsiState& st, HttpResponse response) {
  if (st.answered) return;
  st.close_after = true;
  if (st.body.deadline != 0) cancel_timer(st.body.deadline);
  st.body.deadline = 0;
  st.body.spool.reset();
  respond(st, std::move(response));
}

int LwsTransport::Impl::on_http_writeable(WsiState& st) {
  // A held long-poll with something to say: the answer is written on the
  // next writeable turn.
  if (!st.response && sessions_.on_poll_writeable(st.wsi)) return 0;
  if (!st.response) return 0;
  HttpResponse& r = *st.response;
  const bool streamed = !r.file.empty();
  if (streamed && !st.file.ready) {
    if (!st.file.source) {
      // Opened on the file thread; its size goes into the headers.
      std::weak_ptr<lws_detail::RequestToken> weak = st.token;
      st.file.source = lws_detail::FileSource::open(files(), r.file, [this, weak](Result<std::uint64_t> size) {
        auto token = weak.lock();
        WsiState* s = token ? request_state(token) : nullptr;
        if (s == nullptr || !s->response) return;
        if (!size.ok()) {
          s->file = {};
          HttpResponse missing = lws_detail::error_response(404, "not_found", "no such file");
          missing.headers = std::move(s->response->headers);
          *s->response = std::move(missing);
        } else {
          s->file.ready = true;
          s->file.left = *size;
        }
        lws_callback_on_writable(s->wsi);
      });
      if (!st.file.source) {
        *st.response = lws_detail::error_response(503, "unavailable", "too many file reads queued");
        lws_callback_on_writable(st.wsi);
      }
    }
    return 0;
  }
  if (!st.headers_sent) {
    std::vector<unsigned char> buf(LWS_PRE + 4096);
    unsigned char* start = buf.data() + LWS_PRE;
    unsigned char* p = start;
    unsigned char* end = buf.data() + buf.size() - 1;
    // A header value that carries CR, LF or NUL would let whoever chose it
    // write headers of their own: such headers are not sent.
    auto clean = [](std::string_view v) { return v.find_first_of(std::string_view("\r\n\0", 3)) == std::string_view::npos; };
    const std::string content_type = clean(r.content_type) ? r.content_type : "application/octet-stream";
    const std::uint64_t length = streamed ? st.file.left : r.body.size();
    if (lws_add_http_common_headers(st.wsi, static_cast<unsigned>(r.status), content_type.c_str(), length, &p, end) != 0) {
      return -1;
    }
    auto add = [&](const std::string& name, const std::string& value) {
      if (!clean(name) || !clean(value) || name.find(':') != std::string::npos) return 0;
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
    if (length != 0 && st.request.method != "HEAD") {
      if (streamed) read_file_chunk(st);
      lws_callback_on_writable(st.wsi);
      return 0;
    }
  } else if (streamed) {
    const int done = write_file_body(st);
    if (done <= 0) return done;
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
  // Refused before its body came in: the client is likely still sending
  // (unless it was too slow to send it in time).
  const bool linger = close && st.body.expected && !st.body.complete && !st.body.timed_out;
  st.response.reset();
  end_request(st);
  if (linger) {
    start_draining(st);
    return 0;
  }
  if (close) return -1;
  if (lws_http_transaction_completed(st.wsi) != 0) return -1;
  close_when_idle(st);
  return 0;
}

void LwsTransport::Impl::close_when_idle(WsiState& st) {
  // The idle time the answer announced (Keep-Alive: timeout=N), kept by a
  // timer of ours: lws 4.1's own keep-alive timeout, set from a writeable
  // callback on the foreign loop, often fired only at its 30 s catch-all
  // (measured). The next request on the socket replaces the token (and an
  // error or close drops it), so the timer then does nothing.
  st.token = std::make_shared<lws_detail::RequestToken>(lws_detail::RequestToken{st.wsi});
  std::weak_ptr<lws_detail::RequestToken> weak = st.token;
  set_timer(std::chrono::seconds(keepalive_seconds()), [this, weak] {
    auto token = weak.lock();
    if (WsiState* s = token ? request_state(token) : nullptr) kill(s->wsi);
  });
}

void LwsTransport::Impl::start_draining(WsiState& st) {
  // Closing now, with the rest of the body unread, would make the kernel
  // reset the connection, and many clients (Node's fetch) then lose the
  // answer they were sent. So the rest is read and dropped, for a short
  // while at most, and the connection closes when it ends.
  st.draining = true;
  st.token = std::make_shared<lws_detail::RequestToken>(lws_detail::RequestToken{st.wsi});
  std::weak_ptr<lws_detail::RequestToken> weak = st.token;
  set_timer(kDrainTime, [this, weak] {
    auto token = weak.lock();
    if (WsiState* s = token ? request_state(token) : nullptr) kill(s->wsi);
  });
}

// Writes the chunk the file thread has read, and asks for the next one:
// -1 on a failed write, 0 while more is to come, 1 when the file is out.
int LwsTransport::Impl::write_file_body(WsiState& st) {
  lws_detail::FileBody& f = st.file;
  if (f.chunk.empty()) return 0;  // still reading; its completion asks for writeable
  const bool last = f.chunk.size() >= f.left;
  const std::size_t n = last ? static_cast<std::size_t>(f.left) : f.chunk.size();
  std::vector<unsigned char> buf(LWS_PRE + n);
  std::memcpy(buf.data() + LWS_PRE, f.chunk.data(), n);
  if (lws_write(st.wsi, buf.data() + LWS_PRE, n, last ? LWS_WRITE_HTTP_FINAL : LWS_WRITE_HTTP) < 0) return -1;
  f.left -= n;
  f.chunk.clear();
  if (last) return 1;
  read_file_chunk(st);
  return 0;
}

void LwsTransport::Impl::read_file_chunk(WsiState& st) {
  if (st.file.reading || !st.file.source) return;
  st.file.reading = true;
  std::weak_ptr<lws_detail::RequestToken> weak = st.token;
  const bool queued = st.file.source->read([this, weak](Result<std::string> chunk) {
    auto token = weak.lock();
    WsiState* s = token ? request_state(token) : nullptr;
    if (s == nullptr) return;
    s->file.reading = false;
    // The headers promised a length: a file that fails or shrinks under us
    // can only end the connection.
    if (!chunk.ok() || chunk->empty()) return kill(s->wsi);
    s->file.chunk = std::move(chunk).value();
    lws_callback_on_writable(s->wsi);
  });
  if (!queued) kill(st.wsi);
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
  const auto& list = opt_.cors_origins;
  if (std::find(list.begin(), list.end(), origin->second) != list.end()) {
    // A listed origin is echoed with credentials: its pages may send
    // cookies and read the answers.
    st.cors["access-control-allow-origin"] = origin->second;
    st.cors["access-control-allow-credentials"] = "true";
    st.cors["vary"] = "Origin";
  } else if (std::find(list.begin(), list.end(), "*") != list.end()) {
    // Any page may read, but never with the user's cookies: "*" with
    // credentials would hand every site the logged-in user's answers.
    st.cors["access-control-allow-origin"] = "*";
  }
}

}  // namespace realtime
