// Internal helpers over OpenSSL for the auth module: SHA-256, HMAC-SHA-256, PBKDF2, random bytes and
// constant-time comparison. Inputs may be untrusted (client proofs); nothing here branches on secrets.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace tern::auth::crypto {

std::string sha256(std::string_view data);
std::string hmacSha256(std::string_view key, std::string_view data);
std::string pbkdf2Sha256(std::string_view password, std::string_view salt, uint32_t iterations);
// Cryptographically random bytes; aborts if the OpenSSL RNG fails (nothing safe to fall back to).
std::string randomBytes(size_t n);
// Constant time in the content (length is not secret); false when the lengths differ.
bool constantTimeEquals(std::string_view a, std::string_view b);

}  // namespace tern::auth::crypto
