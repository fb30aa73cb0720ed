// TLS material for the libwebsockets transport: reading a certificate
// chain and key from PEM files, checking that they belong together, and
// installing them (with the hardened protocol and cipher settings) on the
// SSL_CTX that libwebsockets made for the listening vhost.
//
// Who calls: LwsTransport::Impl (tls_vhost.cpp) at start and on
// reload_tls(). load_tls_pair() reads files, so it runs wherever blocking
// is fine (create()'s caller, the file thread); everything that touches an
// SSL_CTX runs on the loop thread, where every handshake happens too.
#pragma once

#include <openssl/ssl.h>

#include <memory>
#include <string>

#include "realtime/lws_transport.h"
#include "realtime/status.h"

namespace realtime::lws_detail {

// Each file is read whole; a PEM chain larger than this is not a
// certificate someone meant to serve.
inline constexpr std::size_t kMaxPemFileBytes = 1 << 20;

// The ciphers offered for TLS 1.2: ECDHE key exchange only (forward
// secrecy) with AEAD ciphers only (AES-GCM, ChaCha20-Poly1305). This is
// the TLS 1.2 part of Mozilla's "intermediate" server profile without its
// DHE suites (they need DH parameters we do not ship, and every client
// that has TLS 1.2 has ECDHE). Left out on purpose: CBC suites (padding
// oracles, Lucky13), RC4, 3DES (Sweet32), static RSA key exchange (no
// forward secrecy), export, anonymous and NULL ciphers. TLS 1.3 keeps
// OpenSSL's default suites, all of which are AEAD.
inline constexpr const char* kTls12Ciphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";

struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
struct X509StackFree {
  void operator()(STACK_OF(X509) * s) const { sk_X509_pop_free(s, X509_free); }
};
struct PkeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};

// A certificate, the intermediates after it and its private key, checked
// to belong together. Immutable once loaded; shared between threads.
struct TlsPair {
  std::unique_ptr<X509, X509Free> cert;
  std::unique_ptr<STACK_OF(X509), X509StackFree> chain;  // may be empty, never null
  std::unique_ptr<EVP_PKEY, PkeyFree> key;
};

// Reads and checks both files. bad_request naming the file and the reason
// (cannot read it, no certificate in it, an encrypted or unparsable key,
// a key that is not the certificate's). Blocking; any thread.
Result<std::shared_ptr<const TlsPair>> load_tls_pair(const std::string& cert_file,
                                                     const std::string& key_file);

// The settings every TLS context of the transport gets before a
// certificate: TLS 1.2 at least, kTls12Ciphers, no renegotiation, no
// compression. Loop thread (or before the loop runs).
Status harden_tls_context(SSL_CTX* ctx);

// Makes `pair` what new handshakes on `ctx` present. Handshakes already
// made keep their own copy (OpenSSL copies the certificate set into each
// connection when it is created), so open connections are not touched.
// Refuses a key of another type than the one installed (OpenSSL would keep
// both and choose per client). Loop thread.
Status install_tls_pair(SSL_CTX* ctx, const TlsPair& pair);

// Subject, serial and expiry of `cert`, for logs.
TlsCertificate describe_certificate(const X509* cert);

}  // namespace realtime::lws_detail
