// Internal to tern_dkim: the OpenSSL-backed SigningKey. The key is read-only once loaded, so one
// instance may sign on many threads at once (each signature uses its own EVP_MD_CTX).
#pragma once

#include <openssl/evp.h>

#include <memory>
#include <string>
#include <string_view>

#include "dkim/dkim.h"

namespace tern::dkim::detail {

struct PkeyFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;

class OpensslKey final : public SigningKey {
 public:
  OpensslKey(PkeyPtr pkey, Algorithm algorithm, std::string domain, std::string selector)
      : pkey_(std::move(pkey)), algorithm_(algorithm), domain_(std::move(domain)), selector_(std::move(selector)) {}

  Algorithm algorithm() const override { return algorithm_; }
  const std::string& domain() const override { return domain_; }
  const std::string& selector() const override { return selector_; }

  // The raw signature over `data` (the canonicalized headers): RSASSA-PKCS1-v1_5 with SHA-256, or
  // Ed25519 over SHA-256(data) as RFC 8463 3 says.
  tern::Result<std::string, std::string> signData(std::string_view data) const;
  // "v=DKIM1; k=rsa; p=<SubjectPublicKeyInfo>" or "v=DKIM1; k=ed25519; p=<raw 32 bytes>".
  tern::Result<std::string, std::string> publicRecord() const;

 private:
  PkeyPtr pkey_;
  Algorithm algorithm_;
  std::string domain_;
  std::string selector_;
};

// The last OpenSSL error as text (and the queue cleared), prefixed with `what`.
std::string opensslError(std::string_view what);

}  // namespace tern::dkim::detail
