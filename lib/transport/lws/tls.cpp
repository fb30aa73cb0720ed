// TLS material for the libwebsockets transport (see tls.h): PEM files to a
// checked certificate/key pair, and that pair onto an SSL_CTX. Plain
// OpenSSL; nothing here knows libwebsockets.
#include "transport/lws/tls.h"

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>

namespace realtime::lws_detail {
namespace {

struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
using BioPtr = std::unique_ptr<BIO, BioFree>;

// OpenSSL's reason for the last failure, and the error queue emptied (it
// is per thread; a stale entry would be blamed on the next call).
std::string openssl_reason() {
  unsigned long e = ERR_peek_last_error();
  std::string out;
  if (e != 0) {
    const char* r = ERR_reason_error_string(e);
    out = r != nullptr ? r : "unknown OpenSSL error";
  } else {
    out = "no detail from OpenSSL";
  }
  ERR_clear_error();
  return out;
}

Status file_error(const char* what, const std::string& path, const std::string& why) {
  std::string m = what;
  m += " ";
  m += path;
  m += ": ";
  m += why;
  return Status::bad_request(std::move(m));
}

// The whole file, bounded by kMaxPemFileBytes.
Result<std::string> read_pem_file(const char* what, const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) return file_error(what, path, std::strerror(errno));
  std::string data;
  char buf[16384];
  bool too_big = false;
  for (;;) {
    std::size_t n = std::fread(buf, 1, sizeof buf, f);
    if (n == 0) break;
    if (data.size() + n > kMaxPemFileBytes) {
      too_big = true;
      break;
    }
    data.append(buf, n);
  }
  bool failed = std::ferror(f) != 0;
  int read_errno = errno;
  std::fclose(f);
  if (too_big) return file_error(what, path, "larger than 1 MiB");
  if (failed) return file_error(what, path, std::strerror(read_errno));
  return data;
}

// Never prompts: an encrypted key fails to load instead of waiting for a
// passphrase on a terminal a server does not have.
int no_passphrase(char* /*buf*/, int /*size*/, int /*rwflag*/, void* /*u*/) { return -1; }

std::string asn1_time_iso(const ASN1_TIME* t) {
  std::tm tm{};
  if (t == nullptr || ASN1_TIME_to_tm(t, &tm) != 1) return "unknown";
  char out[32];
  std::strftime(out, sizeof out, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return out;
}

}  // namespace

Result<std::shared_ptr<const TlsPair>> load_tls_pair(const std::string& cert_file,
                                                     const std::string& key_file) {
  ERR_clear_error();
  auto cert_pem = read_pem_file("TLS certificate file", cert_file);
  if (!cert_pem.ok()) return cert_pem.status();
  auto key_pem = read_pem_file("TLS key file", key_file);
  if (!key_pem.ok()) return key_pem.status();

  auto pair = std::make_shared<TlsPair>();
  BioPtr cert_bio(BIO_new_mem_buf(cert_pem->data(), static_cast<int>(cert_pem->size())));
  if (!cert_bio) return Status::internal("out of memory reading the TLS certificate");
  pair->cert.reset(PEM_read_bio_X509_AUX(cert_bio.get(), nullptr, no_passphrase, nullptr));
  if (!pair->cert)
    return file_error("TLS certificate file", cert_file,
                      "no PEM certificate in it (" + openssl_reason() + ")");
  pair->chain.reset(sk_X509_new_null());
  if (!pair->chain) return Status::internal("out of memory reading the TLS certificate chain");
  // The rest of the file: intermediates, until the PEM data ends. Anything
  // that is not a certificate after the first one is an error, not ignored:
  // a half-written chain would otherwise be served.
  for (int i = 0; i < 64; ++i) {
    X509* next = PEM_read_bio_X509(cert_bio.get(), nullptr, no_passphrase, nullptr);
    if (next == nullptr) {
      unsigned long e = ERR_peek_last_error();
      if (ERR_GET_LIB(e) == ERR_LIB_PEM && ERR_GET_REASON(e) == PEM_R_NO_START_LINE) {
        ERR_clear_error();
        break;
      }
      return file_error("TLS certificate file", cert_file,
                        "a broken certificate after the first (" + openssl_reason() + ")");
    }
    if (sk_X509_push(pair->chain.get(), next) == 0) {
      X509_free(next);
      return Status::internal("out of memory reading the TLS certificate chain");
    }
  }

  BioPtr key_bio(BIO_new_mem_buf(key_pem->data(), static_cast<int>(key_pem->size())));
  if (!key_bio) return Status::internal("out of memory reading the TLS key");
  pair->key.reset(PEM_read_bio_PrivateKey(key_bio.get(), nullptr, no_passphrase, nullptr));
  if (!pair->key)
    return file_error("TLS key file", key_file,
                      "no unencrypted PEM private key in it (" + openssl_reason() + ")");
  if (X509_check_private_key(pair->cert.get(), pair->key.get()) != 1) {
    ERR_clear_error();
    std::string why = "is not the private key of the certificate in ";
    why += cert_file;
    return file_error("TLS key file", key_file, why);
  }
  return std::shared_ptr<const TlsPair>(std::move(pair));
}

Status harden_tls_context(SSL_CTX* ctx) {
  ERR_clear_error();
  if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1)
    return Status::internal("cannot require TLS 1.2: " + openssl_reason());
  if (SSL_CTX_set_cipher_list(ctx, kTls12Ciphers) != 1)
    return Status::internal("cannot set the TLS 1.2 ciphers: " + openssl_reason());
  // Client-initiated renegotiation costs the server a handshake per request
  // of the client's choosing; nothing here needs it.
  SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION | SSL_OP_CIPHER_SERVER_PREFERENCE);
  return {};
}

