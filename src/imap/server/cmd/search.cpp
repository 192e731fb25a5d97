// SEARCH: flags, UIDs and sequence numbers from the view; sizes and dates from the store rows (read per
// chunk); address, subject and sent-date keys from the stored parse; HEADER from the mapped header
// bytes; BODY/TEXT from the decoded text parts of the blob. NOT/OR/AND, ESEARCH results (RETURN MIN MAX COUNT ALL SAVE), SEARCHRES "$".
// Matching is case-insensitive on decoded UTF-8 (message_text.h folding). Search strings are untrusted
// but only compared; nesting is bounded by the parser.
#include <algorithm>
#include <ctime>

#include "imap/protocol/response.h"
#include "imap/server/message_text.h"
#include "imap/server/session.h"
#include "imap/server/structures.h"
#include "mime/encoded_words.h"
#include "mime/header_fields.h"
#include "util/log.h"
#include "util/strings.h"

namespace tern::imap::server {
namespace {

// Days since 1970-01-01 for a civil date (proleptic Gregorian).
int64_t daysFromCivil(int y, int m, int d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const int64_t yoe = y - era * 400;
  const int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

int64_t floorDiv(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

// The internal date's calendar day, in the message's own zone ("disregarding time and timezone").
int64_t internalDay(const store::DateTime& dt) { return floorDiv(dt.unixSeconds + dt.tzOffsetMinutes * 60LL, 86400); }

// Keys that need the message's store row (the view keeps only UIDs and flags).
bool rowKey(SearchKey::Kind k) {
  using K = SearchKey::Kind;
  switch (k) {
    case K::Before: case K::On: case K::Since: case K::Larger: case K::Smaller: case K::Older: case K::Younger:
      return true;
    default:
      return false;
  }
}

bool contentKey(SearchKey::Kind k) {
  using K = SearchKey::Kind;
  switch (k) {
    case K::Bcc: case K::Body: case K::Cc: case K::From: case K::Subject: case K::Text: case K::To:
    case K::Header: case K::SentBefore: case K::SentOn: case K::SentSince:
      return true;
    default:
      return false;
  }
}

template <class Pred>
bool anyKey(const SearchKey& k, Pred pred) {
  if (pred(k.kind)) return true;
  return std::any_of(k.children.begin(), k.children.end(), [&](const SearchKey& c) { return anyKey(c, pred); });
}

// Search strings folded once per query, not once per message.
void foldNeedles(SearchKey& k) {
  if (contentKey(k.kind)) k.text = foldCase(k.text);
  for (auto& c : k.children) foldNeedles(c);
}

// What content keys look at for one message; the decoded texts are built on first use.
struct MessageContent {
  const mime::ParsedMessage* parsed = nullptr;
  std::shared_ptr<const store::Blob> blob;
  std::optional<mime::HeaderBlock> header;
  std::optional<std::string> body;        // folded decoded text parts
  std::optional<std::string> headerText;  // folded decoded header
};

bool addressesMatch(const std::vector<mime::Address>& list, std::string_view needle) {
  for (const auto& a : list) {
    if (a.kind != mime::Address::Kind::Mailbox) continue;
    std::string s = mime::decodeEncodedWords(a.name) + " <" + a.addrSpec() + ">";
    if (containsFolded(s, needle)) return true;
  }
  return false;
}

bool hasKeyword(const store::Flags& f, std::string_view kw) {
  return std::any_of(f.keywords.begin(), f.keywords.end(), [&](const std::string& k) { return iequals(k, kw); });
}

struct Evaluator {
  const MailboxView& view;
  const std::vector<uint32_t>* saved;  // "$" as MSNs
  bool includeRecent;
  int64_t now;

  bool inSet(const SequenceSet& set, bool uid, uint32_t msn) const {
    if (set.savedResult) return saved && std::binary_search(saved->begin(), saved->end(), msn);
    const uint32_t n = view.exists();
    const store::Uid maxUid = n ? view.uidAt(n) : 0;
    const uint32_t value = uid ? view.uidAt(msn) : msn;
    const uint32_t star = uid ? maxUid : n;
    for (const auto& r : set.ranges) {
      uint32_t a = r.first == 0 ? star : r.first;
      uint32_t b = r.last == 0 ? star : r.last;
      if (a > b) std::swap(a, b);
      if (value >= a && value <= b) return true;
    }
    return false;
  }

  bool match(const SearchKey& k, uint32_t msn) const {
    using K = SearchKey::Kind;
    const ViewMessage& m = view.at(msn);
    const uint32_t sys = m.flags.system;
    switch (k.kind) {
      case K::And:
        return std::all_of(k.children.begin(), k.children.end(), [&](const SearchKey& c) { return match(c, msn); });
      case K::Or: return k.children.size() == 2 && (match(k.children[0], msn) || match(k.children[1], msn));
      case K::Not: return k.children.size() == 1 && !match(k.children[0], msn);
      case K::All: return true;
      case K::Answered: return sys & store::kAnswered;
      case K::Deleted: return sys & store::kDeleted;
      case K::Draft: return sys & store::kDraft;
      case K::Flagged: return sys & store::kFlagged;
      case K::Seen: return sys & store::kSeen;
      case K::Unanswered: return !(sys & store::kAnswered);
      case K::Undeleted: return !(sys & store::kDeleted);
      case K::Undraft: return !(sys & store::kDraft);
      case K::Unflagged: return !(sys & store::kFlagged);
      case K::Unseen: return !(sys & store::kSeen);
      case K::Recent: return includeRecent && m.recent;
      case K::New: return includeRecent && m.recent && !(sys & store::kSeen);
      case K::Old: return !(includeRecent && m.recent);
      case K::Keyword: return hasKeyword(m.flags, k.text);
      case K::Unkeyword: return !hasKeyword(m.flags, k.text);
      case K::Before: return row && internalDay(row->internalDate) < daysFromCivil(k.date.year, k.date.month, k.date.day);
      case K::On: return row && internalDay(row->internalDate) == daysFromCivil(k.date.year, k.date.month, k.date.day);
      case K::Since: return row && internalDay(row->internalDate) >= daysFromCivil(k.date.year, k.date.month, k.date.day);
      case K::Larger: return row && row->size > k.number;
      case K::Smaller: return row && row->size < k.number;
      case K::Older: return row && row->internalDate.unixSeconds <= now - static_cast<int64_t>(k.number);
      case K::Younger: return row && row->internalDate.unixSeconds >= now - static_cast<int64_t>(k.number);
      case K::Uid: return inSet(k.set, true, msn);
      case K::SequenceSet: return inSet(k.set, false, msn);
      default: return content ? matchContent(k) : false;
    }
  }

  MessageContent* content = nullptr;  // the message being matched (content keys only)
  const store::MessageMeta* row = nullptr;  // its store row (date, size and content keys only)

  bool matchContent(const SearchKey& k) const {
    using K = SearchKey::Kind;
    MessageContent& c = *content;
    if (!c.parsed) return false;
    const mime::Envelope& env = c.parsed->envelope;
    switch (k.kind) {
      case K::From: return addressesMatch(env.from, k.text);
      case K::To: return addressesMatch(env.to, k.text);
      case K::Cc: return addressesMatch(env.cc, k.text);
      case K::Bcc: return addressesMatch(env.bcc, k.text);
      case K::Subject: return containsFolded(c.parsed->sort.subject, k.text);
      case K::SentBefore: case K::SentOn: case K::SentSince: {
        const auto& d = c.parsed->sort.date;
        if (!d) return false;  // no usable Date: header
        const int64_t day = floorDiv(d->unixTime + d->zoneMinutes * 60LL, 86400);
        const int64_t want = daysFromCivil(k.date.year, k.date.month, k.date.day);
        return k.kind == K::SentBefore ? day < want : k.kind == K::SentOn ? day == want : day >= want;
      }
      case K::Header: {
        if (!c.blob) return false;
        if (!c.header) {
          const auto& root = c.parsed->root;
          std::string_view bytes = c.blob->bytes();
          std::string_view h = bytes.substr(0, std::min(bytes.size(), root.headerOffset + root.headerSize));
          c.header = mime::parseHeaderFields(h);
        }
        for (const auto& f : c.header->fields)
          if (iequals(f.name, k.field) && containsFolded(mime::decodeEncodedWords(f.value), k.text)) return true;
        return false;
      }
      case K::Body: case K::Text: {
        if (!c.blob) return false;
        if (!c.body) c.body = foldCase(bodyText(c.blob->bytes(), *c.parsed));
        if (c.body->find(k.text) != std::string::npos) return true;
        if (k.kind == K::Body) return false;
        if (!c.headerText) {
          const auto& root = c.parsed->root;
          std::string_view bytes = c.blob->bytes();
          c.headerText = foldCase(mime::decodeEncodedWords(
              mime::headerTextToUtf8(bytes.substr(0, std::min(bytes.size(), root.headerOffset + root.headerSize)))));
        }
        return c.headerText->find(k.text) != std::string::npos;
      }
      default: return false;
    }
  }
};

bool hasOption(const std::vector<std::string>& opts, std::string_view o) {
  return std::any_of(opts.begin(), opts.end(), [&](const std::string& e) { return iequals(e, o); });
}

}  // namespace

asio::awaitable<std::optional<std::vector<uint32_t>>> Session::searchMatches(const std::string& tag,
                                                                              const std::optional<std::string>& charset,
                                                                              const SearchKey& key) {
  if (charset && !iequals(*charset, "UTF-8") && !iequals(*charset, "US-ASCII")) {
    no(tag, "BADCHARSET (UTF-8 US-ASCII)", "Unsupported charset");
    co_return std::nullopt;
  }
  if (anyKey(key, [](SearchKey::Kind k) { return k == SearchKey::Kind::ModSeq; })) {
    bad(tag, "", "CONDSTORE is not enabled");
    co_return std::nullopt;
  }
  using K = SearchKey::Kind;
  const bool needStructure = anyKey(key, contentKey);
  const bool needRow = needStructure || anyKey(key, rowKey);
  const bool needBlob = anyKey(key, [](K k) { return k == K::Header || k == K::Body || k == K::Text; });
  SearchKey folded = key;
  foldNeedles(folded);

  std::vector<uint32_t> saved;
  for (store::Uid u : savedSearch_)
    if (auto msn = view_->msnOf(u)) saved.push_back(*msn);
  std::sort(saved.begin(), saved.end());
  Evaluator ev{*view_, &saved, !rev2_, static_cast<int64_t>(std::time(nullptr))};

  std::vector<uint32_t> matches;
  if (!needRow) {
    for (uint32_t msn = 1; msn <= view_->exists(); ++msn)
      if (!view_->at(msn).expungePending && ev.match(folded, msn)) matches.push_back(msn);
    co_return matches;
  }
  // Date, size and content keys: in chunks on the blocking pool (store rows and structures loaded per
  // chunk; blobs mapped only for HEADER/BODY/TEXT), so the session's worker thread never scans message
  // text. A message expunged meanwhile by another session matches nothing.
  constexpr uint32_t kChunk = 512;
  const auto account = account_->id;
  const auto mailbox = view_->id();
  for (uint32_t start = 1; start <= view_->exists(); start += kChunk) {
    const uint32_t end = std::min<uint32_t>(view_->exists(), start + kChunk - 1);
    std::vector<store::Uid> uids;
    for (uint32_t msn = start; msn <= end; ++msn) uids.push_back(view_->uidAt(msn));
    auto r = co_await blocking([&]() -> store::Result<std::vector<uint32_t>> {
      auto loaded =
          loadMessageRows(ctx_->mail, ctx_->blobs, ctx_->structures, account, mailbox, uids, needStructure);
      if (!loaded) return Unexpected<store::Error>{loaded.error()};
      std::vector<uint32_t> out;
      for (uint32_t msn = start; msn <= end; ++msn) {
        const store::MessageMeta& row = loaded->rows[msn - start];
        if (view_->at(msn).expungePending || row.uid == 0) continue;
        MessageContent mc;
        if (needStructure && loaded->structures[msn - start]) mc.parsed = &loaded->structures[msn - start]->parsed();
        if (needBlob && mc.parsed) {
          if (auto b = ctx_->blobs.open(row.blobId)) mc.blob = *b;
        }
        Evaluator local = ev;
        local.content = &mc;
        local.row = &row;
        if (local.match(folded, msn)) out.push_back(msn);
      }
      return out;
    });
    if (!r) {
      noStore(tag, r.error(), "SEARCH");
      co_return std::nullopt;
    }
    matches.insert(matches.end(), r->begin(), r->end());
  }
  co_return matches;
}

asio::awaitable<void> Session::cmdSearch(const std::string& tag, const Search& c) {
  auto found = co_await searchMatches(tag, c.charset, c.key);
  if (!found) co_return;
  std::vector<uint32_t> matches = std::move(*found);
  auto number = [&](uint32_t msn) { return c.uid ? view_->uidAt(msn) : msn; };

  const bool esearch = c.esearch || rev2_;
  std::vector<std::string> opts = c.returnOptions;
  if (esearch && opts.empty()) opts.push_back("ALL");
  const bool save = hasOption(opts, "SAVE");
  const bool min = hasOption(opts, "MIN"), max = hasOption(opts, "MAX");
  if (save) {
    savedSearch_.clear();
    if ((min || max) && !hasOption(opts, "ALL") && !hasOption(opts, "COUNT")) {
      if (min && !matches.empty()) savedSearch_.push_back(view_->uidAt(matches.front()));
      if (max && matches.size() > 1) savedSearch_.push_back(view_->uidAt(matches.back()));
    } else {
      for (uint32_t msn : matches) savedSearch_.push_back(view_->uidAt(msn));
    }
  }

  if (!esearch) {
    std::string line = "* SEARCH";
    for (uint32_t msn : matches) line += " " + std::to_string(number(msn));
    send(line + "\r\n");
  } else if (!(save && opts.size() == 1)) {
    std::string line = "* ESEARCH (TAG ";
    appendString(line, tag);
    line += ")";
    if (c.uid) line += " UID";
    if (min && !matches.empty()) line += " MIN " + std::to_string(number(matches.front()));
    if (max && !matches.empty()) line += " MAX " + std::to_string(number(matches.back()));
    if (hasOption(opts, "COUNT")) line += " COUNT " + std::to_string(matches.size());
    if (hasOption(opts, "ALL") && !matches.empty()) {
      std::vector<uint32_t> nums;
      for (uint32_t msn : matches) nums.push_back(number(msn));
      line += " ALL " + formatSequenceSet(nums);
    }
    send(line + "\r\n");
  }
  ok(tag, "SEARCH completed");
}

}  // namespace tern::imap::server
