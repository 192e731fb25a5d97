// A bounded, shared cache of parsed message structures by blob id, so that FETCH ENVELOPE /
// BODYSTRUCTURE, SEARCH and SORT of messages read recently skip the store lookup and the
// deserialisation of the stored structure (Dovecot's index cache plays this part there).
//
// Never stale: a blob id names immutable content (its hash), so the structure of an id never changes.
// Not an access path: callers look ids up only from message rows of the account they serve. Entries
// are charged the heap memory they hold; least recently used go first.
// Thread-safe; no untrusted input beyond what was already parsed.
#pragma once

#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "mime/message.h"

namespace tern::imap::server {

class StructureCache {
 public:
  StructureCache() = default;
  explicit StructureCache(size_t maxBytes) : maxBytes_(maxBytes) {}

  // One entry per id, aligned; nullptr where the id is not cached.
  std::vector<std::shared_ptr<const mime::ParsedMessage>> getMany(const std::vector<std::string>& blobIds);

  // Keeps `parsed` under `blobId`, charged costOf(); entries above a quarter of the budget are not kept
  // (one huge message must not flush everything else).
  void put(const std::string& blobId, std::shared_ptr<const mime::ParsedMessage> parsed);

  // The heap bytes an entry holds: the parsed tree with its strings and vectors, the id, the bookkeeping.
  static size_t costOf(const std::string& blobId, const mime::ParsedMessage& parsed);

  size_t bytes() const;
  size_t entries() const;
  size_t hits() const;

 private:
  struct Entry {
    std::string blobId;
    std::shared_ptr<const mime::ParsedMessage> parsed;
    size_t cost;
  };
  using List = std::list<Entry>;

  const size_t maxBytes_ = 32u << 20;
  mutable std::mutex mu_;
  List lru_;  // most recent first
  std::unordered_map<std::string_view, List::iterator> byId_;  // views into the entries' blobId
  size_t bytes_ = 0;
  size_t hits_ = 0;
};

}  // namespace tern::imap::server
