// Tests of LwsTransport's TLS in-process: create() refuses a missing,
// unreadable, unparsable, encrypted or mismatched certificate/key with a
// clear bad_request (never a crash, never a plain-text port), a good pair
// is served to a real OpenSSL client, and reload_tls() swaps the pair for
// new handshakes while keeping open connections and keeping the old pair
// when the new one is bad. Certificates are made here with OpenSSL, in a
// temporary directory; the client runs on the test thread.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <future>
#include <memory>
#include <string>

#include "http_test_client.h"
#include "lws_test_server.h"

namespace realtime {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

struct KeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct CertFree {
  void operator()(X509* c) const { X509_free(c); }
};
using Key = std::unique_ptr<EVP_PKEY, KeyFree>;
using Cert = std::unique_ptr<X509, CertFree>;

Key ec_key() { return Key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256")); }
Key rsa_key() { return Key(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(2048))); }

// A self-signed certificate for CN=localhost with this serial.
Cert self_signed(EVP_PKEY* key, long serial) {
  Cert c(X509_new());
  X509_set_version(c.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(c.get()), serial);
  X509_gmtime_adj(X509_getm_notBefore(c.get()), -60);
  X509_gmtime_adj(X509_getm_notAfter(c.get()), 3600);
  X509_set_pubkey(c.get(), key);
  X509_NAME* name = X509_get_subject_name(c.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("localhost"),
                             -1, -1, 0);
  X509_set_issuer_name(c.get(), name);
  X509_sign(c.get(), key, EVP_sha256());
  return c;
}

void write_cert(const fs::path& path, X509* cert) {
  std::FILE* f = std::fopen(path.c_str(), "wb");
  ASSERT_NE(f, nullptr);
  PEM_write_X509(f, cert);
  std::fclose(f);
}

void write_key(const fs::path& path, EVP_PKEY* key, const char* passphrase = nullptr) {
  std::FILE* f = std::fopen(path.c_str(), "wb");
  ASSERT_NE(f, nullptr);
  if (passphrase != nullptr)
    PEM_write_PrivateKey(f, key, EVP_aes_128_cbc(), nullptr, 0, nullptr, const_cast<char*>(passphrase));
  else
    PEM_write_PrivateKey(f, key, nullptr, nullptr, 0, nullptr, nullptr);
  std::fclose(f);
}

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/lws-tls-XXXXXX";
    path_ = mkdtemp(tmpl);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  fs::path operator/(const char* name) const { return path_ / name; }

 private:
  fs::path path_;
};

LwsOptions tls_options(const fs::path& cert, const fs::path& key) {
  LwsOptions o;
  o.host = "127.0.0.1";
  o.port = 0;
  o.tls_cert_file = cert.string();
  o.tls_key_file = key.string();
  return o;
}

// create() must fail with bad_request whose message holds `words`.
void expect_refused(const LwsOptions& o, const std::string& words) {
  auto t = LwsTransport::create(o);
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.status().code(), StatusCode::bad_request) << t.status().to_string();
  EXPECT_NE(t.status().message().find(words), std::string::npos) << t.status().message();
}

// A TLS client connection on the test thread, with a 3 s deadline on every
// read and write; it does not verify the server (the tests read what it
// presents).
class TlsClient {
 public:
  explicit TlsClient(int port) : ctx_(SSL_CTX_new(TLS_client_method())) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    timeval tv{3, 0};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) return;
    ssl_ = SSL_new(ctx_);
    SSL_set_fd(ssl_, fd_);
    SSL_set_tlsext_host_name(ssl_, "localhost");
    connected_ = SSL_connect(ssl_) == 1;
    ERR_clear_error();
  }
  ~TlsClient() {
    if (ssl_ != nullptr) SSL_free(ssl_);
    if (fd_ >= 0) ::close(fd_);
    SSL_CTX_free(ctx_);
  }
  bool connected() const { return connected_; }
  // The serial the server presented, decimal.
  long serial() const {
    Cert peer(SSL_get1_peer_certificate(ssl_));
    return peer ? ASN1_INTEGER_get(X509_get0_serialNumber(peer.get())) : -1;
  }
  // One keep-alive GET; the status line of the answer, or "" on failure.
  std::string get(const std::string& path) {
    std::string req = "GET ";
    req += path;
    req += " HTTP/1.1\r\nHost: localhost\r\n\r\n";
    if (SSL_write(ssl_, req.data(), static_cast<int>(req.size())) <= 0) return {};
    std::string got;
    char buf[4096];
    while (got.find("\r\n\r\n") == std::string::npos && got.size() < 65536) {
      int n = SSL_read(ssl_, buf, sizeof buf);
      if (n <= 0) return {};
      got.append(buf, static_cast<std::size_t>(n));
    }
    // Drain the (small) body so the next request starts clean.
    auto cl = got.find("content-length: ");
    if (cl == std::string::npos) cl = got.find("Content-Length: ");
    if (cl != std::string::npos) {
      std::size_t want = std::stoul(got.substr(cl + 16)) + got.find("\r\n\r\n") + 4;
      while (got.size() < want) {
        int n = SSL_read(ssl_, buf, sizeof buf);
        if (n <= 0) return {};
        got.append(buf, static_cast<std::size_t>(n));
      }
    }
    return got.substr(0, got.find("\r\n"));
  }

 private:
  SSL_CTX* ctx_;
  SSL* ssl_ = nullptr;
  int fd_ = -1;
  bool connected_ = false;
};

