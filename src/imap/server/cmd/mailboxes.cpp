// Mailbox management: CREATE, DELETE, RENAME, SUBSCRIBE/UNSUBSCRIBE, LIST (with LIST-EXTENDED
// selection and return options, LIST-STATUS), LSUB and STATUS. Names are decoded at the edge
// (mUTF-7 or UTF-8) and never become file paths.
#include <algorithm>
#include <map>
#include <set>

#include "imap/protocol/response.h"
#include "imap/server/list_match.h"
#include "imap/server/session.h"
#include "util/strings.h"

namespace tern::imap::server {
namespace {

const char* specialUseAttribute(store::SpecialUse u) {
  switch (u) {
    case store::SpecialUse::Drafts: return "\\Drafts";
    case store::SpecialUse::Sent: return "\\Sent";
    case store::SpecialUse::Trash: return "\\Trash";
    case store::SpecialUse::Junk: return "\\Junk";
    case store::SpecialUse::Archive: return "\\Archive";
    case store::SpecialUse::All: return "\\All";
    case store::SpecialUse::Flagged: return "\\Flagged";
    case store::SpecialUse::None: return nullptr;
  }
  return nullptr;
}

std::optional<store::SpecialUse> parseSpecialUse(std::string_view a) {
  static const std::pair<const char*, store::SpecialUse> kUses[] = {
      {"\\Drafts", store::SpecialUse::Drafts}, {"\\Sent", store::SpecialUse::Sent},
      {"\\Trash", store::SpecialUse::Trash},   {"\\Junk", store::SpecialUse::Junk},
      {"\\Archive", store::SpecialUse::Archive}, {"\\All", store::SpecialUse::All},
      {"\\Flagged", store::SpecialUse::Flagged}};
  for (auto& [name, use] : kUses)
    if (iequals(a, name)) return use;
  return std::nullopt;
}

// "MESSAGES 3 UIDNEXT 9 ..." for the requested items; nullopt when an item is unknown.
std::optional<std::string> statusItems(const store::MailboxStatus& st, const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) {
    uint64_t v = 0;
    if (item == "MESSAGES") v = st.messages;
    else if (item == "UIDNEXT") v = st.uidNext;
    else if (item == "UIDVALIDITY") v = st.uidValidity;
    else if (item == "UNSEEN") v = st.unseen;
    else if (item == "DELETED") v = st.deleted;
    else if (item == "SIZE") v = st.size;
    else if (item == "RECENT") v = st.recent;
    else return std::nullopt;
    if (!out.empty()) out += ' ';
    out += item + " " + std::to_string(v);
  }
  return out;
}

bool hasWildcard(std::string_view s) { return s.find_first_of("*%") != std::string_view::npos; }

bool contains(const std::vector<std::string>& v, std::string_view s) {
  return std::any_of(v.begin(), v.end(), [&](const std::string& e) { return iequals(e, s); });
}

}  // namespace

asio::awaitable<void> Session::cmdCreate(const std::string& tag, const Create& c) {
  auto name = decodeMailboxName(c.mailbox);
  if (!name || name->empty() || hasWildcard(*name)) {
    no(tag, "CANNOT", "Invalid mailbox name");
    co_return;
  }
  while (name->size() > 1 && name->back() == kDelimiter) name->pop_back();  // "foo/" creates foo
  if (*name == "INBOX") {
    no(tag, "ALREADYEXISTS", "INBOX always exists");
    co_return;
  }
  store::SpecialUse use = store::SpecialUse::None;
  if (c.specialUse.size() > 1) {
    no(tag, "USEATTR", "Only one special-use attribute per mailbox");
    co_return;
  }
  if (!c.specialUse.empty()) {
    auto u = parseSpecialUse(c.specialUse[0]);
    if (!u) {
      no(tag, "USEATTR", "Unsupported special-use attribute");
      co_return;
    }
    use = *u;
  }
  const auto account = account_->id;
  auto r = co_await blocking([&] { return ctx_->mail.createMailbox(account, *name, use); });
  if (!r) {
    noStore(tag, r.error(), "CREATE");
    co_return;
  }
  ok(tag, "CREATE completed");
}

