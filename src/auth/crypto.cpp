// OpenSSL-backed primitives for password and SCRAM handling (see crypto.h). Pure functions of their
// inputs except randomBytes; no limits needed, callers bound input sizes.
#include "auth/crypto.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include <cstdio>
#include <cstdlib>

namespace tern::auth::crypto {

namespace {
const unsigned char* bytes(std::string_view s) { return reinterpret_cast<const unsigned char*>(s.data()); }

[[noreturn]] void fatal(const char* what) {
  std::fprintf(stderr, "fatal auth: %s failed\n", what);
  std::abort();
}
}  // namespace

std::string sha256(std::string_view data) {
  std::string out(SHA256_DIGEST_LENGTH, '\0');
  SHA256(bytes(data), data.size(), reinterpret_cast<unsigned char*>(out.data()));
  return out;
}

std::string hmacSha256(std::string_view key, std::string_view data) {
  std::string out(EVP_MAX_MD_SIZE, '\0');
  unsigned int len = 0;
  if (!HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), bytes(data), data.size(),
            reinterpret_cast<unsigned char*>(out.data()), &len)) {
    fatal("HMAC-SHA-256");
  }
  out.resize(len);
  return out;
}

std::string pbkdf2Sha256(std::string_view password, std::string_view salt, uint32_t iterations) {
  std::string out(32, '\0');
  if (PKCS5_PBKDF2_HMAC(password.data(), static_cast<int>(password.size()), bytes(salt),
                        static_cast<int>(salt.size()), static_cast<int>(iterations), EVP_sha256(),
                        static_cast<int>(out.size()), reinterpret_cast<unsigned char*>(out.data())) != 1) {
    fatal("PBKDF2");
  }
  return out;
}

std::string randomBytes(size_t n) {
  std::string out(n, '\0');
  if (n > 0 && RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(n)) != 1) {
    fatal("RAND_bytes");
  }
  return out;
}

bool constantTimeEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace tern::auth::crypto
