// DKIM signing (RFC 6376) with relaxed/relaxed canonicalization, rsa-sha256 and ed25519-sha256
// (RFC 8463), and key generation for `tern dkim generate`. Signs our own users' outgoing mail; the
// message bytes may still be anything a client submitted, so parsing is bounded and never throws.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.h"

namespace tern::dkim {

enum class Algorithm { RsaSha256, Ed25519Sha256 };

class SigningKey {
 public:
  virtual ~SigningKey() = default;
  virtual Algorithm algorithm() const = 0;
  virtual const std::string& domain() const = 0;    // d=
  virtual const std::string& selector() const = 0;  // s=
};

// Loads a PEM private key (PKCS#8, RSA or Ed25519) from a file.
tern::Result<std::shared_ptr<const SigningKey>, std::string> loadKey(const std::string& pemPath,
                                                                     std::string_view domain,
                                                                     std::string_view selector);
// The same from PEM text in memory (tests).
tern::Result<std::shared_ptr<const SigningKey>, std::string> loadKeyFromPem(std::string_view pem,
                                                                            std::string_view domain,
                                                                            std::string_view selector);

struct GeneratedKey {
  std::string privateKeyPem;  // PKCS#8
  std::string dnsName;        // "<selector>._domainkey.<domain>"
  std::string txtRecord;      // "v=DKIM1; k=rsa; p=<base64 public key>" (k=ed25519 for Ed25519)
};
// RSA keys are 2048 bits unless rsaBits says otherwise (1024..4096).
tern::Result<GeneratedKey, std::string> generateKey(Algorithm algorithm, std::string_view domain,
                                                    std::string_view selector, unsigned rsaBits = 2048);

// The header fields signed (h=) when present, RFC 6376 5.4.1's recommendation; From is always signed.
const std::vector<std::string>& defaultSignedHeaders();

// Returns the complete "DKIM-Signature: ...\r\n" header field (folded) to prepend to `message`
// (CRLF line endings, as queued). `timestamp` is t= (unix seconds).
tern::Result<std::string, std::string> sign(const SigningKey& key, std::string_view message, int64_t timestamp);

// Canonicalization, exposed for tests (RFC 6376 3.4.2 and 3.4.4).
std::string relaxedHeader(std::string_view name, std::string_view value);  // "name:value\r\n"
std::string relaxedBody(std::string_view body);

// --- Added beyond the contract above ---------------------------------------------------------------

// sign() refuses messages whose header section is larger than this (the caller then sends unsigned).
inline constexpr size_t kMaxHeaderFields = 1000;
inline constexpr size_t kMaxHeaderBytes = 1024 * 1024;

// The bh= value: base64(SHA-256(relaxedBody(body))), computed without copying the body.
std::string bodyHash(std::string_view body);

// The lower level of sign(), for tests and for reproducing published vectors byte for byte: the b=
// value (base64) for `message` (without the signature being made), signing the header fields named
// in `signedHeaderNames` in that order (instances picked bottom-up, RFC 6376 5.4.2) under
// `signatureField`, the complete "DKIM-Signature: ..." field exactly as it will be sent, folded or
// not, whose last tag is an empty "b=".
tern::Result<std::string, std::string> signatureValue(const SigningKey& key, std::string_view message,
                                                      const std::vector<std::string>& signedHeaderNames,
                                                      std::string_view signatureField);

// The DNS TXT record that publishes `key`'s public half ("v=DKIM1; k=...; p=...", `tern dkim show`).
tern::Result<std::string, std::string> txtRecord(const SigningKey& key);

}  // namespace tern::dkim
