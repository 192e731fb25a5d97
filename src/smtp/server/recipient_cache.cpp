#include "smtp/server/recipient_cache.h"

namespace tern::smtp::server {

bool RecipientCache::adopt(uint64_t generation) {
  if (generation < generation_) return false;
  if (generation > generation_) {
    domains_.clear();
    addresses_.clear();
    generation_ = generation;
  }
  return true;
}

void RecipientCache::makeRoom() {
  if (domains_.size() + addresses_.size() < maxEntries_) return;
  domains_.clear();
  addresses_.clear();
}

bool RecipientCache::knownLocalDomain(const std::string& domain, uint64_t generation) {
  std::lock_guard lock(mu_);
  return generation == generation_ && domains_.count(domain) != 0;
}

void RecipientCache::addLocalDomain(const std::string& domain, uint64_t generation) {
  std::lock_guard lock(mu_);
  if (!adopt(generation)) return;
  makeRoom();
  domains_.insert(domain);
}

std::optional<std::vector<store::AccountId>> RecipientCache::accounts(const std::string& address,
                                                                      uint64_t generation) {
  std::lock_guard lock(mu_);
  if (generation != generation_) return std::nullopt;
  auto it = addresses_.find(address);
  if (it == addresses_.end()) return std::nullopt;
  return it->second;
}

void RecipientCache::addAccounts(const std::string& address, uint64_t generation,
                                 const std::vector<store::AccountId>& ids) {
  if (ids.empty()) return;
  std::lock_guard lock(mu_);
  if (!adopt(generation)) return;
  makeRoom();
  addresses_[address] = ids;
}

size_t RecipientCache::size() {
  std::lock_guard lock(mu_);
  return domains_.size() + addresses_.size();
}

}  // namespace tern::smtp::server