Result<TlsCertificate> reload(testing::LwsTestServer& s) {
  // Shared: a reload that answers after the deadline must find it alive.
  auto got = std::make_shared<std::promise<Result<TlsCertificate>>>();
  auto f = got->get_future();
  s.transport().post([&s, got] {
    s.transport().reload_tls([got](Result<TlsCertificate> r) { got->set_value(std::move(r)); });
  });
  if (f.wait_for(5s) != std::future_status::ready) return Status::unavailable("reload_tls never answered");
  return f.get();
}

TEST(LwsTls, StartRefusesMissingFiles) {
  TempDir dir;
  Key key = ec_key();
  Cert cert = self_signed(key.get(), 7);
  write_cert(dir / "cert.pem", cert.get());
  write_key(dir / "key.pem", key.get());
  expect_refused(tls_options(dir / "missing.pem", dir / "key.pem"), "missing.pem: No such file");
  expect_refused(tls_options(dir / "cert.pem", dir / "missing.pem"), "missing.pem: No such file");
  expect_refused(tls_options("", dir / "key.pem"), "without a certificate");
  expect_refused(tls_options(dir / "cert.pem", ""), "without a key");
}

TEST(LwsTls, StartRefusesUnreadableAndBrokenFiles) {
  TempDir dir;
  Key key = ec_key();
  Cert cert = self_signed(key.get(), 7);
  write_cert(dir / "cert.pem", cert.get());
  write_key(dir / "key.pem", key.get());
  std::ofstream(dir / "junk.pem") << "not a certificate\n";
  expect_refused(tls_options(dir / "junk.pem", dir / "key.pem"), "no PEM certificate");
  expect_refused(tls_options(dir / "cert.pem", dir / "junk.pem"), "no unencrypted PEM private key");
  // The key file given as the certificate, and the other way round.
  expect_refused(tls_options(dir / "key.pem", dir / "cert.pem"), "no PEM certificate");
  // A directory where a file should be.
  auto dir_as_file = LwsTransport::create(tls_options(dir / ".", dir / "key.pem"));
  ASSERT_FALSE(dir_as_file.ok());
  EXPECT_EQ(dir_as_file.status().code(), StatusCode::bad_request);
  // Without read permission (root reads anyway: then only the other checks count).
  fs::copy_file(dir / "key.pem", dir / "locked.pem");
  fs::permissions(dir / "locked.pem", fs::perms::none);
  if (geteuid() != 0) expect_refused(tls_options(dir / "cert.pem", dir / "locked.pem"), "Permission denied");
}

TEST(LwsTls, StartRefusesAKeyThatIsNotTheCertificatesOrIsEncrypted) {
  TempDir dir;
  Key key = ec_key();
  Key other = ec_key();
  Cert cert = self_signed(key.get(), 7);
  write_cert(dir / "cert.pem", cert.get());
  write_key(dir / "other.pem", other.get());
  write_key(dir / "encrypted.pem", key.get(), "secret");
  expect_refused(tls_options(dir / "cert.pem", dir / "other.pem"),
                 "is not the private key of the certificate");
  // Refused at once: no passphrase prompt on a terminal.
  expect_refused(tls_options(dir / "cert.pem", dir / "encrypted.pem"), "no unencrypted PEM private key");
}

TEST(LwsTls, RedirectPortNeedsTls) {
  LwsOptions o;
  o.tls_redirect_port = 0;
  expect_refused(o, "redirect port needs a TLS certificate");
}

