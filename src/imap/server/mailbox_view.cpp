// MailboxView: MSN/UID bookkeeping and change application for a selected mailbox.
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

MailboxView::MailboxView(const store::MailboxInfo& info, const std::vector<store::MessageMeta>& messages,
                         store::Uid firstRecent, bool readOnly)
    : id_(info.id),
      uidValidity_(info.uidValidity),
      uidNext_(info.uidNext),
      seenModSeq_(info.highestModSeq),
      readOnly_(readOnly) {
  messages_.reserve(messages.size());
  bool ignored = false;
  for (const auto& m : messages) {
    messages_.push_back(ViewMessage{m.uid, m.flags, m.modSeq, m.internalDate, m.size, m.blobId,
                                    firstRecent != 0 && m.uid >= firstRecent, false});
    noteKeywords(m.flags, ignored);
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

uint32_t MailboxView::recentCount() const {
  return static_cast<uint32_t>(std::count_if(messages_.begin(), messages_.end(), [](auto& m) { return m.recent; }));
}

std::optional<uint32_t> MailboxView::firstUnseenMsn() const {
  for (size_t i = 0; i < messages_.size(); ++i)
    if (!(messages_[i].flags.system & store::kSeen)) return static_cast<uint32_t>(i + 1);
  return std::nullopt;
}

std::optional<uint32_t> MailboxView::msnOf(store::Uid uid) const {
  auto it = std::lower_bound(messages_.begin(), messages_.end(), uid,
                             [](const ViewMessage& m, store::Uid u) { return m.uid < u; });
  if (it == messages_.end() || it->uid != uid) return std::nullopt;
  return static_cast<uint32_t>(it - messages_.begin() + 1);
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
    const store::Uid maxUid = messages_.back().uid;
    for (const auto& r : set.ranges) {
      store::Uid a = r.first == 0 ? maxUid : r.first;
      store::Uid b = r.last == 0 ? maxUid : r.last;
      if (a > b) std::swap(a, b);
      auto lo = std::lower_bound(messages_.begin(), messages_.end(), a,
                                 [](const ViewMessage& m, store::Uid u) { return m.uid < u; });
      for (auto it = lo; it != messages_.end() && it->uid <= b; ++it)
        out.push_back(static_cast<uint32_t>(it - messages_.begin() + 1));
    }
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

MailboxView::Output MailboxView::apply(const store::Changes& changes, bool allowExpunge,
                                       store::Uid newRecentFrom, bool includeRecentCount) {
  Output out;
  for (store::Uid uid : changes.expunged)
    if (auto msn = msnOf(uid)) at(*msn).expungePending = true;
  if (allowExpunge) out.untagged += flushPendingExpunges();

  const uint32_t before = exists();
  bool newRecent = false;
  for (const auto& m : changes.changed) {
    if (auto msn = msnOf(m.uid)) {
      ViewMessage& v = at(*msn);
      if (v.expungePending) continue;
      v.modSeq = std::max(v.modSeq, m.modSeq);
      if (v.flags == m.flags) continue;
      v.flags = m.flags;
      noteKeywords(m.flags, out.newKeywords);
      out.untagged += "* " + std::to_string(*msn) + " FETCH (UID " + std::to_string(m.uid) + " FLAGS " +
                      formatFlags(v.flags, v.recent) + ")\r\n";
    } else if (messages_.empty() || m.uid > messages_.back().uid) {
      bool recent = newRecentFrom != 0 && m.uid >= newRecentFrom;
      newRecent = newRecent || recent;
      messages_.push_back(ViewMessage{m.uid, m.flags, m.modSeq, m.internalDate, m.size, m.blobId, recent, false});
      noteKeywords(m.flags, out.newKeywords);
    }
  }
  if (exists() != before) {
    out.untagged += "* " + std::to_string(exists()) + " EXISTS\r\n";
    if (includeRecentCount) out.untagged += "* " + std::to_string(recentCount()) + " RECENT\r\n";
  }
  (void)newRecent;
  uidNext_ = std::max(uidNext_, changes.mailbox.uidNext);
  seenModSeq_ = std::max(seenModSeq_, changes.mailbox.highestModSeq);
  return out;
}

std::string MailboxView::flushPendingExpunges() {
  std::string out;
  for (size_t i = messages_.size(); i-- > 0;) {
    if (!messages_[i].expungePending) continue;
    out += "* " + std::to_string(i + 1) + " EXPUNGE\r\n";
    messages_.erase(messages_.begin() + static_cast<std::ptrdiff_t>(i));
  }
  return out;
}

void MailboxView::setFlags(store::Uid uid, const store::Flags& flags, store::ModSeq modSeq) {
  if (auto msn = msnOf(uid)) {
    ViewMessage& v = at(*msn);
    v.flags = flags;
    v.modSeq = std::max(v.modSeq, modSeq);
    bool ignored = false;
    noteKeywords(flags, ignored);
  }
}

std::string MailboxView::expunge(const std::vector<store::Uid>& uids) {
  for (store::Uid uid : uids)
    if (auto msn = msnOf(uid)) at(*msn).expungePending = true;
  return flushPendingExpunges();
}

}  // namespace tern::imap::server
