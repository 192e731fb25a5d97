// TLS configuration: TLS 1.2+ server contexts from a certificate and key, or a self-signed
// certificate generated into the data directory (mode 0600) on first start. reload() swaps in a
// freshly loaded context (SIGHUP); connections already open keep the context they started with.
#pragma once

#include <asio/ssl.hpp>
#include <memory>
#include <mutex>
#include <string>

#include "util/result.h"

namespace tern::net {

struct TlsSettings {
  std::string certFile;  // PEM chain; empty: self-signed in dataDir
  std::string keyFile;
  std::string dataDir;   // where a self-signed pair is kept (tls/cert.pem, tls/key.pem)
  std::string hostname;  // CN/SAN of a generated certificate
  std::string minVersion = "1.2";  // "1.2" or "1.3"
  std::string ciphers;   // TLS 1.2 cipher list; empty: a modern default (ECDHE + AEAD only)
};

class TlsContext {
 public:
  // Loads (or generates, then loads) the certificate. Error text says which file and why.
  static tern::Result<std::shared_ptr<TlsContext>, std::string> create(const TlsSettings& settings);

  std::shared_ptr<asio::ssl::context> current() const;
  tern::Result<void, std::string> reload();
  // SHA-256 fingerprint of the current certificate, "AB:CD:..." form, for the log.
  std::string fingerprint() const;

 private:
  explicit TlsContext(TlsSettings s) : settings_(std::move(s)) {}
  tern::Result<std::shared_ptr<asio::ssl::context>, std::string> load() const;
  TlsSettings settings_;
  mutable std::mutex mu_;
  std::shared_ptr<asio::ssl::context> ctx_;
  std::string fingerprint_;
};

// Generates a self-signed certificate (EC P-256, 10 years) for hostname into certFile/keyFile, the
// key with mode 0600.
tern::Result<void, std::string> generateSelfSigned(const std::string& hostname, const std::string& certFile,
                                                   const std::string& keyFile);

}  // namespace tern::net
