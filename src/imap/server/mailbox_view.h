// A session's view of its selected mailbox: the messages the client knows, in MSN order (UIDs and
// flags only, 8 bytes each), and the MODSEQ it has seen. Turns store changes into the untagged EXISTS /
// EXPUNGE / FETCH FLAGS responses, holding expunges back while RFC 9051 forbids them (during FETCH,
// STORE, SEARCH). Pure logic.
#pragma once

#include <array>
#include <deque>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "imap/protocol/command.h"
#include "store/types.h"

namespace tern::imap::server {

// One message as commands read it: UID and flags from the view. Size, INTERNALDATE and the blob are
// read from the store when a command needs them (per chunk), so a view costs 8 bytes per message.
// `flags` refers into the view and is valid until the view next changes.
struct ViewMessage {
  store::Uid uid = 0;
  const store::Flags& flags;
  bool recent = false;
  bool expungePending = false;  // gone from the store; EXPUNGE not yet sent
};

// The messages of a mailbox as UIDs and interned flag sets: 8 bytes per message plus one copy of each
// distinct flag combination (a mailbox of a million messages has a handful). Built by SELECT from
// store::MailStore::scanFlags, or copied from the IndexCache.
class MessageIndex {
 public:
  static constexpr uint32_t kRecent = 1u << 31;
  static constexpr uint32_t kExpungePending = 1u << 30;
  static constexpr uint32_t kSetMask = kExpungePending - 1;
  struct Entry {
    store::Uid uid;
    uint32_t word;  // flag-set id | kRecent | kExpungePending
  };

  MessageIndex();
  // Appends a message; UIDs must ascend.
  void append(store::Uid uid, const store::Flags& flags, uint32_t bits = 0) {
    entries_.push_back(Entry{uid, intern(flags) | bits});
  }
  void reserve(size_t n) { entries_.reserve(n); }
  size_t size() const { return entries_.size(); }
  bool empty() const { return entries_.empty(); }
  const Entry& operator[](size_t i) const { return entries_[i]; }
  Entry& operator[](size_t i) { return entries_[i]; }
  const store::Flags& flags(size_t i) const { return sets_[entries_[i].word & kSetMask]; }
  void setFlags(size_t i, const store::Flags& flags);
  // Index of the first entry with uid >= `uid`.
  size_t lowerBound(store::Uid uid) const;
  // Removes the entries with kExpungePending set.
  void removePending();
  // Removes the given UIDs (ascending or not); absent ones are ignored.
  void removeUids(std::vector<store::Uid> uids);
  // Brings an index taken at MODSEQ m up to date with changesSince(m): what a fresh scan would give.
  void applyChanges(const store::Changes& changes);
  const std::deque<store::Flags>& flagSets() const { return sets_; }
  size_t memoryBytes() const;

 private:
  uint32_t intern(const store::Flags& flags);
  void compactSets();
  std::vector<Entry> entries_;  // UID ascending
  std::deque<store::Flags> sets_;  // a deque: references stay valid as sets are added
  std::unordered_map<std::string, uint32_t> setIds_;
  // The set id of each keyword-less combination of the low system flags (kNoSet: not made yet), so
  // building the index of a large mailbox does not format and hash a key per message.
  static constexpr uint32_t kNoSet = ~0u;
  std::array<uint32_t, 64> plainSets_;
};

class MailboxView {
 public:
  MailboxView(const store::MailboxInfo& info, const std::vector<store::MessageMeta>& messages,
              store::Uid firstRecent, bool readOnly);
  // `info` must be as of the same snapshot as `index` (or older: a later refresh repeats nothing).
  static MailboxView fromIndex(const store::MailboxInfo& info, MessageIndex index, store::Uid firstRecent,
                               bool readOnly) {
    return MailboxView(FromIndex{}, info, std::move(index), firstRecent, readOnly);
  }

  store::MailboxId id() const { return id_; }
  uint32_t uidValidity() const { return uidValidity_; }
  store::Uid uidNext() const { return uidNext_; }
  store::ModSeq seenModSeq() const { return seenModSeq_; }
  bool readOnly() const { return readOnly_; }
  uint32_t exists() const { return static_cast<uint32_t>(messages_.size()); }
  uint32_t recentCount() const { return recent_; }
  std::optional<uint32_t> firstUnseenMsn() const;

  ViewMessage at(uint32_t msn) const {  // 1-based
    const auto& e = messages_[msn - 1];
    return ViewMessage{e.uid, messages_.flags(msn - 1), (e.word & MessageIndex::kRecent) != 0,
                       (e.word & MessageIndex::kExpungePending) != 0};
  }
  store::Uid uidAt(uint32_t msn) const { return messages_[msn - 1].uid; }
  std::optional<uint32_t> msnOf(store::Uid uid) const;

  // The MSNs a sequence set names, ascending and unique. For MSN sets, a number beyond EXISTS makes it
  // invalid (nullopt); for UID sets, UIDs not present are skipped, and "*" is the highest UID present
  // (so "n:*" always includes the last message, RFC 9051 6.4.9).
  std::optional<std::vector<uint32_t>> resolve(const SequenceSet& set, bool uid) const;

  // The keywords used by messages in the view (for the FLAGS response), first-seen spelling.
  const std::vector<std::string>& keywords() const { return keywords_; }

  struct Output {
    std::string untagged;  // CRLF-terminated lines to send
    bool newKeywords = false;
  };
  // Applies changes read from the store. Expunges are only announced when allowExpunge; otherwise they
  // wait. `newRecentFrom`: new messages with UID >= it are \Recent for this session (0: none).
  Output apply(const store::Changes& changes, bool allowExpunge, store::Uid newRecentFrom,
               bool includeRecentCount);
  // Announces expunges held back earlier (when allowed now).
  std::string flushPendingExpunges();

  // This session's own writes, applied at once so the later refresh finds nothing new to say.
  void setFlags(store::Uid uid, const store::Flags& flags, store::ModSeq modSeq);
  // Removes the given UIDs and returns the "* n EXPUNGE" lines (highest MSN first).
  std::string expunge(const std::vector<store::Uid>& uids);
  size_t memoryBytes() const { return messages_.memoryBytes(); }

 private:
  struct FromIndex {};  // keeps `MailboxView(info, {}, ...)` unambiguous
  MailboxView(FromIndex, const store::MailboxInfo& info, MessageIndex index, store::Uid firstRecent, bool readOnly);
  void noteKeywords(const store::Flags& flags, bool& added);
  store::MailboxId id_;
  uint32_t uidValidity_;
  store::Uid uidNext_;
  store::ModSeq seenModSeq_;
  bool readOnly_;
  uint32_t recent_ = 0;    // entries with kRecent
  bool anyPending_ = false;  // some entry has kExpungePending
  MessageIndex messages_;
  std::vector<std::string> keywords_;
};

// Client flag names to store flags: system flags by name (case-insensitive), keywords as atoms.
// \Recent is ignored (clients cannot set it); unknown system flags ("\Foo") make it nullopt.
std::optional<store::Flags> parseFlags(const std::vector<std::string>& names);

// Renders a flag list "(\Seen $Forwarded)"; \Recent added when recent.
std::string formatFlags(const store::Flags& flags, bool recent);

}  // namespace tern::imap::server
