// Argon2id password hashes (libargon2, encoded form) and SCRAM-SHA-256 key derivation.
// Passwords are treated as opaque bytes: we do not apply SASLprep (RFC 4013), so a non-ASCII password
// must be typed in the same Unicode normalisation form at every client. Hash inputs are our own store.
#include "auth/password.h"

#include <argon2.h>
#include <sys/mman.h>

#include <optional>
#include <stdexcept>

#include "auth/crypto.h"
#include "util/strings.h"

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

namespace {

// Argon2's working memory (19 MiB per verification by default) comes straight from mmap and goes
// back with munmap. Through malloc, each blocking-pool thread's arena kept its last 19 MiB for good:
// one burst of failed logins left blocking_threads x 19 MiB resident (300 MB with 16 threads).
int mapArgon2Memory(uint8_t** memory, size_t bytes) {
  void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return ARGON2_MEMORY_ALLOCATION_ERROR;
  *memory = static_cast<uint8_t*>(p);
  return ARGON2_OK;
}

void unmapArgon2Memory(uint8_t* memory, size_t bytes) { munmap(memory, bytes); }

// "$argon2id$v=19$m=<KiB>,t=<passes>,p=<lanes>$<salt>$<hash>" (base64 without padding), as
// argon2id_hash_encoded writes it. Our own stored hashes only; anything else does not verify.
struct EncodedArgon2 {
  uint32_t memoryKiB = 0, timeCost = 0, parallelism = 0;
  std::string salt, hash;
};

std::optional<uint32_t> takeParam(std::string_view& s, std::string_view name, char end) {
  if (!s.starts_with(name)) return std::nullopt;
  s.remove_prefix(name.size());
  const size_t stop = s.find(end);
  if (stop == std::string_view::npos) return std::nullopt;
  auto v = parseUnsigned(s.substr(0, stop), UINT32_MAX);
  s.remove_prefix(stop + 1);
  if (!v) return std::nullopt;
  return static_cast<uint32_t>(*v);
}

std::optional<std::string> unpaddedBase64(std::string_view s) {
  std::string padded(s);
  padded.append((4 - padded.size() % 4) % 4, '=');
  return base64Decode(padded);
}

std::optional<EncodedArgon2> decodeArgon2id(std::string_view s) {
  constexpr std::string_view kPrefix = "$argon2id$";
  if (!s.starts_with(kPrefix)) return std::nullopt;
  s.remove_prefix(kPrefix.size());
  EncodedArgon2 e;
  auto version = takeParam(s, "v=", '$');
  auto m = takeParam(s, "m=", ',');
  auto t = takeParam(s, "t=", ',');
  auto p = takeParam(s, "p=", '$');
  if (!version || *version != ARGON2_VERSION_13 || !m || !t || !p) return std::nullopt;
  const size_t dollar = s.find('$');
  if (dollar == std::string_view::npos) return std::nullopt;
  auto salt = unpaddedBase64(s.substr(0, dollar));
  auto hash = unpaddedBase64(s.substr(dollar + 1));
  if (!salt || !hash || hash->empty()) return std::nullopt;
  e.memoryKiB = *m;
  e.timeCost = *t;
  e.parallelism = *p;
  e.salt = std::move(*salt);
  e.hash = std::move(*hash);
  return e;
}

}  // namespace

bool verifyPassword(std::string_view encodedHash, std::string_view password) {
  auto e = decodeArgon2id(encodedHash);
  if (!e) return false;
  std::string computed(e->hash.size(), '\0');
  std::string pwd(password);  // argon2_context wants mutable pointers; it only reads them
  argon2_context ctx{};
  ctx.out = reinterpret_cast<uint8_t*>(computed.data());
  ctx.outlen = static_cast<uint32_t>(computed.size());
  ctx.pwd = reinterpret_cast<uint8_t*>(pwd.data());
  ctx.pwdlen = static_cast<uint32_t>(pwd.size());
  ctx.salt = reinterpret_cast<uint8_t*>(e->salt.data());
  ctx.saltlen = static_cast<uint32_t>(e->salt.size());
  ctx.t_cost = e->timeCost;
  ctx.m_cost = e->memoryKiB;
  ctx.lanes = e->parallelism;
  ctx.threads = e->parallelism;
  ctx.version = ARGON2_VERSION_13;
  ctx.allocate_cbk = mapArgon2Memory;
  ctx.free_cbk = unmapArgon2Memory;
  ctx.flags = ARGON2_FLAG_CLEAR_PASSWORD;  // wipes our copy of the password afterwards
  // Computes, then compares in constant time inside libargon2 (argon2_compare).
  return argon2id_verify_ctx(&ctx, e->hash.data()) == ARGON2_OK;
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
