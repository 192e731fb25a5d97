// A session's view of its selected mailbox: the messages the client knows, in MSN order, and the
// MODSEQ it has seen. Turns store changes into the untagged EXISTS / EXPUNGE / FETCH FLAGS responses,
// holding expunges back while RFC 9051 forbids them (during FETCH, STORE, SEARCH). Pure logic.
#pragma once

#include <optional>
#include <set>
#include <string>
#include <vector>

#include "imap/protocol/command.h"
#include "store/types.h"

namespace tern::imap::server {

struct ViewMessage {
  store::Uid uid = 0;
  store::Flags flags;
  store::ModSeq modSeq = 0;
  store::DateTime internalDate;
  uint64_t size = 0;
  std::string blobId;
  bool recent = false;
  bool expungePending = false;  // gone from the store; EXPUNGE not yet sent
};

class MailboxView {
 public:
  MailboxView(const store::MailboxInfo& info, const std::vector<store::MessageMeta>& messages,
              store::Uid firstRecent, bool readOnly);

  store::MailboxId id() const { return id_; }
  uint32_t uidValidity() const { return uidValidity_; }
  store::Uid uidNext() const { return uidNext_; }
  store::ModSeq seenModSeq() const { return seenModSeq_; }
  bool readOnly() const { return readOnly_; }
  uint32_t exists() const { return static_cast<uint32_t>(messages_.size()); }
  uint32_t recentCount() const;
  std::optional<uint32_t> firstUnseenMsn() const;

  const ViewMessage& at(uint32_t msn) const { return messages_[msn - 1]; }  // 1-based
  ViewMessage& at(uint32_t msn) { return messages_[msn - 1]; }
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

 private:
  void noteKeywords(const store::Flags& flags, bool& added);
  store::MailboxId id_;
  uint32_t uidValidity_;
  store::Uid uidNext_;
  store::ModSeq seenModSeq_;
  bool readOnly_;
  std::vector<ViewMessage> messages_;  // UID ascending
  std::vector<std::string> keywords_;
};

// Client flag names to store flags: system flags by name (case-insensitive), keywords as atoms.
// \Recent is ignored (clients cannot set it); unknown system flags ("\Foo") make it nullopt.
std::optional<store::Flags> parseFlags(const std::vector<std::string>& names);

// Renders a flag list "(\Seen $Forwarded)"; \Recent added when recent.
std::string formatFlags(const store::Flags& flags, bool recent);

}  // namespace tern::imap::server
