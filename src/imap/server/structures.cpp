// Loads stored message structures and fills in missing ones (the lazy migration of older stores).
// The blob bytes are our own stored messages but were untrusted input once: the parser bounds its
// work (mime::Limits) and deserialisation checks every length.
#include "imap/server/structures.h"

#include <unordered_map>

#include "mime/serialize.h"

namespace tern::imap::server {

std::string parseForStore(std::string_view bytes) { return mime::serializeMessage(mime::parseMessage(bytes)); }

store::Result<std::vector<StructurePtr>> loadStructures(
    store::MailStore& mail, const store::BlobStore& blobs, StructureCache& cache, store::AccountId account,
    const std::vector<std::string>& blobIds) {
  std::vector<StructurePtr> out = cache.getMany(blobIds);
  std::vector<size_t> missing;
  std::vector<std::string> missingIds;
  for (size_t i = 0; i < blobIds.size(); ++i)
    if (!out[i]) {
      missing.push_back(i);
      missingIds.push_back(blobIds[i]);
    }
  if (missing.empty()) return out;
  auto stored = mail.getStructures(account, missingIds);
  if (!stored) return Unexpected<store::Error>{stored.error()};
  std::vector<std::pair<std::string, std::string>> fresh;
  std::unordered_map<std::string, StructurePtr> parsedHere;
  for (size_t k = 0; k < missing.size(); ++k) {
    const size_t i = missing[k];
    // Copies share a blob: parse or deserialise each distinct one once.
    if (auto it = parsedHere.find(blobIds[i]); it != parsedHere.end()) {
      out[i] = it->second;
      continue;
    }
    if ((*stored)[k]) {
      if (auto parsed = mime::deserializeMessage(*(*stored)[k])) {
        out[i] = std::make_shared<const CachedStructure>(std::move(*parsed));
        cache.put(blobIds[i], out[i]);
        parsedHere.emplace(blobIds[i], out[i]);
        continue;
      }
    }
    auto blob = blobs.open(blobIds[i]);
    if (!blob) continue;
    auto parsed = mime::parseMessage((*blob)->bytes());
    fresh.emplace_back(blobIds[i], mime::serializeMessage(parsed));
    out[i] = std::make_shared<const CachedStructure>(std::move(parsed));
    cache.put(blobIds[i], out[i]);
    parsedHere.emplace(blobIds[i], out[i]);
  }
  // Storing is an optimisation: on failure the next request parses again. A corrupt row stays (the
  // store keeps the first structure); this request still serves the fresh parse.
  if (!fresh.empty()) (void)mail.putStructures(account, fresh);
  return out;
}

store::Result<MessageRows> loadMessageRows(store::MailStore& mail, const store::BlobStore& blobs,
                                           StructureCache& cache, store::AccountId account, store::MailboxId mailbox,
                                           const std::vector<store::Uid>& uids, bool withStructures) {
  MessageRows out;
  auto found = mail.getMessages(account, mailbox, uids);
  if (!found) return Unexpected<store::Error>{found.error()};
  out.rows.resize(uids.size());
  // Both are in UID order: one merge aligns them.
  size_t j = 0;
  for (size_t i = 0; i < uids.size(); ++i) {
    while (j < found->size() && (*found)[j].uid < uids[i]) ++j;
    if (j < found->size() && (*found)[j].uid == uids[i]) out.rows[i] = std::move((*found)[j++]);
  }
  if (!withStructures) return out;
  std::vector<std::string> ids;
  std::vector<size_t> at;
  for (size_t i = 0; i < out.rows.size(); ++i)
    if (out.rows[i].uid != 0) {
      ids.push_back(out.rows[i].blobId);
      at.push_back(i);
    }
  out.structures.resize(uids.size());
  if (ids.empty()) return out;
  auto loaded = loadStructures(mail, blobs, cache, account, ids);
  if (!loaded) return Unexpected<store::Error>{loaded.error()};
  for (size_t k = 0; k < at.size(); ++k) out.structures[at[k]] = std::move((*loaded)[k]);
  return out;
}

}  // namespace tern::imap::server
