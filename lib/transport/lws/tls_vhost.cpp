// LwsTransport::Impl's TLS: the certificate pair of the listening vhost at
// start and on reload_tls(), and the optional plain-HTTP port that
// redirects to HTTPS. The pair lives in the SSL_CTX libwebsockets makes for
// the vhost; we install it ourselves (tls.h) rather than hand lws file
// paths, so that a start and a reload check and report the same way, the
// chain is kept on reload, and a bad new pair never replaces a good one
// (lws_tls_cert_updated() reports no failure and reloads the leaf only).
// Loop thread, except prepare_tls() (create()'s thread) and the file reads
// of a reload (the file thread).
#include <cctype>
#include <cstring>

#include "transport/lws/impl.h"

namespace realtime {
namespace {

// Characters a Host header may bring into the redirect's Location: a DNS
// name, an IPv4 address, or an IPv6 one in brackets, and a port.
bool plain_host(std::string_view host) {
  if (host.empty() || host.size() > 255) return false;
  for (char c : host)
    if (std::isalnum(static_cast<unsigned char>(c)) == 0 && std::strchr(".-:[]", c) == nullptr) return false;
  return true;
}

// The host part of a Host header, without its port.
std::string_view without_port(std::string_view host) {
  if (!host.empty() && host.front() == '[') {
    auto end = host.find(']');
    return end == std::string_view::npos ? host : host.substr(0, end + 1);
  }
  auto colon = host.find(':');
  return colon == std::string_view::npos ? host : host.substr(0, colon);
}

// lws hands the path decoded; it goes back out encoded, keeping '/' (and
// '=' in the query, whose pieces lws hands one by one).
void append_encoded(std::string& out, std::string_view s, bool query) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  for (unsigned char c : s) {
    if (std::isalnum(c) != 0 || std::strchr("-._~/", c) != nullptr || (query && c == '=')) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
}

}  // namespace

Status LwsTransport::Impl::prepare_tls(lws_context_creation_info& info) {
  const bool want_tls = !opt_.tls_cert_file.empty() || !opt_.tls_key_file.empty();
  if (!want_tls) {
    if (opt_.tls_redirect_port)
      return Status::bad_request("an HTTP->HTTPS redirect port needs a TLS certificate and key");
    return {};
  }
  if (opt_.tls_cert_file.empty())
    return Status::bad_request("a TLS key file was given without a certificate file");
  if (opt_.tls_key_file.empty())
    return Status::bad_request("a TLS certificate file was given without a key file");
  if (opt_.tls_redirect_port && (*opt_.tls_redirect_port < 0 || *opt_.tls_redirect_port > 65535))
    return Status::bad_request("the HTTP->HTTPS redirect port must be 0..65535");
  auto pair = lws_detail::load_tls_pair(opt_.tls_cert_file, opt_.tls_key_file);
  if (!pair.ok()) return pair.status();
  tls_pair_ = std::move(pair).value();
  // lws makes the vhost's SSL_CTX and hands it to on_tls_context() to be
  // given a certificate; the cipher list is also set there, in one place.
  info.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT | LWS_SERVER_OPTION_CREATE_VHOST_SSL_CTX;
  info.ssl_cipher_list = lws_detail::kTls12Ciphers;
  // HTTP/1.1 only: the Engine.IO endpoint and the router speak HTTP/1.1
  // (WebSocket upgrades, keep-alive), and an h2-capable browser would
  // otherwise pick h2 through ALPN.
  info.alpn = "http/1.1";
  return {};
}

bool LwsTransport::Impl::on_tls_context(SSL_CTX* ctx) {
  if (ctx == nullptr || tls_pair_ == nullptr) return true;  // not the TLS vhost
  if (Status s = lws_detail::harden_tls_context(ctx); !s.ok()) {
    tls_error_ = s;
    return false;
  }
  if (Status s = lws_detail::install_tls_pair(ctx, *tls_pair_); !s.ok()) {
    tls_error_ = s;
    return false;
  }
  tls_ctx_ = ctx;
  return true;
}

std::optional<TlsCertificate> LwsTransport::Impl::tls_certificate() const {
  if (tls_pair_ == nullptr) return std::nullopt;
  return lws_detail::describe_certificate(tls_pair_->cert.get());
}

void LwsTransport::Impl::reload_tls(std::function<void(Result<TlsCertificate>)> done) {
  if (tls_ctx_ == nullptr) {
    done(Status::bad_request("TLS is not on: there is no certificate to reload"));
    return;
  }
  auto finish = std::make_shared<std::function<void(Result<TlsCertificate>)>>(std::move(done));
  const std::string cert_file = opt_.tls_cert_file;
  const std::string key_file = opt_.tls_key_file;
  bool queued = files().run([this, finish, cert_file, key_file]() -> std::function<void()> {
    auto loaded = lws_detail::load_tls_pair(cert_file, key_file);
    // Back on the loop: the only thread that touches the SSL_CTX.
    return [this, finish, loaded = std::move(loaded)] {
      if (!loaded.ok()) {
        (*finish)(loaded.status());
        return;
      }
      if (Status s = lws_detail::install_tls_pair(tls_ctx_, **loaded); !s.ok()) {
        // Put the old pair back whole: a half-applied install (out of
        // memory between the calls) must not leave a key without its cert.
        if (tls_pair_ != nullptr) (void)lws_detail::install_tls_pair(tls_ctx_, *tls_pair_);
        (*finish)(s);
        return;
      }
      tls_pair_ = *loaded;
      (*finish)(lws_detail::describe_certificate(tls_pair_->cert.get()));
    };
  });
  if (!queued) (*finish)(Status::unavailable("the transport's file thread is busy; try the reload again"));
}

Status LwsTransport::Impl::start_redirect(const lws_context_creation_info& main_info) {
  redirect_protocols_.push_back({"redirect", redirect_callback, 0, 0, 0, nullptr, 0});
  redirect_protocols_.push_back({nullptr, nullptr, 0, 0, 0, nullptr, 0});
  lws_context_creation_info info;
  std::memset(&info, 0, sizeof info);
  info.port = *opt_.tls_redirect_port;
  info.iface = main_info.iface;
  info.protocols = redirect_protocols_.data();
  info.vhost_name = "redirect";
  info.max_http_header_data = main_info.max_http_header_data;
  info.timeout_secs = main_info.timeout_secs;
  info.keepalive_timeout = main_info.keepalive_timeout;
  // Plain: no CREATE_VHOST_SSL_CTX, no certificate.
  info.options = LWS_SERVER_OPTION_VALIDATE_UTF8 | LWS_SERVER_OPTION_LIBEV;
  lws_vhost* vhost = lws_create_vhost(ctx_, &info);
  redirect_port_ = vhost != nullptr ? lws_get_vhost_listen_port(vhost) : 0;
  if (redirect_port_ <= 0) {
    std::string m = "cannot listen for the HTTP->HTTPS redirect on ";
    m += opt_.host;
    m += ":";
    m += std::to_string(*opt_.tls_redirect_port);
    return Status::unavailable(std::move(m));
  }
  return {};
}

int LwsTransport::Impl::redirect_callback(lws* wsi, lws_callback_reasons reason, void* user, void* in,
                                          std::size_t len) {
  if (reason != LWS_CALLBACK_HTTP) return lws_callback_http_dummy(wsi, reason, user, in, len);
  lws_context* ctx = lws_get_context(wsi);
  auto* impl = ctx ? static_cast<Impl*>(lws_context_user(ctx)) : nullptr;
  if (impl == nullptr) return -1;

  char host_buf[256];
  int n = lws_hdr_copy(wsi, host_buf, sizeof host_buf, WSI_TOKEN_HOST);
  std::string_view host =
      n > 0 ? std::string_view(host_buf, static_cast<std::size_t>(n)) : std::string_view();
  host = without_port(host);
  if (!plain_host(host))
    host = impl->opt_.host.empty() ? std::string_view("localhost") : std::string_view(impl->opt_.host);

  std::string location = "https://";
  location += host;
  location += ':';
  location += std::to_string(impl->port_);
  const std::size_t origin_size = location.size() + 1;  // with the first '/'
  std::string_view path =
      in != nullptr ? std::string_view(static_cast<const char*>(in), len) : std::string_view();
  if (path.empty() || path.front() != '/') location += '/';
  append_encoded(location, path, false);
  char arg[1024];
  for (int i = 0; i < 64; ++i) {
    int got = lws_hdr_copy_fragment(wsi, arg, sizeof arg, WSI_TOKEN_HTTP_URI_ARGS, i);
    if (got <= 0) break;
    location += i == 0 ? '?' : '&';
    append_encoded(location, std::string_view(arg, static_cast<std::size_t>(got)), true);
  }
  // Past a size that fits the answer's buffer: the query goes, then the path.
  if (location.size() > 4096 && location.find('?') != std::string::npos) location.resize(location.find('?'));
  if (location.size() > 4096) location.resize(origin_size);

  unsigned char buf[LWS_PRE + 6144];
  unsigned char* p = buf + LWS_PRE;
  unsigned char* end = buf + sizeof buf - 1;
  if (lws_http_redirect(wsi, HTTP_STATUS_MOVED_PERMANENTLY,
                        reinterpret_cast<const unsigned char*>(location.data()),
                        static_cast<int>(location.size()), &p, end) < 0)
    return -1;
  return lws_http_transaction_completed(wsi) != 0 ? -1 : 0;
}

}  // namespace realtime
