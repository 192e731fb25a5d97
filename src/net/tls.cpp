// TLS server contexts: protocol/cipher policy, loading a PEM chain and key, and generating a
// self-signed EC P-256 certificate on first start. Reads only operator-supplied files, no peer bytes.
#include "net/tls.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

namespace tern::net {
namespace {

// Mozilla "intermediate" minus DHE and CBC: forward secrecy and AEAD only. TLS 1.3 suites are
// OpenSSL's defaults, which are all AEAD.
constexpr const char* kDefaultCiphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";

// The most recent OpenSSL error as text (and clears the queue), or `fallback` when there is none.
std::string opensslError(const char* fallback) {
  unsigned long e = ERR_get_error();
  unsigned long last = e;
  while (e != 0) {
    last = e;
    e = ERR_get_error();
  }
  if (last == 0) return fallback;
  char buf[256];
  ERR_error_string_n(last, buf, sizeof buf);
  return buf;
}

template <class T, void (*Free)(T*)>
struct Deleter {
  void operator()(T* p) const { Free(p); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY, EVP_PKEY_free>>;
using X509Ptr = std::unique_ptr<X509, Deleter<X509, X509_free>>;
using BnPtr = std::unique_ptr<BIGNUM, Deleter<BIGNUM, BN_free>>;
using NamesPtr = std::unique_ptr<GENERAL_NAMES, Deleter<GENERAL_NAMES, GENERAL_NAMES_free>>;

bool isIpLiteral(const std::string& host, unsigned char out[16], int* len) {
  if (inet_pton(AF_INET, host.c_str(), out) == 1) {
    *len = 4;
    return true;
  }
  if (inet_pton(AF_INET6, host.c_str(), out) == 1) {
    *len = 16;
    return true;
  }
  return false;
}

// subjectAltName with one DNS name (or IP address), built directly so that the hostname is never
// parsed as an OpenSSL configuration string.
bool addSubjectAltName(X509* cert, const std::string& host) {
  NamesPtr names(sk_GENERAL_NAME_new_null());
  GENERAL_NAME* gen = GENERAL_NAME_new();
  if (!names || !gen) {
    GENERAL_NAME_free(gen);
    return false;
  }
  unsigned char ip[16];
  int ipLen = 0;
  ASN1_STRING* value = ASN1_STRING_type_new(isIpLiteral(host, ip, &ipLen) ? V_ASN1_OCTET_STRING : V_ASN1_IA5STRING);
  bool ok = value != nullptr;
  if (ok && ipLen > 0) {
    ok = ASN1_STRING_set(value, ip, ipLen) == 1;
    GENERAL_NAME_set0_value(gen, GEN_IPADD, value);
  } else if (ok) {
    ok = ASN1_STRING_set(value, host.data(), static_cast<int>(host.size())) == 1;
    GENERAL_NAME_set0_value(gen, GEN_DNS, value);
  }
  if (!ok || sk_GENERAL_NAME_push(names.get(), gen) == 0) {
    GENERAL_NAME_free(gen);
    return false;
  }
  return X509_add1_ext_i2d(cert, NID_subject_alt_name, names.get(), 0, X509V3_ADD_DEFAULT) == 1;
}

bool addExtension(X509* cert, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, cert, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  if (ext == nullptr) return false;
  bool ok = X509_add_ext(cert, ext, -1) == 1;
  X509_EXTENSION_free(ext);
  return ok;
}

// Writes `text` to `path` through a fresh temporary file created with `mode` (never wider at any
// moment), fsynced, then renamed into place so a crash never leaves a half-written file.
tern::Result<void, std::string> writeFileAtomic(const std::string& path, const std::string& text, mode_t mode) {
  std::string tmp = path + ".tmp";
  ::unlink(tmp.c_str());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
  if (fd < 0) return tern::unexpected("cannot create " + tmp + ": " + std::strerror(errno));
  size_t done = 0;
  while (done < text.size()) {
    ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      std::string err = std::strerror(errno);
      ::close(fd);
      ::unlink(tmp.c_str());
      return tern::unexpected("cannot write " + tmp + ": " + err);
    }
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    std::string err = std::strerror(errno);
    ::unlink(tmp.c_str());
    return tern::unexpected("cannot write " + tmp + ": " + err);
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    std::string err = std::strerror(errno);
    ::unlink(tmp.c_str());
    return tern::unexpected("cannot rename " + tmp + " to " + path + ": " + err);
  }
  return {};
}

template <class WriteFn>
tern::Result<std::string, std::string> pemString(WriteFn write) {
  BIO* bio = BIO_new(BIO_s_mem());
  if (bio == nullptr) return tern::unexpected(std::string("out of memory"));
  if (write(bio) != 1) {
    BIO_free(bio);
    return tern::unexpected(opensslError("PEM encoding failed"));
  }
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  std::string out(data, static_cast<size_t>(len));
  BIO_free(bio);
  return out;
}

std::string sha256Fingerprint(X509* cert) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (cert == nullptr || X509_digest(cert, EVP_sha256(), md, &len) != 1) return {};
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  out.reserve(len * 3);
  for (unsigned int i = 0; i < len; ++i) {
    if (i) out += ':';
    out += hex[md[i] >> 4];
    out += hex[md[i] & 0xf];
  }
  return out;
}

// 0 when path exists, else the errno of stat().
int statError(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 ? 0 : errno;
}

}  // namespace

tern::Result<void, std::string> generateSelfSigned(const std::string& hostnameIn, const std::string& certFile,
                                                   const std::string& keyFile) {
  std::string hostname = hostnameIn.empty() ? "localhost" : hostnameIn;
  ERR_clear_error();
  PkeyPtr key(EVP_EC_gen("P-256"));
  if (!key) return tern::unexpected("cannot generate EC key: " + opensslError("EVP_EC_gen failed"));

  X509Ptr cert(X509_new());
  if (!cert) return tern::unexpected(std::string("out of memory"));
  // A random positive 127-bit serial: unique per certificate, as RFC 5280 4.1.2.2 asks.
  BnPtr serial(BN_new());
  bool ok = serial && BN_rand(serial.get(), 127, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) == 1 &&
            BN_to_ASN1_INTEGER(serial.get(), X509_get_serialNumber(cert.get())) != nullptr;
  ok = ok && X509_set_version(cert.get(), X509_VERSION_3) == 1;
  ok = ok && X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600) != nullptr;  // tolerate clock skew
  ok = ok && X509_time_adj_ex(X509_getm_notAfter(cert.get()), 3650, 0, nullptr) != nullptr;
  ok = ok && X509_set_pubkey(cert.get(), key.get()) == 1;
  if (ok) {
    X509_NAME* name = X509_get_subject_name(cert.get());
    // CN is limited to 64 characters (RFC 5280 ub-common-name); the SAN carries the full name.
    std::string cn = hostname.substr(0, 64);
    ok = X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, reinterpret_cast<const unsigned char*>(cn.c_str()),
                                    -1, -1, 0) == 1 &&
         X509_set_issuer_name(cert.get(), name) == 1;
  }
  ok = ok && addSubjectAltName(cert.get(), hostname);
  ok = ok && addExtension(cert.get(), NID_basic_constraints, "critical,CA:FALSE");
  ok = ok && addExtension(cert.get(), NID_key_usage, "critical,digitalSignature");
  ok = ok && addExtension(cert.get(), NID_ext_key_usage, "serverAuth");
  ok = ok && addExtension(cert.get(), NID_subject_key_identifier, "hash");
  ok = ok && X509_sign(cert.get(), key.get(), EVP_sha256()) > 0;
  if (!ok) return tern::unexpected("cannot build self-signed certificate: " + opensslError("X509 error"));

  auto keyPem = pemString([&](BIO* b) {
    return PEM_write_bio_PrivateKey(b, key.get(), nullptr, nullptr, 0, nullptr, nullptr);
  });
  if (!keyPem) return tern::unexpected(keyPem.error());
  auto certPem = pemString([&](BIO* b) { return PEM_write_bio_X509(b, cert.get()); });
  if (!certPem) return tern::unexpected(certPem.error());
  // Key first: a certificate on disk means its key is already there.
  if (auto r = writeFileAtomic(keyFile, *keyPem, 0600); !r) return r;
  OPENSSL_cleanse(keyPem->data(), keyPem->size());
  return writeFileAtomic(certFile, *certPem, 0644);
}