asio::awaitable<void> Session::cmdDelete(const std::string& tag, const Delete& c) {
  auto name = decodeMailboxName(c.mailbox);
  if (!name) {
    no(tag, "NONEXISTENT", "No such mailbox");
    co_return;
  }
  if (*name == "INBOX") {
    no(tag, "CANNOT", "INBOX cannot be deleted");
    co_return;
  }
  const auto account = account_->id;
  auto r = co_await blocking([&] { return ctx_->mail.deleteMailbox(account, *name); });
  if (!r) {
    noStore(tag, r.error(), "DELETE");
    co_return;
  }
  ok(tag, "DELETE completed");
}

asio::awaitable<void> Session::cmdRename(const std::string& tag, const Rename& c) {
  auto from = decodeMailboxName(c.from);
  auto to = decodeMailboxName(c.to);
  if (!from) {
    no(tag, "NONEXISTENT", "No such mailbox");
    co_return;
  }
  if (!to || to->empty() || hasWildcard(*to)) {
    no(tag, "CANNOT", "Invalid mailbox name");
    co_return;
  }
  while (to->size() > 1 && to->back() == kDelimiter) to->pop_back();
  if (*to == "INBOX") {
    no(tag, "ALREADYEXISTS", "INBOX always exists");
    co_return;
  }
  const auto account = account_->id;
  auto r = co_await blocking([&] { return ctx_->mail.renameMailbox(account, *from, *to); });
  if (!r) {
    noStore(tag, r.error(), "RENAME");
    co_return;
  }
  ok(tag, "RENAME completed");
}

asio::awaitable<void> Session::cmdSubscribe(const std::string& tag, const Subscribe& c) {
  auto name = decodeMailboxName(c.mailbox);
  if (!name || name->empty()) {
    no(tag, "NONEXISTENT", "Invalid mailbox name");
    co_return;
  }
  const auto account = account_->id;
  const bool on = c.subscribe;
  auto r = co_await blocking([&] { return ctx_->mail.setSubscribed(account, *name, on); });
  if (!r) {
    noStore(tag, r.error(), on ? "SUBSCRIBE" : "UNSUBSCRIBE");
    co_return;
  }
  ok(tag, on ? "SUBSCRIBE completed" : "UNSUBSCRIBE completed");
}

