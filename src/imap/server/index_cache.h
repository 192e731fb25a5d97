// A bounded, shared cache of the MessageIndex of large mailboxes, so that SELECT of a mailbox with a
// million messages copies an index and reads only what changed since it was taken (changesSince),
// instead of scanning every row. Exact, not a hint: an index at MODSEQ m plus the changes after m is
// what a fresh scan returns. Thread-safe; no untrusted input.
#pragma once

#include <list>
#include <mutex>
#include <optional>
#include <unordered_map>
#include <unordered_set>

#include "imap/server/mailbox_view.h"
#include "store/store.h"

namespace tern::imap::server {

class IndexCache {
 public:
  // Keeps at most `maxMessages` messages' worth of indexes (8 bytes each), least recently used
  // dropped first; mailboxes under `minMessages` are cheap to scan and not kept.
  IndexCache() = default;
  IndexCache(size_t maxMessages, size_t minMessages) : maxMessages_(maxMessages), minMessages_(minMessages) {}

  // The mailbox's index, brought up to date: from the cache plus changesSince when cached, else from
  // a full scan (which is then cached). Returns the mailbox as of the index's snapshot. Blocking (store
  // reads): run it on the blocking pool.
  store::Result<store::MailboxInfo> load(store::MailStore& mail, store::AccountId account, store::MailboxId mailbox,
                                         MessageIndex& index);

  // Loads the indexes of the largest mailboxes (at least minMessages each) until the cache is full, so
  // the first SELECT after a restart copies an index instead of scanning. Blocking: run it once on the
  // blocking pool at start-up. Returns how many mailboxes were loaded.
  size_t warm(store::Directory& directory, store::MailStore& mail);

  // Following changes (wired to ChangeHub::subscribeAll): a noted mailbox is brought up to date by
  // the next refreshNoted(), or loaded if it is large and not cached yet, so SELECT of a large
  // mailbox that grows while the server runs (a busy INBOX, a migration by APPEND) stays a copy plus
  // a short catch-up. noteChanged is cheap: it runs on the writer thread after every commit.
  void noteChanged(store::MailboxId mailbox);
  bool hasNoted() const;
  // Refreshes or loads every mailbox noted so far. Blocking (store reads): run it on the blocking
  // pool, one at a time. Returns how many indexes it refreshed or loaded.
  size_t refreshNoted(store::MailStore& mail);

  size_t cachedMessages() const;
  size_t hits() const;

 private:
  struct Entry {
    store::AccountId account;
    store::MailboxInfo info;
    MessageIndex index;
  };
  using Lru = std::list<std::pair<store::MailboxId, Entry>>;
  std::optional<Entry> get(store::AccountId account, store::MailboxId mailbox);
  // Applies changesSince to the cached entry; false when the mailbox is not (or no longer) cached.
  bool catchUp(store::MailStore& mail, store::AccountId account, store::MailboxId mailbox);
  void eraseLocked(Lru::iterator it);  // under mu_
  void evictOverBudgetLocked();        // under mu_, least recently used first
  void put(store::AccountId account, const store::MailboxInfo& info, const MessageIndex& index);

  const size_t maxMessages_ = 8'000'000;
  const size_t minMessages_ = 20'000;
  mutable std::mutex mu_;
  Lru lru_;  // most recent first
  std::unordered_map<store::MailboxId, Lru::iterator> byId_;
  size_t total_ = 0;
  // Its own lock: noteChanged runs on the writer, which must not wait while an index is copied.
  mutable std::mutex notedMu_;
  std::unordered_set<store::MailboxId> noted_;
  size_t hits_ = 0;
};

}  // namespace tern::imap::server