TEST(LwsTls, ServesThePairAndNeverPlainHttp) {
  TempDir dir;
  Key key = ec_key();
  Cert cert = self_signed(key.get(), 4242);
  write_cert(dir / "cert.pem", cert.get());
  write_key(dir / "key.pem", key.get());
  testing::LwsTestServer s(tls_options(dir / "cert.pem", dir / "key.pem"));
  ASSERT_TRUE(s.ok());
  s.transport().add_route("GET", "/ping",
                          [](const HttpRequest&, HttpResponder respond) { respond(HttpResponse{}); });
  auto served = s.transport().tls_certificate();
  ASSERT_TRUE(served.has_value());
  EXPECT_EQ(served->subject, "CN=localhost");
  EXPECT_EQ(served->serial, "1092");  // 4242
  EXPECT_EQ(served->not_after.size(), 20u) << served->not_after;
  s.start();
  TlsClient c(s.port());
  ASSERT_TRUE(c.connected());
  EXPECT_EQ(c.serial(), 4242);
  EXPECT_EQ(c.get("/ping"), "HTTP/1.1 200 OK");
  // Plain HTTP on the TLS port gets no HTTP answer.
  EXPECT_FALSE(testing::http(s.port(), "GET", "/ping").has_value());
}

TEST(LwsTls, ReloadSwapsThePairForNewHandshakesOnly) {
  TempDir dir;
  Key key = ec_key();
  Cert first = self_signed(key.get(), 1001);
  write_cert(dir / "cert.pem", first.get());
  write_key(dir / "key.pem", key.get());
  testing::LwsTestServer s(tls_options(dir / "cert.pem", dir / "key.pem"));
  ASSERT_TRUE(s.ok());
  s.transport().add_route("GET", "/ping",
                          [](const HttpRequest&, HttpResponder respond) { respond(HttpResponse{}); });
  s.start();
  TlsClient before(s.port());
  ASSERT_TRUE(before.connected());
  ASSERT_EQ(before.serial(), 1001);

  // A bad new pair: the certificate of another key. The old pair stays.
  Key next_key = ec_key();
  Cert next = self_signed(next_key.get(), 2002);
  write_cert(dir / "cert.pem", next.get());
  auto bad = reload(s);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::bad_request);
  EXPECT_NE(bad.status().message().find("is not the private key"), std::string::npos)
      << bad.status().message();
  {
    TlsClient during(s.port());
    ASSERT_TRUE(during.connected());
    EXPECT_EQ(during.serial(), 1001);
  }
  // A key of another type than the one served is refused too.
  Key rsa = rsa_key();
  Cert rsa_cert = self_signed(rsa.get(), 3003);
  write_cert(dir / "cert.pem", rsa_cert.get());
  write_key(dir / "key.pem", rsa.get());
  auto other_type = reload(s);
  ASSERT_FALSE(other_type.ok());
  EXPECT_NE(other_type.status().message().find("another type"), std::string::npos)
      << other_type.status().message();

  // The good new pair.
  write_cert(dir / "cert.pem", next.get());
  write_key(dir / "key.pem", next_key.get());
  auto good = reload(s);
  ASSERT_TRUE(good.ok()) << good.status().to_string();
  EXPECT_EQ(good->serial, "07D2");  // 2002, whole bytes
  TlsClient after(s.port());
  ASSERT_TRUE(after.connected());
  EXPECT_EQ(after.serial(), 2002);
  // The connection made before every reload still works.
  EXPECT_EQ(before.get("/ping"), "HTTP/1.1 200 OK");
  EXPECT_EQ(before.serial(), 1001);
}

TEST(LwsTls, ReloadWithoutTlsSaysSo) {
  testing::LwsTestServer s(LwsOptions{});
  ASSERT_TRUE(s.ok());
  s.start();
  auto r = reload(s);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("TLS is not on"), std::string::npos);
}

TEST(LwsTls, SignalsReachTheLoopThread) {
  // Declared before the server: its loop thread uses them until it is joined.
  std::promise<std::pair<int, std::thread::id>> got;
  bool once = false;
  testing::LwsTestServer s(LwsOptions{});
  ASSERT_TRUE(s.ok());
  s.transport().on_signal([&](int signo) {
    if (!once) got.set_value({signo, std::this_thread::get_id()});
    once = true;
  });
  s.start();
  s.transport().notify_signal(0);   // ignored
  s.transport().notify_signal(64);  // ignored
  s.transport().notify_signal(SIGHUP);
  auto f = got.get_future();
  ASSERT_EQ(f.wait_for(5s), std::future_status::ready);
  auto [signo, thread] = f.get();
  EXPECT_EQ(signo, SIGHUP);
  EXPECT_NE(thread, std::this_thread::get_id());
}

}  // namespace
}  // namespace realtime
