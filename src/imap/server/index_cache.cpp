// IndexCache: LRU of MessageIndex copies keyed by mailbox, caught up with changesSince on each use.
#include "imap/server/index_cache.h"

#include <algorithm>
#include <vector>

namespace tern::imap::server {

std::optional<IndexCache::Entry> IndexCache::get(store::AccountId account, store::MailboxId mailbox) {
  std::lock_guard lock(mu_);
  auto it = byId_.find(mailbox);
  if (it == byId_.end() || it->second->second.account != account) return std::nullopt;
  lru_.splice(lru_.begin(), lru_, it->second);
  ++hits_;
  return it->second->second;  // a copy: 8 bytes a message, the caller's to change
}

void IndexCache::eraseLocked(Lru::iterator it) {
  total_ -= it->second.index.size();
  byId_.erase(it->first);
  lru_.erase(it);
}

void IndexCache::evictOverBudgetLocked() {
  while (total_ > maxMessages_ && !lru_.empty()) eraseLocked(std::prev(lru_.end()));
}

void IndexCache::put(store::AccountId account, const store::MailboxInfo& info, const MessageIndex& index) {
  std::lock_guard lock(mu_);
  if (auto it = byId_.find(info.id); it != byId_.end()) {
    // Keep the newer of the two (a slower concurrent SELECT may finish after a faster one).
    if (it->second->second.info.highestModSeq > info.highestModSeq &&
        it->second->second.info.uidValidity == info.uidValidity)
      return;
    eraseLocked(it->second);
  }
  if (index.size() < minMessages_ || index.size() > maxMessages_) return;
  lru_.emplace_front(info.id, Entry{account, info, index});
  byId_[info.id] = lru_.begin();
  total_ += index.size();
  evictOverBudgetLocked();
}

// In place, so neither a SELECT nor a background refresh copies the index twice. The store is read
// outside the lock; the changes are applied only to the snapshot they were read against (if another
// catch-up moved the entry meanwhile, it stays as that one left it: exact at its own snapshot).
bool IndexCache::catchUp(store::MailStore& mail, store::AccountId account, store::MailboxId mailbox) {
  store::MailboxInfo was;
  {
    std::lock_guard lock(mu_);
    auto it = byId_.find(mailbox);
    if (it == byId_.end() || it->second->second.account != account) return false;
    was = it->second->second.info;
  }
  auto changes = mail.changesSince(account, mailbox, was.highestModSeq);
  std::lock_guard lock(mu_);
  auto it = byId_.find(mailbox);
  if (it == byId_.end()) return false;
  Entry& entry = it->second->second;
  if (!changes || changes->mailbox.uidValidity != entry.info.uidValidity) {
    eraseLocked(it->second);  // unreadable or recreated: the next load scans
    return false;
  }
  if (entry.info.highestModSeq != was.highestModSeq) return true;
  total_ -= entry.index.size();
  entry.index.applyChanges(*changes);
  entry.info = changes->mailbox;
  total_ += entry.index.size();
  if (entry.index.size() > maxMessages_) {
    eraseLocked(it->second);
    return false;
  }
  evictOverBudgetLocked();
  return byId_.count(mailbox) > 0;
}

store::Result<store::MailboxInfo> IndexCache::load(store::MailStore& mail, store::AccountId account,
                                                   store::MailboxId mailbox, MessageIndex& index) {
  if (catchUp(mail, account, mailbox)) {
    if (auto cached = get(account, mailbox)) {
      index = std::move(cached->index);
      return cached->info;
    }
  }
  MessageIndex fresh;
  auto info = mail.scanFlags(account, mailbox, [&](store::Uid uid, const store::Flags& flags) { fresh.append(uid, flags); });
  if (!info) return info;
  put(account, *info, fresh);
  index = std::move(fresh);
  return info;
}

size_t IndexCache::warm(store::Directory& directory, store::MailStore& mail) {
  struct Large {
    store::AccountId account;
    store::MailboxId mailbox;
    uint32_t messages;
  };
  std::vector<Large> large;
  auto addresses = directory.listAccounts();
  if (!addresses) return 0;
  for (const auto& address : *addresses) {
    auto account = directory.findAccount(address);
    if (!account || !*account) continue;
    auto boxes = mail.listMailboxes((*account)->id);
    if (!boxes) continue;
    for (const auto& box : *boxes) {
      auto status = mail.status((*account)->id, box.id);  // kept counters: no scan
      if (status && status->messages >= minMessages_) large.push_back({(*account)->id, box.id, status->messages});
    }
  }
  std::sort(large.begin(), large.end(), [](const Large& a, const Large& b) { return a.messages > b.messages; });
  size_t loaded = 0, total = 0;
  for (const auto& l : large) {
    if (total + l.messages > maxMessages_) continue;
    MessageIndex index;
    if (load(mail, l.account, l.mailbox, index)) {
      ++loaded;
      total += index.size();
    }
  }
  return loaded;
}

void IndexCache::noteChanged(store::MailboxId mailbox) {
  std::lock_guard lock(notedMu_);
  noted_.insert(mailbox);
}

bool IndexCache::hasNoted() const {
  std::lock_guard lock(notedMu_);
  return !noted_.empty();
}

size_t IndexCache::refreshNoted(store::MailStore& mail) {
  std::unordered_set<store::MailboxId> noted;
  {
    std::lock_guard lock(notedMu_);
    noted.swap(noted_);
  }
  size_t refreshed = 0;
  for (store::MailboxId mailbox : noted) {
    bool cached;
    {
      std::lock_guard lock(mu_);
      cached = byId_.count(mailbox) > 0;
    }
    auto owner = mail.mailboxOwner(mailbox);
    if (!owner) {
      if (owner.error().code == store::Errc::NotFound) {  // deleted: drop what the cache holds of it
        std::lock_guard lock(mu_);
        if (auto it = byId_.find(mailbox); it != byId_.end()) eraseLocked(it->second);
      }
      continue;
    }
    if (cached) {
      if (catchUp(mail, *owner, mailbox)) ++refreshed;
      continue;
    }
    // Most changed mailboxes are small: the kept counters say so without a scan.
    auto status = mail.status(*owner, mailbox);
    if (!status || status->messages < minMessages_) continue;
    MessageIndex index;
    if (load(mail, *owner, mailbox, index)) ++refreshed;
  }
  return refreshed;
}

size_t IndexCache::cachedMessages() const {
  std::lock_guard lock(mu_);
  return total_;
}

size_t IndexCache::hits() const {
  std::lock_guard lock(mu_);
  return hits_;
}

}  // namespace tern::imap::server
