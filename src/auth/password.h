// Password hashing: Argon2id in its encoded form (salt and parameters stored with the hash), and the
// SCRAM-SHA-256 keys (RFC 5802/7677) derived from the same password when it is set.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "store/types.h"

namespace tern::auth {

struct Argon2Params {
  uint32_t timeCost = 2;
  uint32_t memoryKiB = 19 * 1024;  // OWASP's minimum recommendation for Argon2id
  uint32_t parallelism = 1;
};

inline constexpr uint32_t kScramIterations = 4096;
inline constexpr size_t kSaltBytes = 16;

std::string hashPassword(std::string_view password, const Argon2Params& params = {});
// Constant-time comparison inside libargon2; false for malformed hashes.
bool verifyPassword(std::string_view encodedHash, std::string_view password);
// Argon2id hash plus SCRAM-SHA-256 salt (16 random bytes), iterations (4096), StoredKey, ServerKey.
store::Credentials makeCredentials(std::string_view password, const Argon2Params& params = {});
// Fills the SCRAM-SHA-256 fields of `creds` for a given salt (RFC 5802 section 3): SaltedPassword =
// PBKDF2-HMAC-SHA-256(password, salt, i), StoredKey = H(HMAC(SP, "Client Key")), ServerKey =
// HMAC(SP, "Server Key"). The password is used as given (no SASLprep, see password.cpp).
void setScramKeys(store::Credentials& creds, std::string_view password, std::string_view salt,
                  uint32_t iterations = kScramIterations);
// Random password for first-run accounts (URL-safe, `length` characters).
std::string randomPassword(size_t length = 20);

}  // namespace tern::auth