asio::awaitable<void> Session::cmdList(const std::string& tag, const List& c) {
  const char* verb = c.lsub ? "LSUB" : "LIST";
  // LIST "" "" asks for the delimiter and root.
  if (!c.lsub && c.patterns.size() == 1 && c.patterns[0].empty() && c.selectionOptions.empty()) {
    send("* LIST (\\Noselect) \"/\" \"\"\r\n");
    ok(tag, "LIST completed");
    co_return;
  }
  const bool selSubscribed = c.lsub || contains(c.selectionOptions, "SUBSCRIBED");
  const bool selSpecialUse = contains(c.selectionOptions, "SPECIAL-USE");
  const bool recursiveMatch = contains(c.selectionOptions, "RECURSIVEMATCH");
  const bool retSubscribed = selSubscribed || contains(c.returnOptions, "SUBSCRIBED");
  const bool retStatus = !c.returnStatus.empty();
  if (recursiveMatch && !selSubscribed) {
    bad(tag, "", "RECURSIVEMATCH needs another selection option");
    co_return;
  }

  std::vector<std::string> patterns;
  for (const auto& p : c.patterns) {
    std::string canonical = listCanonicalPattern(c.reference, p);
    auto decoded = decodeMailboxName(canonical);
    patterns.push_back(decoded ? *decoded : canonical);
  }
  const auto account = account_->id;
  // Small indexed reads: on the worker (see Session::blocking()).
  auto mailboxes = ctx_->mail.listMailboxes(account);
  auto subscriptions = ctx_->mail.listSubscriptions(account);
  if (!mailboxes || !subscriptions) {
    noStore(tag, !mailboxes ? mailboxes.error() : subscriptions.error(), verb);
    co_return;
  }

  std::map<std::string, const store::MailboxInfo*> existing;
  for (const auto& m : *mailboxes) existing[m.name] = &m;
  std::set<std::string> subscribed(subscriptions->begin(), subscriptions->end());
  // Every name that exists, is subscribed, or is a parent of one of those.
  std::set<std::string> names;
  auto addWithParents = [&](const std::string& n) {
    names.insert(n);
    for (size_t p = n.find(kDelimiter); p != std::string::npos; p = n.find(kDelimiter, p + 1)) names.insert(n.substr(0, p));
  };
  for (const auto& [n, m] : existing) addWithParents(n);
  for (const auto& n : subscribed) addWithParents(n);

  auto matchesAny = [&](const std::string& n) {
    return std::any_of(patterns.begin(), patterns.end(), [&](const std::string& p) { return listMatches(p, n); });
  };
  auto hasChildIn = [&](const auto& set, const std::string& n) {
    auto it = set.lower_bound(n + kDelimiter);
    if (it == set.end()) return false;
    const std::string& candidate = [&]() -> const std::string& {
      if constexpr (std::is_same_v<std::decay_t<decltype(*it)>, std::string>) return *it;
      else return it->first;
    }();
    return candidate.compare(0, n.size() + 1, n + kDelimiter) == 0;
  };

  std::vector<std::pair<std::string, const store::MailboxInfo*>> statusFor;
  for (const auto& n : names) {
    if (!matchesAny(n)) continue;
    auto ex = existing.find(n);
    const store::MailboxInfo* info = ex == existing.end() ? nullptr : ex->second;
    const bool isSubscribed = subscribed.count(n) > 0;
    bool childSubscribed = false;
    if (selSubscribed && !isSubscribed) {
      if (!recursiveMatch && !c.lsub) continue;
      childSubscribed = hasChildIn(subscribed, n);
      if (!childSubscribed) continue;
    }
    if (!selSubscribed && !info && !hasChildIn(existing, n)) continue;  // only a dangling subscription
    if (selSpecialUse && (!info || info->specialUse == store::SpecialUse::None)) continue;
    if (c.lsub && !isSubscribed) {
      // LSUB shows an unsubscribed parent of subscribed mailboxes only for '%' (RFC 3501 6.3.9).
      bool percent = std::any_of(patterns.begin(), patterns.end(),
                                 [](const std::string& p) { return !p.empty() && p.back() == '%'; });
      if (!percent) continue;
    }

    std::vector<std::string> attrs;
    if (!info) {
      if (c.lsub) attrs.push_back("\\Noselect");
      else {
        attrs.push_back("\\NonExistent");
        attrs.push_back("\\Noselect");
      }
    }
    if (!c.lsub) {
      if (hasChildIn(existing, n)) attrs.push_back("\\HasChildren");
      else if (info) attrs.push_back("\\HasNoChildren");
      if (retSubscribed && isSubscribed) attrs.push_back("\\Subscribed");
      if (info)
        if (const char* su = specialUseAttribute(info->specialUse)) attrs.push_back(su);
    }
    std::string line = "* ";
    line += verb;
    line += " (";
    for (size_t i = 0; i < attrs.size(); ++i) line += (i ? " " : "") + attrs[i];
    line += ") \"/\" ";
    appendMailboxName(line, n);
    if (childSubscribed && recursiveMatch) line += " (\"CHILDINFO\" (\"SUBSCRIBED\"))";
    line += "\r\n";
    send(line);
    if (retStatus && info) statusFor.emplace_back(n, info);
  }

  for (const auto& [n, info] : statusFor) {
    const auto id = info->id;
    auto st = ctx_->mail.status(account, id);  // kept counters: on the worker
    if (!st) continue;
    std::string line = "* STATUS ";
    appendMailboxName(line, n);
    auto items = statusItems(*st, c.returnStatus);
    if (!items) continue;
    line += " (" + *items;
    line += ")\r\n";
    send(line);
  }
  ok(tag, std::string(verb) + " completed");
}

asio::awaitable<void> Session::cmdStatus(const std::string& tag, const Status& c) {
  auto mbox = co_await lookupMailbox(tag, c.mailbox, "STATUS", "NONEXISTENT");
  if (!mbox) co_return;
  const auto account = account_->id;
  const auto id = mbox->id;
  auto st = ctx_->mail.status(account, id);  // kept counters: on the worker
  if (!st) {
    noStore(tag, st.error(), "STATUS");
    co_return;
  }
  std::string line = "* STATUS ";
  appendMailboxName(line, mbox->name);
  auto items = statusItems(*st, c.items);
  if (!items) {
    bad(tag, "", "Unknown STATUS item");
    co_return;
  }
  line += " (" + *items;
  line += ")\r\n";
  send(line);
  ok(tag, "STATUS completed");
}

}  // namespace tern::imap::server
