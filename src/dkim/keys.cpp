// DKIM keys: loading PEM private keys (RSA >= 1024 bits or Ed25519), generating new ones, and the
// DNS TXT record of a key. Input is a local key file (bounded to kMaxPemBytes) or PEM text; the
// domain and selector are checked so that they cannot add tags to a signature or a record.
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include <array>
#include <cctype>
#include <fstream>
#include <iterator>

#include "dkim/dkim.h"
#include "dkim/keys.h"
#include "util/strings.h"

namespace tern::dkim {

namespace detail {

std::string opensslError(std::string_view what) {
  std::string out(what);
  const unsigned long e = ERR_get_error();
  if (e != 0) {
    std::array<char, 256> buf{};
    ERR_error_string_n(e, buf.data(), buf.size());
    out += ": ";
    out += buf.data();
  }
  ERR_clear_error();
  return out;
}

namespace {

struct MdCtxFree {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};
struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};

}  // namespace

tern::Result<std::string, std::string> OpensslKey::signData(std::string_view data) const {
  std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
  if (!ctx) return tern::unexpected(opensslError("out of memory"));
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  std::string_view input = data;
  const EVP_MD* md = EVP_sha256();
  if (algorithm_ == Algorithm::Ed25519Sha256) {
    // RFC 8463 3: Ed25519 (PureEdDSA) signs the SHA-256 hash, not the data itself.
    unsigned int len = 0;
    if (EVP_Digest(data.data(), data.size(), digest.data(), &len, EVP_sha256(), nullptr) != 1) {
      return tern::unexpected(opensslError("SHA-256 failed"));
    }
    input = std::string_view(reinterpret_cast<const char*>(digest.data()), len);
    md = nullptr;  // Ed25519 takes no separate digest
  }
  if (EVP_DigestSignInit(ctx.get(), nullptr, md, nullptr, pkey_.get()) != 1) {
    return tern::unexpected(opensslError("signing setup failed"));
  }
  size_t sigLen = 0;
  const auto* in = reinterpret_cast<const unsigned char*>(input.data());
  if (EVP_DigestSign(ctx.get(), nullptr, &sigLen, in, input.size()) != 1) {
    return tern::unexpected(opensslError("signing failed"));
  }
  std::string sig(sigLen, '\0');
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &sigLen, in, input.size()) != 1) {
    return tern::unexpected(opensslError("signing failed"));
  }
  sig.resize(sigLen);
  return sig;
}

tern::Result<std::string, std::string> OpensslKey::publicRecord() const {
  if (algorithm_ == Algorithm::Ed25519Sha256) {
    std::array<unsigned char, 32> raw{};
    size_t len = raw.size();
    if (EVP_PKEY_get_raw_public_key(pkey_.get(), raw.data(), &len) != 1 || len != raw.size()) {
      return tern::unexpected(opensslError("cannot read the Ed25519 public key"));
    }
    return "v=DKIM1; k=ed25519; p=" + base64Encode(std::string_view(reinterpret_cast<const char*>(raw.data()), len));
  }
  unsigned char* der = nullptr;
  const int len = i2d_PUBKEY(pkey_.get(), &der);
  if (len <= 0) return tern::unexpected(opensslError("cannot encode the RSA public key"));
  std::string spki(reinterpret_cast<const char*>(der), static_cast<size_t>(len));
  OPENSSL_free(der);
  return "v=DKIM1; k=rsa; p=" + base64Encode(spki);
}

}  // namespace detail