tern::Result<std::shared_ptr<TlsContext>, std::string> TlsContext::create(const TlsSettings& settings) {
  std::shared_ptr<TlsContext> tls(new TlsContext(settings));
  auto ctx = tls->load();
  if (!ctx) return tern::unexpected(ctx.error());
  tls->fingerprint_ = sha256Fingerprint(SSL_CTX_get0_certificate(ctx.value()->native_handle()));
  tls->ctx_ = std::move(ctx.value());
  return tls;
}

std::shared_ptr<asio::ssl::context> TlsContext::current() const {
  std::lock_guard lock(mu_);
  return ctx_;
}

std::string TlsContext::fingerprint() const {
  std::lock_guard lock(mu_);
  return fingerprint_;
}

tern::Result<void, std::string> TlsContext::reload() {
  auto ctx = load();
  if (!ctx) return tern::unexpected(ctx.error());
  std::string fp = sha256Fingerprint(SSL_CTX_get0_certificate(ctx.value()->native_handle()));
  std::lock_guard lock(mu_);
  ctx_ = std::move(ctx.value());
  fingerprint_ = std::move(fp);
  return {};
}

tern::Result<std::shared_ptr<asio::ssl::context>, std::string> TlsContext::load() const {
  std::string certFile = settings_.certFile;
  std::string keyFile = settings_.keyFile;
  if (certFile.empty()) {
    if (settings_.dataDir.empty()) {
      return tern::unexpected(std::string("TLS: no certificate configured and no data directory for a self-signed one"));
    }
    std::string dir = settings_.dataDir + "/tls";
    std::error_code ec;
    std::filesystem::create_directories(settings_.dataDir, ec);
    if (ec) return tern::unexpected("TLS: cannot create " + settings_.dataDir + ": " + ec.message());
    if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
      return tern::unexpected("TLS: cannot create " + dir + ": " + std::strerror(errno));
    }
    certFile = dir + "/cert.pem";
    keyFile = dir + "/key.pem";
    if (statError(certFile) != 0 || statError(keyFile) != 0) {
      if (auto r = generateSelfSigned(settings_.hostname, certFile, keyFile); !r) {
        return tern::unexpected("TLS: " + r.error());
      }
    }
  } else if (keyFile.empty()) {
    keyFile = certFile;  // a combined PEM file holds both
  }

  int minVersion = 0;
  if (settings_.minVersion.empty() || settings_.minVersion == "1.2") {
    minVersion = TLS1_2_VERSION;
  } else if (settings_.minVersion == "1.3") {
    minVersion = TLS1_3_VERSION;
  } else {
    return tern::unexpected("TLS: unsupported minimum version \"" + settings_.minVersion + "\" (use 1.2 or 1.3)");
  }

  auto ctx = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_server);
  SSL_CTX* native = ctx->native_handle();
  ERR_clear_error();
  SSL_CTX_set_options(native, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
  // Free the 16 KiB+ record buffers whenever a connection has nothing in flight: with thousands of
  // idle (IDLE) connections these would otherwise dominate memory. Stream sets it per SSL as well.
  SSL_CTX_set_mode(native, SSL_MODE_RELEASE_BUFFERS);
  if (SSL_CTX_set_min_proto_version(native, minVersion) != 1) {
    return tern::unexpected("TLS: cannot set minimum version: " + opensslError("unknown error"));
  }
  const std::string ciphers = settings_.ciphers.empty() ? kDefaultCiphers : settings_.ciphers;
  if (SSL_CTX_set_cipher_list(native, ciphers.c_str()) != 1) {
    return tern::unexpected("TLS: invalid cipher list \"" + ciphers + "\": " + opensslError("no usable cipher"));
  }
  // Lets clients resume sessions with any worker: every worker shares this context.
  static const unsigned char kSessionId[] = "tern";
  SSL_CTX_set_session_id_context(native, kSessionId, sizeof kSessionId - 1);

  if (int err = statError(certFile); err != 0) {
    return tern::unexpected("TLS: certificate file " + certFile + ": " + std::strerror(err));
  }
  if (SSL_CTX_use_certificate_chain_file(native, certFile.c_str()) != 1) {
    return tern::unexpected("TLS: cannot load certificate file " + certFile + ": " +
                            opensslError("not a PEM certificate chain"));
  }
  if (int err = statError(keyFile); err != 0) {
    return tern::unexpected("TLS: key file " + keyFile + ": " + std::strerror(err));
  }
  if (SSL_CTX_use_PrivateKey_file(native, keyFile.c_str(), SSL_FILETYPE_PEM) != 1) {
    return tern::unexpected("TLS: cannot load key file " + keyFile + ": " + opensslError("not a PEM private key"));
  }
  if (SSL_CTX_check_private_key(native) != 1) {
    return tern::unexpected("TLS: key file " + keyFile + " does not match certificate " + certFile + ": " +
                            opensslError("mismatch"));
  }
  return ctx;
}

}  // namespace tern::net
