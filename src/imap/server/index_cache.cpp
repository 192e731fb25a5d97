// IndexCache: LRU of MessageIndex copies keyed by mailbox, caught up with changesSince on each use.
#include "imap/server/index_cache.h"

#include <algorithm>
#include <vector>

namespace tern::imap::server {

std::optional<IndexCache::Entry> IndexCache::get(store::AccountId account, store::MailboxId mailbox, bool countHit) {
  std::lock_guard lock(mu_);
  auto it = byId_.find(mailbox);
  if (it == byId_.end() || it->second->second.account != account) return std::nullopt;
  lru_.splice(lru_.begin(), lru_, it->second);
  if (countHit) ++hits_;
  return it->second->second;  // a copy: 8 bytes a message, the caller's to change
}

void IndexCache::put(store::AccountId account, const store::MailboxInfo& info, const MessageIndex& index) {
  std::lock_guard lock(mu_);
  if (auto it = byId_.find(info.id); it != byId_.end()) {
    // Keep the newer of the two (a slower concurrent SELECT may finish after a faster one).
    if (it->second->second.info.highestModSeq > info.highestModSeq &&
        it->second->second.info.uidValidity == info.uidValidity)
      return;
    total_ -= it->second->second.index.size();
    lru_.erase(it->second);
    byId_.erase(it);
  }
  if (index.size() < minMessages_ || index.size() > maxMessages_) return;
  lru_.emplace_front(info.id, Entry{account, info, index});
  byId_[info.id] = lru_.begin();
  total_ += index.size();
  while (total_ > maxMessages_ && !lru_.empty()) {
    total_ -= lru_.back().second.index.size();
    byId_.erase(lru_.back().first);
    lru_.pop_back();
  }
}

store::Result<store::MailboxInfo> IndexCache::load(store::MailStore& mail, store::AccountId account,
                                                   store::MailboxId mailbox, MessageIndex& index) {
  return load(mail, account, mailbox, index, true);
}

store::Result<store::MailboxInfo> IndexCache::load(store::MailStore& mail, store::AccountId account,
                                                   store::MailboxId mailbox, MessageIndex& index, bool countHit) {
  if (auto cached = get(account, mailbox, countHit)) {
    auto changes = mail.changesSince(account, mailbox, cached->info.highestModSeq);
    if (!changes) return Unexpected<store::Error>{changes.error()};
    if (changes->mailbox.uidValidity == cached->info.uidValidity) {
      index = std::move(cached->index);
      index.applyChanges(*changes);
      if (!changes->changed.empty() || !changes->expunged.empty()) put(account, changes->mailbox, index);
      return changes->mailbox;
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
    if (!owner) {  // deleted: drop what the cache holds of it
      std::lock_guard lock(mu_);
      if (auto it = byId_.find(mailbox); it != byId_.end()) {
        total_ -= it->second->second.index.size();
        lru_.erase(it->second);
        byId_.erase(it);
      }
      continue;
    }
    if (!cached) {
      // Most changed mailboxes are small: the kept counters say so without a scan.
      auto status = mail.status(*owner, mailbox);
      if (!status || status->messages < minMessages_) continue;
    }
    MessageIndex index;
    if (load(mail, *owner, mailbox, index, false)) ++refreshed;
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