namespace {

using detail::opensslError;
using detail::PkeyPtr;

constexpr size_t kMaxPemBytes = 64 * 1024;
constexpr unsigned kMinRsaBits = 1024;  // RFC 8301 3.2: verifiers reject less
constexpr unsigned kMaxRsaBits = 4096;

// d= and s= go into the signature and the DNS name verbatim: letters, digits, '-', '_' and dots
// between non-empty labels, so they can neither end a tag (';') nor leave the name.
bool validDnsName(std::string_view s) {
  if (s.empty() || s.size() > 253 || s.front() == '.' || s.back() == '.' || s.find("..") != s.npos) return false;
  for (const char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (!(std::isalnum(u) || c == '-' || c == '_' || c == '.')) return false;
  }
  return true;
}

tern::Result<void, std::string> checkNames(std::string_view domain, std::string_view selector) {
  if (!validDnsName(domain)) return tern::unexpected(std::string("invalid DKIM domain: ") + std::string(domain));
  if (!validDnsName(selector) || selector.size() > 63) {
    return tern::unexpected(std::string("invalid DKIM selector: ") + std::string(selector));
  }
  return {};
}

tern::Result<std::shared_ptr<const SigningKey>, std::string> wrap(PkeyPtr pkey, std::string_view domain,
                                                                  std::string_view selector) {
  Algorithm algorithm;
  switch (EVP_PKEY_get_base_id(pkey.get())) {
    case EVP_PKEY_RSA:
      if (EVP_PKEY_get_bits(pkey.get()) < static_cast<int>(kMinRsaBits)) {
        return tern::unexpected(std::string("RSA key shorter than 1024 bits"));
      }
      algorithm = Algorithm::RsaSha256;
      break;
    case EVP_PKEY_ED25519:
      algorithm = Algorithm::Ed25519Sha256;
      break;
    default:
      return tern::unexpected(std::string("not an RSA or Ed25519 key"));
  }
  return std::shared_ptr<const SigningKey>(std::make_shared<detail::OpensslKey>(
      std::move(pkey), algorithm, asciiLowercase(domain), asciiLowercase(selector)));
}

tern::Result<std::string, std::string> privatePem(EVP_PKEY* pkey) {
  std::unique_ptr<BIO, detail::BioFree> bio(BIO_new(BIO_s_mem()));
  if (!bio) return tern::unexpected(opensslError("out of memory"));
  // PEM_write_bio_PrivateKey writes PKCS#8 ("BEGIN PRIVATE KEY") in OpenSSL 3, unencrypted.
  if (PEM_write_bio_PrivateKey(bio.get(), pkey, nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    return tern::unexpected(opensslError("cannot encode the private key"));
  }
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio.get(), &data);
  if (len <= 0 || data == nullptr) return tern::unexpected(std::string("cannot encode the private key"));
  return std::string(data, static_cast<size_t>(len));
}

}  // namespace

tern::Result<std::shared_ptr<const SigningKey>, std::string> loadKeyFromPem(std::string_view pem,
                                                                            std::string_view domain,
                                                                            std::string_view selector) {
  if (auto r = checkNames(domain, selector); !r) return tern::unexpected(r.error());
  if (pem.size() > kMaxPemBytes) return tern::unexpected(std::string("key file too large"));
  std::unique_ptr<BIO, detail::BioFree> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) return tern::unexpected(opensslError("out of memory"));
  // No password callback: an encrypted key fails instead of prompting on the terminal.
  PkeyPtr pkey(PEM_read_bio_PrivateKey(bio.get(), nullptr, [](char*, int, int, void*) { return 0; }, nullptr));
  if (!pkey) return tern::unexpected(opensslError("not a PEM private key"));
  ERR_clear_error();
  return wrap(std::move(pkey), domain, selector);
}

tern::Result<std::shared_ptr<const SigningKey>, std::string> loadKey(const std::string& pemPath,
                                                                     std::string_view domain,
                                                                     std::string_view selector) {
  std::ifstream in(pemPath, std::ios::binary);
  if (!in) return tern::unexpected("cannot open " + pemPath);
  std::string pem;
  std::array<char, 4096> buf{};
  while (in.read(buf.data(), buf.size()) || in.gcount() > 0) {
    pem.append(buf.data(), static_cast<size_t>(in.gcount()));
    if (pem.size() > kMaxPemBytes) return tern::unexpected(pemPath + ": key file too large");
  }
  auto key = loadKeyFromPem(pem, domain, selector);
  if (!key) return tern::unexpected(pemPath + ": " + key.error());
  return key;
}

tern::Result<GeneratedKey, std::string> generateKey(Algorithm algorithm, std::string_view domain,
                                                    std::string_view selector, unsigned rsaBits) {
  if (auto r = checkNames(domain, selector); !r) return tern::unexpected(r.error());
  PkeyPtr pkey;
  if (algorithm == Algorithm::RsaSha256) {
    if (rsaBits < kMinRsaBits || rsaBits > kMaxRsaBits) {
      return tern::unexpected(std::string("RSA key size must be 1024 to 4096 bits"));
    }
    pkey.reset(EVP_RSA_gen(rsaBits));
  } else {
    pkey.reset(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"));
  }
  if (!pkey) return tern::unexpected(opensslError("key generation failed"));
  auto pem = privatePem(pkey.get());
  if (!pem) return tern::unexpected(pem.error());
  auto key = wrap(std::move(pkey), domain, selector);
  if (!key) return tern::unexpected(key.error());
  auto record = txtRecord(**key);
  if (!record) return tern::unexpected(record.error());
  GeneratedKey out;
  out.privateKeyPem = std::move(pem).value();
  out.dnsName = (*key)->selector() + "._domainkey." + (*key)->domain();
  out.txtRecord = std::move(record).value();
  return out;
}

tern::Result<std::string, std::string> txtRecord(const SigningKey& key) {
  const auto* k = dynamic_cast<const detail::OpensslKey*>(&key);
  if (k == nullptr) return tern::unexpected(std::string("not a key loaded by tern::dkim"));
  return k->publicRecord();
}

}  // namespace tern::dkim
