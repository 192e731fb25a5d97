// Argon2id password hashes (libargon2, encoded form) and SCRAM-SHA-256 key derivation.
// Passwords are treated as opaque bytes: we do not apply SASLprep (RFC 4013), so a non-ASCII password
// must be typed in the same Unicode normalisation form at every client. Hash inputs are our own store.
#include "auth/password.h"

#include <argon2.h>

#include <stdexcept>

#include "auth/crypto.h"

namespace tern::auth {

namespace {
constexpr size_t kHashBytes = 32;
constexpr std::string_view kUrlSafe = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
}  // namespace

std::string hashPassword(std::string_view password, const Argon2Params& params) {
  const std::string salt = crypto::randomBytes(kSaltBytes);
  std::string encoded(argon2_encodedlen(params.timeCost, params.memoryKiB, params.parallelism,
                                        static_cast<uint32_t>(salt.size()), kHashBytes, Argon2_id),
                      '\0');
  int rc = argon2id_hash_encoded(params.timeCost, params.memoryKiB, params.parallelism, password.data(),
                                 password.size(), salt.data(), salt.size(), kHashBytes, encoded.data(),
                                 encoded.size());
  if (rc != ARGON2_OK) {
    // Only bad parameters or out-of-memory get here; admin paths report the exception.
    throw std::runtime_error(std::string("argon2id hashing failed: ") + argon2_error_message(rc));
  }
  encoded.resize(encoded.find('\0'));  // argon2_encodedlen counts the terminator
  return encoded;
}

bool verifyPassword(std::string_view encodedHash, std::string_view password) {
  if (!encodedHash.starts_with("$argon2id$")) return false;
  const std::string hash(encodedHash);  // libargon2 wants a NUL-terminated string
  return argon2id_verify(hash.c_str(), password.data(), password.size()) == ARGON2_OK;
}

void setScramKeys(store::Credentials& creds, std::string_view password, std::string_view salt,
                  uint32_t iterations) {
  const std::string salted = crypto::pbkdf2Sha256(password, salt, iterations);
  creds.scramSalt = std::string(salt);
  creds.scramIterations = iterations;
  creds.scramStoredKey = crypto::sha256(crypto::hmacSha256(salted, "Client Key"));
  creds.scramServerKey = crypto::hmacSha256(salted, "Server Key");
}

store::Credentials makeCredentials(std::string_view password, const Argon2Params& params) {
  store::Credentials creds;
  creds.passwordHash = hashPassword(password, params);
  setScramKeys(creds, password, crypto::randomBytes(kSaltBytes), kScramIterations);
  return creds;
}

std::string randomPassword(size_t length) {
  // 64 symbols, so the low 6 bits of each random byte pick one without bias.
  const std::string raw = crypto::randomBytes(length);
  std::string out;
  out.reserve(length);
  for (unsigned char c : raw) out.push_back(kUrlSafe[c & 63]);
  return out;
}

}  // namespace tern::auth
