// Positive answers of RCPT's directory lookups: which domains are ours, which accounts an address
// delivers to. Inbound mail asks the same few questions for every message, and each answer from
// SQLite was two read transactions that re-read their pages (every delivery's commit empties a
// reader's page cache); the cache saves 3-5 % of the server's CPU per message. Answers are kept for
// one directory generation (store::Directory::directoryGeneration), so a change made through the
// store empties the cache at once and one made by the CLI within the store's poll interval. Only
// positive answers are kept: an address or domain added anywhere works at once, and a flood of
// unknown recipients cannot fill the cache with junk. Bounded: when full it starts over. Shared by
// all workers (one mutex; a lookup holds it for a hash-map probe).
#pragma once

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "store/types.h"

namespace tern::smtp::server {

class RecipientCache {
 public:
  RecipientCache() : RecipientCache(20000) {}
  explicit RecipientCache(size_t maxEntries) : maxEntries_(maxEntries) {}

  // Whether `domain` (lowercase) was found to be ours in this generation.
  bool knownLocalDomain(const std::string& domain, uint64_t generation);
  void addLocalDomain(const std::string& domain, uint64_t generation);

  // The accounts `address` resolved to in this generation (never empty), or nullopt.
  std::optional<std::vector<store::AccountId>> accounts(const std::string& address, uint64_t generation);
  // Ignores an empty list (a negative answer) and answers of an older generation than the cache's.
  void addAccounts(const std::string& address, uint64_t generation, const std::vector<store::AccountId>& ids);

  size_t size();

 private:
  // Under mu_: false when `generation` is older than the cache's (its answer may be stale); a newer
  // one empties the cache first.
  bool adopt(uint64_t generation);
  void makeRoom();

  std::mutex mu_;
  uint64_t generation_ = 0;
  size_t maxEntries_;
  std::unordered_set<std::string> domains_;
  std::unordered_map<std::string, std::vector<store::AccountId>> addresses_;
};

}  // namespace tern::smtp::server
