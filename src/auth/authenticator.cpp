// Password verification with a success cache and a failure throttle per client IP and per login name.
// Handles untrusted user names and passwords: names are only used as map keys and directory lookups
// (length-capped), passwords only go through HMAC and Argon2; the maps are pruned so they stay bounded.
#include "auth/authenticator.h"

#include <algorithm>
#include <thread>

#include "auth/crypto.h"
#include "util/log.h"
#include "util/strings.h"

namespace tern::auth {

namespace {

constexpr size_t kMaxLoginLength = 320;   // RFC 5321 path limits; longer cannot be an account
constexpr size_t kPruneEvery = 256;       // operations between sweeps of expired records
constexpr size_t kMaxCacheEntries = 100000;

std::string normalizeLogin(std::string_view user) { return asciiLowercase(user); }

}  // namespace

Authenticator::Authenticator(store::Directory& directory, AuthLimits limits, Argon2Params argon2)
    : directory_(directory),
      limits_(limits),
      clock_([] { return std::chrono::steady_clock::now(); }),
      dummyHash_(hashPassword(crypto::randomBytes(16), argon2)),
      secret_(crypto::randomBytes(32)) {
  hashMax_ = limits_.maxConcurrentVerifications
                 ? limits_.maxConcurrentVerifications
                 : std::max(2u, std::thread::hardware_concurrency());
}

std::string Authenticator::cacheKey(std::string_view user, std::string_view password) const {
  // Length-prefix the user so that ("ab","c") and ("a","bc") cannot collide.
  std::string data = std::to_string(user.size());
  data += ':';
  data += user;
  data += password;
  return crypto::hmacSha256(secret_, data);
}

store::Result<std::optional<store::Account>> Authenticator::lookupLogin(const std::string& login) {
  auto account = directory_.findAccount(login);
  if (!account || account->has_value()) return account;
  // Not an account: an explicit alias with exactly one target may be used to log in. resolveAddress
  // also follows the domain's catch-all, which must not turn every name into a login, so a single
  // result is confirmed against the alias list (this rare path is the only one that lists aliases).
  auto resolved = directory_.resolveAddress(login);
  if (!resolved) return store::fail(resolved.error().code, resolved.error().detail);
  if (resolved->size() != 1) return std::optional<store::Account>{};
  auto aliases = directory_.listAliases();
  if (!aliases) return store::fail(aliases.error().code, aliases.error().detail);
  for (const auto& alias : *aliases) {
    if (iequals(alias.address, login) && alias.targets.size() == 1 &&
        iequals(alias.targets.front(), resolved->front().address)) {
      return std::optional<store::Account>{resolved->front()};
    }
  }
  return std::optional<store::Account>{};
}

Authenticator::Outcome Authenticator::verifyPassword(std::string_view user, std::string_view password,
                                                     std::string_view remoteIp) {
  using Kind = Outcome::Kind;
  const std::string login = normalizeLogin(user.substr(0, kMaxLoginLength + 1));
  const std::string ip(remoteIp);
  const TimePoint t = now();
  const std::string key = cacheKey(login, password);

  std::optional<CacheEntry> cached;
  {
    std::lock_guard lock(mu_);
    if (throttledLocked(login, ip, t)) return Outcome{Kind::Throttled, std::nullopt, limits_.maxDelay};
    auto it = cache_.find(key);
    if (it != cache_.end()) {
      if (it->second.expires > t) {
        cached = it->second;
      } else {
        cache_.erase(it);
      }
    }
  }

  if (cached) {
    // The lookup is cheap; it catches password changes made by other processes (the admin CLI).
    auto account = directory_.findAccount(cached->account);
    if (account && account->has_value() && (*account)->credentialsVersion == cached->credentialsVersion) {
      recordSuccess(login, ip);
      return Outcome{Kind::Ok, std::move(*account), std::chrono::milliseconds{0}};
    }
    std::lock_guard lock(mu_);
    cache_.erase(key);
  }

  std::optional<store::Account> account;
  if (!login.empty() && login.size() <= kMaxLoginLength && login.find('\0') == std::string::npos) {
    auto found = lookupLogin(login);
    if (!found) {
      log::warn("auth") << "directory lookup failed: " << log::escape(found.error().detail);
      return Outcome{Kind::Throttled, std::nullopt, std::chrono::milliseconds{0}};
    }
    account = std::move(*found);
  }

  // Unknown users verify against a dummy hash so that both paths cost one Argon2 run.
  const bool real = account.has_value() && !account->credentials.passwordHash.empty();
  const std::string& hash = real ? account->credentials.passwordHash : dummyHash_;
  bool ok = false;
  {
    std::unique_lock slot(hashMu_);
    hashCv_.wait(slot, [&] { return hashRunning_ < hashMax_; });
    ++hashRunning_;
    slot.unlock();
    ok = auth::verifyPassword(hash, password);
    slot.lock();
    --hashRunning_;
  }
  hashCv_.notify_one();
  ++argon2Verifications_;
  ok = ok && real;

  std::lock_guard lock(mu_);
  if (!ok) {
    return Outcome{Kind::Failed, std::nullopt, recordFailureLocked(login, ip, t)};
  }
  failuresByAccount_.erase(login);
  if (cache_.size() >= kMaxCacheEntries) pruneLocked(t);
  if (cache_.size() < kMaxCacheEntries) {
    cache_[key] = CacheEntry{account->address, account->credentialsVersion, t + limits_.cacheTtl};
  }
  return Outcome{Kind::Ok, std::move(account), std::chrono::milliseconds{0}};
}

Authenticator::ScramLookup Authenticator::scramLookup(std::string_view user) {
  const std::string login = normalizeLogin(user.substr(0, kMaxLoginLength + 1));
  ScramLookup out;
  if (!login.empty() && login.size() <= kMaxLoginLength) {
    auto found = lookupLogin(login);
    if (!found) {
      log::warn("auth") << "directory lookup failed: " << log::escape(found.error().detail);
    } else if (found->has_value() && (*found)->credentials.scramIterations > 0 &&
               (*found)->credentials.scramStoredKey.size() == 32 &&
               (*found)->credentials.scramServerKey.size() == 32) {
      const auto& c = (*found)->credentials;
      out.credentials = ScramCredentials{c.scramSalt, c.scramIterations, c.scramStoredKey, c.scramServerKey};
      out.account = std::move(*found);
      return out;
    }
  }
  // Deterministic per login and process, so repeated probes see a stable salt as for a real user.
  out.credentials.salt = crypto::hmacSha256(secret_, "scram-salt:" + login).substr(0, kSaltBytes);
  out.credentials.iterations = kScramIterations;
  out.credentials.storedKey = crypto::hmacSha256(secret_, "scram-stored:" + login);
  out.credentials.serverKey = crypto::hmacSha256(secret_, "scram-server:" + login);
  return out;
}

size_t Authenticator::recentFailures(std::unordered_map<std::string, FailureRecord>& map,
                                     const std::string& key, TimePoint t) {
  auto it = map.find(key);
  if (it == map.end()) return 0;
  auto& times = it->second;
  while (!times.empty() && times.front() + limits_.failureWindow <= t) times.pop_front();
  if (times.empty()) {
    map.erase(it);
    return 0;
  }
  return times.size();
}

bool Authenticator::throttledLocked(const std::string& login, const std::string& ip, TimePoint t) {
  return recentFailures(failuresByIp_, ip, t) >= limits_.maxFailuresPerIp ||
         recentFailures(failuresByAccount_, login, t) >= limits_.maxFailuresPerAccount;
}

std::chrono::milliseconds Authenticator::recordFailureLocked(const std::string& login, const std::string& ip,
                                                             TimePoint t) {
  if (++operations_ % kPruneEvery == 0) pruneLocked(t);
  size_t worst = 0;
  auto add = [&](std::unordered_map<std::string, FailureRecord>& map, const std::string& key, uint32_t max) {
    recentFailures(map, key, t);
    auto& times = map[key];
    times.push_back(t);
    while (times.size() > static_cast<size_t>(max) + 1) times.pop_front();  // bounded memory
    worst = std::max(worst, times.size());
  };
  add(failuresByIp_, ip, limits_.maxFailuresPerIp);
  add(failuresByAccount_, login, limits_.maxFailuresPerAccount);

  // baseDelay * 2^(failures-1), capped; the shift is bounded so it cannot overflow.
  const size_t shift = std::min<size_t>(worst - 1, 30);
  auto delay = limits_.baseDelay * (int64_t{1} << shift);
  return std::min(delay, limits_.maxDelay);
}

void Authenticator::pruneLocked(TimePoint t) {
  for (auto* map : {&failuresByIp_, &failuresByAccount_}) {
    for (auto it = map->begin(); it != map->end();) {
      if (it->second.empty() || it->second.back() + limits_.failureWindow <= t) {
        it = map->erase(it);
      } else {
        ++it;
      }
    }
  }
  for (auto it = cache_.begin(); it != cache_.end();) {
    it = it->second.expires <= t ? cache_.erase(it) : std::next(it);
  }
}

bool Authenticator::isThrottled(std::string_view user, std::string_view remoteIp) {
  const std::string login = normalizeLogin(user.substr(0, kMaxLoginLength + 1));
  std::lock_guard lock(mu_);
  return throttledLocked(login, std::string(remoteIp), now());
}

std::chrono::milliseconds Authenticator::recordFailure(std::string_view user, std::string_view remoteIp) {
  const std::string login = normalizeLogin(user.substr(0, kMaxLoginLength + 1));
  std::lock_guard lock(mu_);
  return recordFailureLocked(login, std::string(remoteIp), now());
}

void Authenticator::recordSuccess(std::string_view user, std::string_view /*remoteIp*/) {
  // The IP's count stays: one good password must not reset a spray across many accounts.
  const std::string login = normalizeLogin(user.substr(0, kMaxLoginLength + 1));
  std::lock_guard lock(mu_);
  failuresByAccount_.erase(login);
}

void Authenticator::invalidateCache() {
  std::lock_guard lock(mu_);
  cache_.clear();
}

}  // namespace tern::auth
