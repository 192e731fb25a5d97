#include "imap/server/structure_cache.h"

namespace tern::imap::server {

namespace {
// Per entry beyond the structure itself: the list node, the id, the map slot.
constexpr size_t kEntryOverhead = 160;
}  // namespace

std::vector<std::shared_ptr<const mime::ParsedMessage>> StructureCache::getMany(
    const std::vector<std::string>& blobIds) {
  std::vector<std::shared_ptr<const mime::ParsedMessage>> out(blobIds.size());
  std::lock_guard lock(mu_);
  for (size_t i = 0; i < blobIds.size(); ++i) {
    auto it = byId_.find(blobIds[i]);
    if (it == byId_.end()) continue;
    lru_.splice(lru_.begin(), lru_, it->second);
    out[i] = it->second->parsed;
    ++hits_;
  }
  return out;
}

void StructureCache::put(const std::string& blobId, std::shared_ptr<const mime::ParsedMessage> parsed,
                         size_t cost) {
  cost += kEntryOverhead + blobId.size();
  if (!parsed || cost > maxBytes_ / 4) return;
  std::lock_guard lock(mu_);
  if (byId_.count(blobId)) return;  // the same content: the entry there is as good
  lru_.push_front(Entry{blobId, std::move(parsed), cost});
  byId_.emplace(lru_.front().blobId, lru_.begin());
  bytes_ += cost;
  while (bytes_ > maxBytes_ && !lru_.empty()) {
    Entry& victim = lru_.back();
    byId_.erase(victim.blobId);
    bytes_ -= victim.cost;
    lru_.pop_back();
  }
}

size_t StructureCache::bytes() const {
  std::lock_guard lock(mu_);
  return bytes_;
}

size_t StructureCache::entries() const {
  std::lock_guard lock(mu_);
  return lru_.size();
}

size_t StructureCache::hits() const {
  std::lock_guard lock(mu_);
  return hits_;
}

}  // namespace tern::imap::server
