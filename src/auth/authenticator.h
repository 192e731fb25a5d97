// Credential checks for every protocol: password verification (Argon2id) with a short-lived cache of
// successes, SCRAM-SHA-256 credential lookup, and the failure throttle per client IP and per account.
// Calls may block (Argon2 costs tens of ms, the directory may hit disk): run them on the blocking pool.
// Unknown user and wrong password are indistinguishable in result and in work done.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "auth/password.h"
#include "store/store.h"

namespace tern::auth {

struct AuthLimits {
  // Failures per client IP / per account before temporary refusal; a growing delay applies before.
  uint32_t maxFailuresPerIp = 20;
  uint32_t maxFailuresPerAccount = 10;
  std::chrono::seconds failureWindow{15 * 60};  // failures older than this are forgotten
  std::chrono::milliseconds baseDelay{250};     // delay after the first failure, doubling, capped
  std::chrono::milliseconds maxDelay{8000};
  std::chrono::seconds cacheTtl{300};           // successful verifications cached this long
  // Argon2 runs at once; more wait. Each takes its memory cost (19 MiB) and a core, so running more
  // than there are cores gains nothing and a password spray would cost pool size x 19 MiB.
  // 0: the number of hardware threads (at least 2).
  uint32_t maxConcurrentVerifications = 0;
};

struct ScramCredentials {
  std::string salt;        // raw
  uint32_t iterations = 0;
  std::string storedKey;   // raw 32 bytes
  std::string serverKey;   // raw 32 bytes
};

class Authenticator {
 public:
  struct Outcome {
    enum class Kind { Ok, Failed, Throttled } kind = Kind::Failed;
    std::optional<store::Account> account;   // set when Ok
    std::chrono::milliseconds delay{0};      // wait this long before answering (growing on failures)
  };

  using Clock = std::function<std::chrono::steady_clock::time_point()>;

  // `argon2` sets the cost of the dummy hash verified for unknown users; it should match the cost
  // used for real accounts (makeCredentials) so both paths take the same time.
  Authenticator(store::Directory& directory, AuthLimits limits = {}, Argon2Params argon2 = {});

  // Full check: throttle, lookup (login name is the address; aliases resolve to their single
  // account), Argon2id verify (or a cached success), then records success or failure.
  // A directory error gives Throttled (a temporary refusal) without counting as a failure.
  Outcome verifyPassword(std::string_view user, std::string_view password, std::string_view remoteIp);

  // For SCRAM: the stored keys of `user`, or deterministic fake ones for unknown users (derived
  // from a per-process secret) so that a probe cannot tell the two apart. Never nullopt for a
  // syntactically valid user; `account` is set only when it is real (and has SCRAM keys).
  struct ScramLookup {
    ScramCredentials credentials;
    std::optional<store::Account> account;
  };
  ScramLookup scramLookup(std::string_view user);

  // Throttle bookkeeping for mechanisms that verify by themselves (SCRAM).
  bool isThrottled(std::string_view user, std::string_view remoteIp);
  std::chrono::milliseconds recordFailure(std::string_view user, std::string_view remoteIp);
  void recordSuccess(std::string_view user, std::string_view remoteIp);

  // Drops cached successes (after a password change made through this process).
  void invalidateCache();

  // Number of Argon2id verifications run so far (metrics; tests check that the cache avoids them).
  uint64_t argon2Verifications() const { return argon2Verifications_.load(); }
  // Replaces the time source (tests); not thread-safe against concurrent calls.
  void setClock(Clock clock) { clock_ = std::move(clock); }

 private:
  using TimePoint = std::chrono::steady_clock::time_point;
  // Times of recent failures, oldest first, at most max+1 kept: a sliding window.
  using FailureRecord = std::deque<TimePoint>;
  struct CacheEntry {
    std::string account;          // address
    uint64_t credentialsVersion = 0;
    std::chrono::steady_clock::time_point expires;
  };
  std::string cacheKey(std::string_view user, std::string_view password) const;  // keyed hash
  store::Result<std::optional<store::Account>> lookupLogin(const std::string& login);
  TimePoint now() const { return clock_(); }
  // The following expect mu_ held.
  size_t recentFailures(std::unordered_map<std::string, FailureRecord>& map, const std::string& key,
                        TimePoint now);
  bool throttledLocked(const std::string& login, const std::string& ip, TimePoint now);
  std::chrono::milliseconds recordFailureLocked(const std::string& login, const std::string& ip,
                                                TimePoint now);
  void pruneLocked(TimePoint now);

  store::Directory& directory_;
  AuthLimits limits_;
  Clock clock_;
  std::string dummyHash_;  // verified for unknown users so their path costs the same
  std::atomic<uint64_t> argon2Verifications_{0};
  uint64_t operations_ = 0;  // drives the periodic pruning of expired records
  std::string secret_;  // random per process: keys the cache hash and the fake SCRAM salts
  std::mutex mu_;
  std::unordered_map<std::string, FailureRecord> failuresByIp_;
  std::unordered_map<std::string, FailureRecord> failuresByAccount_;
  std::unordered_map<std::string, CacheEntry> cache_;
  // Bounds concurrent Argon2 runs (AuthLimits::maxConcurrentVerifications).
  std::mutex hashMu_;
  std::condition_variable hashCv_;
  uint32_t hashRunning_ = 0;
  uint32_t hashMax_ = 2;
};

}  // namespace tern::auth
