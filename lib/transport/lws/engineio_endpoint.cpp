// The Engine.IO path's sockets on the libwebsockets side: polling requests
// and WebSocket callbacks handed to the session table (EioSessions), the
// calls it makes back (EioSockets: respond, writable, kill, timeout,
// write), and the WebSocket details it does not see: reading the upgrade
// request, close codes, framing queued packets into one write. Loop thread.
#include <cstring>
#include <utility>

#include "transport/lws/impl.h"
#include "transport/lws/ws_frame.h"

namespace realtime {
using lws_detail::WsNext;

namespace {
// The upgrade's own headers: they mean nothing once the WebSocket is open,
// a session opened by polling never has them, and kept in every socket's
// handshake they cost some 400 bytes per connection.
bool is_upgrade_header(lws_token_indexes tok) {
  switch (tok) {
    case WSI_TOKEN_CONNECTION:
    case WSI_TOKEN_UPGRADE:
    case WSI_TOKEN_KEY:
    case WSI_TOKEN_VERSION:
    case WSI_TOKEN_EXTENSIONS:
      return true;
    default:
      return false;
  }
}
}  // namespace

bool LwsTransport::Impl::is_eio_path(std::string_view path) const {
  std::string_view p(opt_.path);
  return path == p || (p.size() > 1 && p.back() == '/' && path == p.substr(0, p.size() - 1));
}

void LwsTransport::Impl::on_eio_request(WsiState& st) {
  if (st.request.method == "OPTIONS") {
    // The reference server (the cors package) allows these; a browser must see
    // the 400 for a PUT handshake rather than a failed preflight.
    answer_preflight(st, "GET, HEAD, PUT, PATCH, POST, DELETE");
    return;
  }
  sessions_.on_request(st.wsi, st.request);
}

void LwsTransport::Impl::respond(lws* wsi, HttpResponse response) {
  if (WsiState* st = find_state(wsi)) respond(*st, std::move(response));
}

// ---- WebSocket ----

bool LwsTransport::Impl::on_ws_filter(lws* wsi) {
  WsiState& st = state(wsi);
  st.request = HttpRequest{};
  st.request.method = "GET";
  int n = lws_hdr_total_length(wsi, WSI_TOKEN_GET_URI);
  if (n <= 0) return false;
  std::string path(static_cast<std::size_t>(n) + 1, '\0');
  path.resize(
      static_cast<std::size_t>(std::max(0, lws_hdr_copy(wsi, path.data(), n + 1, WSI_TOKEN_GET_URI))));
  st.request.path = path;
  if (!is_eio_path(path) || !opt_.allow_websocket) return false;
  // Query and headers as the HTTP side reads them.
  char buf[2048];
  for (int i = 0; i < 256; ++i) {
    int len = lws_hdr_copy_fragment(wsi, buf, sizeof buf, WSI_TOKEN_HTTP_URI_ARGS, i);
    if (len < 0) break;
    std::string_view frag(buf, static_cast<std::size_t>(len));
    auto eq = frag.find('=');
    st.request.query.emplace(std::string(frag.substr(0, eq)),
                             eq == std::string_view::npos ? std::string() : std::string(frag.substr(eq + 1)));
  }
  for (int t = 0; t < WSI_TOKEN_COUNT; ++t) {
    auto tok = static_cast<lws_token_indexes>(t);
    if (is_upgrade_header(tok)) continue;
    const char* name = reinterpret_cast<const char*>(lws_token_to_string(tok));
    if (name == nullptr) continue;
    std::string_view nm(name);
    if (nm.size() < 2 || nm.back() != ':' || nm.front() == ':') continue;
    int len = lws_hdr_total_length(wsi, tok);
    if (len <= 0) continue;
    std::string v(static_cast<std::size_t>(len) + 1, '\0');
    v.resize(static_cast<std::size_t>(std::max(0, lws_hdr_copy(wsi, v.data(), len + 1, tok))));
    st.request.headers.emplace(std::string(nm.substr(0, nm.size() - 1)), std::move(v));
  }
  char peer[128];
  if (lws_get_peer_simple(wsi, peer, sizeof peer) != nullptr) st.request.remote_address = peer;

  switch (sessions_.check_upgrade(st.request)) {
    case lws_detail::EioSessions::Upgrade::accept:
      return true;
    case lws_detail::EioSessions::Upgrade::refuse:
      st.refused = true;
      return true;
    case lws_detail::EioSessions::Upgrade::reject:
      break;
  }
  return false;
}

void LwsTransport::Impl::on_ws_established(WsiState& st) {
  if (st.refused) {
    lws_callback_on_writable(st.wsi);  // which closes it
    return;
  }
  // The session table keeps what it needs of the request, and from here on
  // the socket is the table's alone: its WsiState (an HTTP exchange's
  // worth of fields, some 600 bytes) would sit unused for the socket's life.
  lws* wsi = st.wsi;
  if (!sessions_.on_ws_established(wsi, std::exchange(st.request, HttpRequest{}))) {
    kill(wsi);
    return;
  }
  end_request(st);
  wsis_.erase(wsi);
}

int LwsTransport::Impl::on_ws_receive(lws* wsi, const char* data, std::size_t len) {
  const bool first = lws_is_first_fragment(wsi) != 0;
  const bool binary = first && lws_frame_is_binary(wsi) != 0;
  const bool last = lws_is_final_fragment(wsi) && lws_remaining_packet_payload(wsi) == 0;
  return end_ws(wsi, sessions_.on_ws_receive(wsi, std::string_view(data, len), first, last, binary));
}

int LwsTransport::Impl::on_ws_writeable(lws* wsi) { return end_ws(wsi, sessions_.on_ws_writeable(wsi)); }

// Returning -1 makes lws close the socket, with the close status set here.
int LwsTransport::Impl::end_ws(lws* wsi, WsNext next) {
  switch (next) {
    case WsNext::keep:
      return 0;
    case WsNext::close_normal:
      lws_close_reason(wsi, LWS_CLOSE_STATUS_NORMAL, nullptr, 0);
      return -1;
    case WsNext::close_too_large:
      lws_close_reason(wsi, LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE, nullptr, 0);
      return -1;
    case WsNext::close_protocol_error:
      lws_close_reason(wsi, LWS_CLOSE_STATUS_PROTOCOL_ERR, nullptr, 0);
      return -1;
    case WsNext::drop:
      break;
  }
  return -1;
}

std::optional<std::size_t> LwsTransport::Impl::write(lws* wsi, lws_detail::OutQueue& queue) {
  // lws holds what the kernel did not take; hand it more only once that is
  // gone, so that a slow reader's backlog stays in our queue, where
  // max_queued_bytes sees it.
  if (lws_partial_buffered(wsi)) {
    lws_callback_on_writable(wsi);
    return 0;
  }
  std::string& buf = ws_out_;
  buf.assign(LWS_PRE, '\0');
  const std::size_t limit = LWS_PRE + kWsWriteBytes;
  std::size_t taken = 0;
  while (!queue.empty() && buf.size() < limit) {
    const lws_detail::OutPacket& out = queue.front();
    std::string_view data = out.data ? std::string_view(*out.data) : std::string_view();
    const char digit = static_cast<char>('0' + static_cast<int>(out.type));
    lws_detail::append_ws_frame(buf, out.binary, out.binary ? std::string_view() : std::string_view(&digit, 1), data);
    taken += data.size() + 1;
    queue.pop_front();
  }
  if (buf.size() > LWS_PRE) {
    // LWS_WRITE_HTTP: the bytes go out as they are (already framed).
    auto* start = reinterpret_cast<unsigned char*>(buf.data()) + LWS_PRE;
    if (lws_write(wsi, start, buf.size() - LWS_PRE, LWS_WRITE_HTTP) < 0) return std::nullopt;
  }
  if (buf.capacity() > 4 * limit) std::string().swap(buf);  // after one huge packet
  if (!queue.empty()) lws_callback_on_writable(wsi);
  return taken;
}

}  // namespace realtime
