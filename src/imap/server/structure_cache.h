// A bounded, shared cache of parsed message structures by blob id, so that FETCH ENVELOPE /
// BODYSTRUCTURE, SEARCH and SORT of messages read recently skip the store lookup, the deserialisation
// of the stored structure and the rendering of the IMAP strings (Dovecot's index cache, which keeps
// ENVELOPE and BODYSTRUCTURE strings, plays this part there).
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

// A message's parsed structure with its IMAP renderings (ENVELOPE, BODY, BODYSTRUCTURE), each made
// once, on first use, and then shared by every session that fetches the message. Thread-safe.
class CachedStructure {
 public:
  explicit CachedStructure(mime::ParsedMessage parsed) : parsed_(std::move(parsed)) {}

  const mime::ParsedMessage& parsed() const { return parsed_; }
  // imap/protocol/message_structure.h's formatEnvelope / formatBodyStructure of this message.
  const std::string& envelope(bool utf8) const;
  const std::string& bodyStructure(bool extensible, bool utf8) const;

 private:
  const std::string& rendered(int variant, bool utf8) const;

  mime::ParsedMessage parsed_;
  mutable std::once_flag once_[6];  // [variant * 2 + utf8]: envelope, BODY, BODYSTRUCTURE
  mutable std::string rendered_[6];
};

using StructurePtr = std::shared_ptr<const CachedStructure>;

class StructureCache {
 public:
  StructureCache() = default;
  explicit StructureCache(size_t maxBytes) : maxBytes_(maxBytes) {}

  // One entry per id, aligned; nullptr where the id is not cached.
  std::vector<StructurePtr> getMany(const std::vector<std::string>& blobIds);

  // Keeps `parsed` under `blobId`, charged costOf(); entries above a quarter of the budget are not kept
  // (one huge message must not flush everything else).
  void put(const std::string& blobId, StructurePtr structure);

  // The heap bytes an entry holds: the parsed tree with its strings and vectors, the id, the bookkeeping,
  // and as much again for renderings (strings of about the parse's size, made on use).
  static size_t costOf(const std::string& blobId, const mime::ParsedMessage& parsed);

  size_t bytes() const;
  size_t entries() const;
  size_t hits() const;

 private:
  struct Entry {
    std::string blobId;
    StructurePtr structure;
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
