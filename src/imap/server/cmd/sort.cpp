// SORT / UID SORT (RFC 5256, RFC 5957 DISPLAY), ESORT's RETURN options (RFC 5267) and THREAD /
// UID THREAD. The search key is evaluated like SEARCH; the ordering uses the header values stored
// with each message's structure (sort.h), so no message is parsed here.
#include <algorithm>

#include "imap/protocol/response.h"
#include "imap/server/session.h"
#include "imap/server/sort.h"
#include "imap/server/structures.h"
#include "util/strings.h"

namespace tern::imap::server {
namespace {

bool hasOption(const std::vector<std::string>& opts, std::string_view o) {
  return std::any_of(opts.begin(), opts.end(), [&](const std::string& e) { return iequals(e, o); });
}

}  // namespace

// Loads the structures of the given MSNs and builds sort items (numbers are UIDs when `uid`).
asio::awaitable<std::optional<std::vector<SortItem>>> Session::sortItems(
    const std::string& tag, const std::vector<uint32_t>& msns, bool uid,
    std::vector<StructurePtr>& keep) {
  // Rows and structures in UID order (what the store reads), then put back in the MSNs' order.
  std::vector<store::Uid> uids;
  uids.reserve(msns.size());
  for (uint32_t msn : msns) uids.push_back(view_->uidAt(msn));
  const auto account = account_->id;
  const auto mailbox = view_->id();
  auto loaded = co_await blocking([&] {
    return loadMessageRows(ctx_->mail, ctx_->blobs, ctx_->structures, account, mailbox, uids, true);
  });
  if (!loaded) {
    noStore(tag, loaded.error(), "SORT");
    co_return std::nullopt;
  }
  keep = std::move(loaded->structures);
  static const mime::SortFields kEmpty;
  std::vector<SortItem> items;
  items.reserve(msns.size());
  for (size_t i = 0; i < msns.size(); ++i) {
    const store::MessageMeta& row = loaded->rows[i];  // uid 0: expunged meanwhile, sorts as empty
    SortItem it;
    it.number = uid ? uids[i] : msns[i];
    it.msn = msns[i];
    it.size = row.size;
    it.internalDate = row.internalDate.unixSeconds;
    it.fields = keep[i] ? &keep[i]->parsed().sort : &kEmpty;  // an unreadable blob sorts as if it had no headers
    items.push_back(it);
  }
  co_return items;
}

asio::awaitable<void> Session::cmdSort(const std::string& tag, const Sort& c) {
  if (hasOption(c.returnOptions, "SAVE")) {
    // RFC 5267 allows SAVE with SORT only as an unordered set; not offered.
    bad(tag, "", "SORT RETURN (SAVE) is not supported");
    co_return;
  }
  auto found = co_await searchMatches(tag, c.charset, c.key);
  if (!found) co_return;
  std::vector<StructurePtr> keep;
  auto items = co_await sortItems(tag, *found, c.uid, keep);
  if (!items) co_return;
  const auto criteria = c.criteria;
  auto sorted = co_await blocking([&] { return sortMessages(*items, criteria); });

  if (!c.esearch) {
    std::string line = "* SORT";
    for (uint32_t n : sorted) line += " " + std::to_string(n);
    send(line + "\r\n");
  } else {
    // ESORT (RFC 5267 section 4.2): MIN/MAX are the first/last in sort order; ALL keeps sort order.
    std::vector<std::string> opts = c.returnOptions;
    if (opts.empty()) opts.push_back("ALL");
    std::string line = "* ESEARCH (TAG ";
    appendString(line, tag);
    line += ")";
    if (c.uid) line += " UID";
    if (hasOption(opts, "MIN") && !sorted.empty()) line += " MIN " + std::to_string(sorted.front());
    if (hasOption(opts, "MAX") && !sorted.empty()) line += " MAX " + std::to_string(sorted.back());
    if (hasOption(opts, "COUNT")) line += " COUNT " + std::to_string(sorted.size());
    if (hasOption(opts, "ALL") && !sorted.empty()) {
      line += " ALL ";
      for (size_t i = 0; i < sorted.size(); ++i) {
        if (i) line += ',';
        line += std::to_string(sorted[i]);
      }
    }
    send(line + "\r\n");
  }
  ok(tag, c.uid ? "UID SORT completed" : "SORT completed");
}

asio::awaitable<void> Session::cmdThread(const std::string& tag, const Thread& c) {
  auto found = co_await searchMatches(tag, c.charset, c.key);
  if (!found) co_return;
  std::vector<StructurePtr> keep;
  auto items = co_await sortItems(tag, *found, c.uid, keep);
  if (!items) co_return;
  const auto algorithm = c.algorithm;
  auto threads = co_await blocking([&] {
    return algorithm == Thread::Algorithm::OrderedSubject ? threadOrderedSubject(*items) : threadReferences(*items);
  });
  send(threads.empty() ? std::string("* THREAD\r\n") : "* THREAD " + threads + "\r\n");
  ok(tag, c.uid ? "UID THREAD completed" : "THREAD completed");
}

}  // namespace tern::imap::server
