// SEARCH over what the view knows (flags, sizes, dates, UIDs, sequence numbers), with NOT/OR/AND,
// ESEARCH results (RETURN MIN MAX COUNT ALL SAVE) and SEARCHRES's saved result "$". Keys that need
// message content are refused cleanly until the MIME parser lands.
#include <algorithm>
#include <ctime>

#include "imap/protocol/response.h"
#include "imap/server/session.h"
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

bool contentKey(SearchKey::Kind k) {
  using K = SearchKey::Kind;
  switch (k) {
    case K::Bcc: case K::Body: case K::Cc: case K::From: case K::Subject: case K::Text: case K::To:
    case K::Header: case K::SentBefore: case K::SentOn: case K::SentSince: case K::ModSeq:
      return true;
    default:
      return false;
  }
}

bool anyContentKey(const SearchKey& k) {
  if (contentKey(k.kind)) return true;
  return std::any_of(k.children.begin(), k.children.end(), anyContentKey);
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
    const store::Uid maxUid = n ? view.at(n).uid : 0;
    const uint32_t value = uid ? view.at(msn).uid : msn;
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
      case K::Before: return internalDay(m.internalDate) < daysFromCivil(k.date.year, k.date.month, k.date.day);
      case K::On: return internalDay(m.internalDate) == daysFromCivil(k.date.year, k.date.month, k.date.day);
      case K::Since: return internalDay(m.internalDate) >= daysFromCivil(k.date.year, k.date.month, k.date.day);
      case K::Larger: return m.size > k.number;
      case K::Smaller: return m.size < k.number;
      case K::Older: return m.internalDate.unixSeconds <= now - static_cast<int64_t>(k.number);
      case K::Younger: return m.internalDate.unixSeconds >= now - static_cast<int64_t>(k.number);
      case K::Uid: return inSet(k.set, true, msn);
      case K::SequenceSet: return inSet(k.set, false, msn);
      default: return false;
    }
  }
};

bool hasOption(const std::vector<std::string>& opts, std::string_view o) {
  return std::any_of(opts.begin(), opts.end(), [&](const std::string& e) { return iequals(e, o); });
}

}  // namespace

asio::awaitable<void> Session::cmdSearch(const std::string& tag, const Search& c) {
  if (c.charset && !iequals(*c.charset, "UTF-8") && !iequals(*c.charset, "US-ASCII")) {
    no(tag, "BADCHARSET (UTF-8 US-ASCII)", "Unsupported charset");
    co_return;
  }
  if (anyContentKey(c.key)) {
    bad(tag, "", "Search by message content is not supported yet");
    co_return;
  }
  std::vector<uint32_t> saved;
  for (store::Uid u : savedSearch_)
    if (auto msn = view_->msnOf(u)) saved.push_back(*msn);
  std::sort(saved.begin(), saved.end());
  Evaluator ev{*view_, &saved, !rev2_, static_cast<int64_t>(std::time(nullptr))};

  std::vector<uint32_t> matches;
  for (uint32_t msn = 1; msn <= view_->exists(); ++msn)
    if (!view_->at(msn).expungePending && ev.match(c.key, msn)) matches.push_back(msn);
  auto number = [&](uint32_t msn) { return c.uid ? view_->at(msn).uid : msn; };

  const bool esearch = c.esearch || rev2_;
  std::vector<std::string> opts = c.returnOptions;
  if (esearch && opts.empty()) opts.push_back("ALL");
  const bool save = hasOption(opts, "SAVE");
  const bool min = hasOption(opts, "MIN"), max = hasOption(opts, "MAX");
  if (save) {
    savedSearch_.clear();
    if ((min || max) && !hasOption(opts, "ALL") && !hasOption(opts, "COUNT")) {
      if (min && !matches.empty()) savedSearch_.push_back(view_->at(matches.front()).uid);
      if (max && matches.size() > 1) savedSearch_.push_back(view_->at(matches.back()).uid);
    } else {
      for (uint32_t msn : matches) savedSearch_.push_back(view_->at(msn).uid);
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
