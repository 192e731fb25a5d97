// MailboxView: MSN/UID bookkeeping and change application for a selected mailbox, over a compact
// MessageIndex (UID + interned flag set per message).
#include "imap/server/mailbox_view.h"

#include <algorithm>

#include "util/strings.h"

namespace tern::imap::server {

std::string formatFlags(const store::Flags& flags, bool recent) {
  std::string out = "(";
  auto add = [&](std::string_view f) {
    if (out.size() > 1) out += ' ';
    out += f;
  };
  if (flags.system & store::kSeen) add("\\Seen");
  if (flags.system & store::kAnswered) add("\\Answered");
  if (flags.system & store::kFlagged) add("\\Flagged");
  if (flags.system & store::kDeleted) add("\\Deleted");
  if (flags.system & store::kDraft) add("\\Draft");
  if (recent) add("\\Recent");
  for (const auto& k : flags.keywords) add(k);
  out += ')';
  return out;
}

std::optional<store::Flags> parseFlags(const std::vector<std::string>& names) {
  static const std::pair<const char*, uint32_t> kSystem[] = {{"\\Seen", store::kSeen},
                                                             {"\\Answered", store::kAnswered},
                                                             {"\\Flagged", store::kFlagged},
                                                             {"\\Deleted", store::kDeleted},
                                                             {"\\Draft", store::kDraft}};
  store::Flags flags;
  for (const auto& n : names) {
    if (n.empty()) return std::nullopt;
    if (n[0] == '\\') {
      if (iequals(n, "\\Recent")) continue;
      bool known = false;
      for (auto& [name, bit] : kSystem)
        if (iequals(n, name)) {
          flags.system |= bit;
          known = true;
        }
      if (!known) return std::nullopt;
      continue;
    }
    bool dup = std::any_of(flags.keywords.begin(), flags.keywords.end(), [&](auto& k) { return iequals(k, n); });
    if (!dup) flags.keywords.push_back(n);
  }
  return flags;
}

// --- MessageIndex ---

MessageIndex::MessageIndex() {
  sets_.emplace_back();  // set 0: no flags, the common case
  plainSets_.fill(kNoSet);
  plainSets_[0] = 0;
}

uint32_t MessageIndex::intern(const store::Flags& flags) {
  const bool plain = flags.keywords.empty() && flags.system < plainSets_.size();
  if (plain && plainSets_[flags.system] != kNoSet) return plainSets_[flags.system];
  std::string key = std::to_string(flags.system);
  for (const auto& k : flags.keywords) {
    key += ' ';
    key += k;
  }
  auto [it, added] = setIds_.try_emplace(std::move(key), static_cast<uint32_t>(sets_.size()));
  if (added) sets_.push_back(flags);
  if (plain) plainSets_[flags.system] = it->second;
  return it->second;
}

void MessageIndex::setFlags(size_t i, const store::Flags& flags) {
  entries_[i].word = (entries_[i].word & ~kSetMask) | intern(flags);
  // Sets no message uses any more pile up only under heavy keyword churn; rebuild then.
  if (sets_.size() > 4096 && sets_.size() > entries_.size()) compactSets();
}

void MessageIndex::compactSets() {
  std::deque<store::Flags> old;
  old.swap(sets_);
  setIds_.clear();
  sets_.emplace_back();
  plainSets_.fill(kNoSet);
  plainSets_[0] = 0;
  for (auto& e : entries_) e.word = (e.word & ~kSetMask) | intern(old[e.word & kSetMask]);
}

size_t MessageIndex::lowerBound(store::Uid uid) const {
  auto it = std::lower_bound(entries_.begin(), entries_.end(), uid, [](const Entry& e, store::Uid u) { return e.uid < u; });
  return static_cast<size_t>(it - entries_.begin());
}

void MessageIndex::removePending() {
  entries_.erase(std::remove_if(entries_.begin(), entries_.end(), [](const Entry& e) { return (e.word & kExpungePending) != 0; }),
                 entries_.end());
}

void MessageIndex::removeUids(std::vector<store::Uid> uids) {
  if (uids.empty()) return;
  std::sort(uids.begin(), uids.end());
  entries_.erase(std::remove_if(entries_.begin(), entries_.end(),
                                [&](const Entry& e) { return std::binary_search(uids.begin(), uids.end(), e.uid); }),
                 entries_.end());
}

void MessageIndex::applyChanges(const store::Changes& changes) {
  removeUids(changes.expunged);
  for (const auto& m : changes.changed) {
    const size_t i = lowerBound(m.uid);
    if (i < entries_.size() && entries_[i].uid == m.uid)
      setFlags(i, m.flags);
    else if (i == entries_.size())
      append(m.uid, m.flags);
    else  // cannot happen (new UIDs are above all present ones), but stay exact if it does
      entries_.insert(entries_.begin() + static_cast<std::ptrdiff_t>(i), Entry{m.uid, intern(m.flags)});
  }
}

size_t MessageIndex::memoryBytes() const {
  size_t n = entries_.capacity() * sizeof(Entry) + sets_.size() * sizeof(store::Flags);
  for (const auto& s : sets_)
    for (const auto& k : s.keywords) n += k.capacity();
  return n + setIds_.size() * 64;
}

// --- MailboxView ---

MailboxView::MailboxView(const store::MailboxInfo& info, const std::vector<store::MessageMeta>& messages,
                         store::Uid firstRecent, bool readOnly)
    : MailboxView(FromIndex{}, info,
                  [&] {
                    MessageIndex index;
                    index.reserve(messages.size());
                    for (const auto& m : messages) index.append(m.uid, m.flags);
                    return index;
                  }(),
                  firstRecent, readOnly) {}

MailboxView::MailboxView(FromIndex, const store::MailboxInfo& info, MessageIndex index, store::Uid firstRecent,
                         bool readOnly)
    : id_(info.id),
      uidValidity_(info.uidValidity),
      uidNext_(info.uidNext),
      seenModSeq_(info.highestModSeq),
      readOnly_(readOnly),
      messages_(std::move(index)) {
  if (firstRecent != 0) {
    for (size_t i = messages_.lowerBound(firstRecent); i < messages_.size(); ++i) {
      messages_[i].word |= MessageIndex::kRecent;
      ++recent_;
    }
  }
  // Keywords in first-seen order: walk the messages, but only look at a flag set the first time.
  bool ignored = false;
  std::vector<bool> seen(messages_.flagSets().size(), false);
  for (size_t i = 0; i < messages_.size(); ++i) {
    const uint32_t set = messages_[i].word & MessageIndex::kSetMask;
    if (set == 0 || seen[set]) continue;
    seen[set] = true;
    noteKeywords(messages_.flags(i), ignored);
  }
}

void MailboxView::noteKeywords(const store::Flags& flags, bool& added) {
  for (const auto& k : flags.keywords) {
    bool known = std::any_of(keywords_.begin(), keywords_.end(), [&](const std::string& e) { return iequals(e, k); });
    if (!known) {
      keywords_.push_back(k);
      added = true;
    }
  }
}

std::optional<uint32_t> MailboxView::firstUnseenMsn() const {
  for (size_t i = 0; i < messages_.size(); ++i)
    if (!(messages_.flags(i).system & store::kSeen)) return static_cast<uint32_t>(i + 1);
  return std::nullopt;
}

std::optional<uint32_t> MailboxView::msnOf(store::Uid uid) const {
  const size_t i = messages_.lowerBound(uid);
  if (i == messages_.size() || messages_[i].uid != uid) return std::nullopt;
  return static_cast<uint32_t>(i + 1);
}

std::optional<std::vector<uint32_t>> MailboxView::resolve(const SequenceSet& set, bool uid) const {
  std::vector<uint32_t> out;
  const uint32_t n = exists();
  if (!uid) {
    for (const auto& r : set.ranges) {
      uint32_t a = r.first == 0 ? n : r.first;
      uint32_t b = r.last == 0 ? n : r.last;
      if (a > b) std::swap(a, b);
      if (a == 0 || b > n) return std::nullopt;
      for (uint32_t i = a; i <= b; ++i) out.push_back(i);
    }
  } else {
    if (n == 0) return out;
    const store::Uid maxUid = messages_[n - 1].uid;
    for (const auto& r : set.ranges) {
      store::Uid a = r.first == 0 ? maxUid : r.first;
      store::Uid b = r.last == 0 ? maxUid : r.last;
      if (a > b) std::swap(a, b);
      for (size_t i = messages_.lowerBound(a); i < n && messages_[i].uid <= b; ++i)
        out.push_back(static_cast<uint32_t>(i + 1));
    }
  }
  if (set.ranges.size() > 1) {
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
  }
  return out;
}

MailboxView::Output MailboxView::apply(const store::Changes& changes, bool allowExpunge,
                                       store::Uid newRecentFrom, bool includeRecentCount) {
  Output out;
  for (store::Uid uid : changes.expunged)
    if (auto msn = msnOf(uid)) {
      messages_[*msn - 1].word |= MessageIndex::kExpungePending;
      anyPending_ = true;
    }
  if (allowExpunge) out.untagged += flushPendingExpunges();

  const uint32_t before = exists();
  for (const auto& m : changes.changed) {
    if (auto msn = msnOf(m.uid)) {
      if (messages_[*msn - 1].word & MessageIndex::kExpungePending) continue;
      if (messages_.flags(*msn - 1) == m.flags) continue;
      messages_.setFlags(*msn - 1, m.flags);
      noteKeywords(m.flags, out.newKeywords);
      const ViewMessage v = at(*msn);
      out.untagged += "* " + std::to_string(*msn) + " FETCH (UID " + std::to_string(m.uid) + " FLAGS " +
                      formatFlags(v.flags, v.recent) + ")\r\n";
    } else if (messages_.empty() || m.uid > messages_[messages_.size() - 1].uid) {
      const bool recent = newRecentFrom != 0 && m.uid >= newRecentFrom;
      messages_.append(m.uid, m.flags, recent ? MessageIndex::kRecent : 0);
      if (recent) ++recent_;
      noteKeywords(m.flags, out.newKeywords);
    }
  }
  if (exists() != before) {
    out.untagged += "* " + std::to_string(exists()) + " EXISTS\r\n";
    if (includeRecentCount) out.untagged += "* " + std::to_string(recentCount()) + " RECENT\r\n";
  }
  uidNext_ = std::max(uidNext_, changes.mailbox.uidNext);
  seenModSeq_ = std::max(seenModSeq_, changes.mailbox.highestModSeq);
  return out;
}

std::string MailboxView::flushPendingExpunges() {
  std::string out;
  if (!anyPending_) return out;
  // Highest MSN first, so each number is still right when the client removes it (RFC 9051 7.5.1).
  for (size_t i = messages_.size(); i-- > 0;) {
    const uint32_t word = messages_[i].word;
    if (!(word & MessageIndex::kExpungePending)) continue;
    out += "* " + std::to_string(i + 1) + " EXPUNGE\r\n";
    if (word & MessageIndex::kRecent) --recent_;
  }
  messages_.removePending();
  anyPending_ = false;
  return out;
}

void MailboxView::setFlags(store::Uid uid, const store::Flags& flags, store::ModSeq modSeq) {
  (void)modSeq;  // per-message MODSEQ is not kept: CONDSTORE is not offered
  if (auto msn = msnOf(uid)) {
    messages_.setFlags(*msn - 1, flags);
    bool ignored = false;
    noteKeywords(flags, ignored);
  }
}

std::string MailboxView::expunge(const std::vector<store::Uid>& uids) {
  for (store::Uid uid : uids)
    if (auto msn = msnOf(uid)) {
      messages_[*msn - 1].word |= MessageIndex::kExpungePending;
      anyPending_ = true;
    }
  return flushPendingExpunges();
}

}  // namespace tern::imap::server