Status install_tls_pair(SSL_CTX* ctx, const TlsPair& pair) {
  ERR_clear_error();
  if (X509* current = SSL_CTX_get0_certificate(ctx); current != nullptr) {
    EVP_PKEY* served = X509_get0_pubkey(current);
    if (served != nullptr && EVP_PKEY_base_id(served) != EVP_PKEY_base_id(pair.key.get()))
      return Status::bad_request(
          "the new TLS key is of another type than the one served (RSA vs EC, say); restart to switch");
  }
  // The old key does not match the new certificate, so OpenSSL drops it on
  // the first call and the second installs the new one. No handshake runs
  // in between: both happen on the loop thread.
  if (SSL_CTX_use_certificate(ctx, pair.cert.get()) != 1)
    return Status::bad_request("cannot use the TLS certificate: " + openssl_reason());
  if (SSL_CTX_use_PrivateKey(ctx, pair.key.get()) != 1)
    return Status::bad_request("cannot use the TLS key: " + openssl_reason());
  if (SSL_CTX_set1_chain(ctx, pair.chain.get()) != 1)
    return Status::bad_request("cannot use the TLS certificate chain: " + openssl_reason());
  if (SSL_CTX_check_private_key(ctx) != 1)
    return Status::bad_request("the TLS key does not match the certificate: " + openssl_reason());
  return {};
}

TlsCertificate describe_certificate(const X509* cert) {
  TlsCertificate out;
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (bio && X509_NAME_print_ex(bio.get(), X509_get_subject_name(cert), 0, XN_FLAG_RFC2253) >= 0) {
    char* data = nullptr;
    long n = BIO_get_mem_data(bio.get(), &data);
    if (n > 0) out.subject.assign(data, static_cast<std::size_t>(n));
  }
  if (BIGNUM* bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), nullptr); bn != nullptr) {
    if (char* hex = BN_bn2hex(bn); hex != nullptr) {
      out.serial = hex;
      OPENSSL_free(hex);
    }
    BN_free(bn);
  }
  out.not_after = asn1_time_iso(X509_get0_notAfter(cert));
  ERR_clear_error();
  return out;
}

}  // namespace realtime::lws_detail
