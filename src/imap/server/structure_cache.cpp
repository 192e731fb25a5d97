#include "imap/server/structure_cache.h"

#include "imap/protocol/message_structure.h"

namespace tern::imap::server {

namespace {

// malloc's bookkeeping per allocation, roughly.
constexpr size_t kMallocOverhead = 16;

size_t heap(const std::string& s) { return s.capacity() > 15 ? s.capacity() + 1 + kMallocOverhead : 0; }
size_t heap(const std::optional<std::string>& s) { return s ? heap(*s) : 0; }
template <class T>
size_t vectorHeap(const std::vector<T>& v) {
  return v.capacity() ? v.capacity() * sizeof(T) + kMallocOverhead : 0;
}

size_t heap(const std::vector<std::string>& v) {
  size_t n = vectorHeap(v);
  for (const auto& s : v) n += heap(s);
  return n;
}

size_t heap(const mime::Params& ps) {
  size_t n = vectorHeap(ps);
  for (const auto& p : ps) n += heap(p.name) + heap(p.value) + heap(p.language);
  return n;
}

size_t heap(const std::vector<mime::Address>& as) {
  size_t n = vectorHeap(as);
  for (const auto& a : as) n += heap(a.name) + heap(a.route) + heap(a.mailbox) + heap(a.host);
  return n;
}

size_t heap(const mime::Envelope& e) {
  return heap(e.date) + heap(e.subject) + heap(e.inReplyTo) + heap(e.messageId) + heap(e.from) + heap(e.sender) +
         heap(e.replyTo) + heap(e.to) + heap(e.cc) + heap(e.bcc);
}

// Depth is bounded by the parser's limit (mime::Limits::maxDepth).
size_t heap(const mime::Part& p) {
  size_t n = heap(p.type) + heap(p.subtype) + heap(p.params) + heap(p.id) + heap(p.description) + heap(p.md5) +
             heap(p.location) + heap(p.encoding) + heap(p.disposition) + heap(p.dispositionParams) +
             heap(p.language) + vectorHeap(p.children);
  if (p.envelope) n += heap(*p.envelope);
  for (const auto& c : p.children) n += heap(c);
  return n;
}

size_t heap(const mime::SortFields& f) {
  return heap(f.subject) + heap(f.baseSubject) + heap(f.fromMailbox) + heap(f.fromDisplay) + heap(f.toMailbox) +
         heap(f.toDisplay) + heap(f.ccMailbox) + heap(f.messageId) + heap(f.inReplyTo) + heap(f.references);
}

// Per entry beyond the structure: the list node with its id, the map slot, the shared_ptr control block.
constexpr size_t kEntryOverhead = 160;

}  // namespace

const std::string& CachedStructure::rendered(int variant, bool utf8) const {
  const int i = variant * 2 + (utf8 ? 1 : 0);
  std::call_once(once_[i], [&] {
    if (variant == 0)
      rendered_[i] = formatEnvelope(parsed_.envelope, utf8);
    else
      rendered_[i] = formatBodyStructure(parsed_, variant == 2, utf8);
  });
  return rendered_[i];
}

const std::string& CachedStructure::envelope(bool utf8) const { return rendered(0, utf8); }

const std::string& CachedStructure::bodyStructure(bool extensible, bool utf8) const {
  return rendered(extensible ? 2 : 1, utf8);
}

size_t StructureCache::costOf(const std::string& blobId, const mime::ParsedMessage& parsed) {
  const size_t tree = heap(parsed.root) + heap(parsed.envelope) + heap(parsed.sort);
  return kEntryOverhead + heap(blobId) + sizeof(CachedStructure) + kMallocOverhead + 2 * tree;
}

std::vector<StructurePtr> StructureCache::getMany(const std::vector<std::string>& blobIds) {
  std::vector<StructurePtr> out(blobIds.size());
  std::lock_guard lock(mu_);
  for (size_t i = 0; i < blobIds.size(); ++i) {
    auto it = byId_.find(blobIds[i]);
    if (it == byId_.end()) continue;
    lru_.splice(lru_.begin(), lru_, it->second);
    out[i] = it->second->structure;
    ++hits_;
  }
  return out;
}

void StructureCache::put(const std::string& blobId, StructurePtr structure) {
  if (!structure) return;
  const size_t cost = costOf(blobId, structure->parsed());
  if (cost > maxBytes_ / 4) return;
  std::lock_guard lock(mu_);
  if (byId_.count(blobId)) return;  // the same content: the entry there is as good
  lru_.push_front(Entry{blobId, std::move(structure), cost});
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
