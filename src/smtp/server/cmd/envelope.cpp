// MAIL and RCPT: the envelope. Addresses were parsed strictly by the protocol layer; here they meet
// policy: our domains only on port 25 and LMTP, relaying only after AUTH on submission, no routing
// tricks (%, !, quoted @) anywhere, sender ownership on submission, the recipient limit.
#include "smtp/server/session.h"
#include "util/log.h"
#include "util/strings.h"

namespace tern::smtp::server {

namespace {
std::string lookupAddress(const Mailbox& m) { return m.localContent + "@" + m.domainNormalised; }
}  // namespace

asio::awaitable<store::Result<std::vector<store::AccountId>>> Session::resolveLocal(const Mailbox& m) {
  const std::string full = lookupAddress(m);
  const auto base = subaddressBase(m.localContent);
  const std::string domain = m.domainNormalised;
  auto& dir = ctx_->directory;
  const auto generation = dir.directoryGeneration();  // before the lookup: a change during it misses
  if (generation) {
    if (auto cached = ctx_->recipients.accounts(full, *generation)) co_return std::move(*cached);
  }
  // A few indexed reads: made right on the worker, like IMAP's small reads (in WAL mode a reader
  // never waits for the writer, and a trip to the pool and back costs more than the queries).
  auto lookup = [&]() -> store::Result<std::vector<store::AccountId>> {
    std::vector<store::AccountId> ids;
    auto toIds = [&](const std::vector<store::Account>& accounts) {
      for (const auto& a : accounts) ids.push_back(a.id);
    };
    // An account of exactly this name first, then user+tag -> user, then aliases and the catch-all.
    auto exact = dir.findAccount(full);
    if (!exact) return tern::Unexpected<store::Error>{exact.error()};
    if (*exact) return std::vector<store::AccountId>{(*exact)->id};
    if (base) {
      auto r = dir.resolveAddress(*base + "@" + domain);
      if (!r) return tern::Unexpected<store::Error>{r.error()};
      toIds(*r);
      if (!ids.empty()) return ids;
    }
    auto r = dir.resolveAddress(full);
    if (!r) return tern::Unexpected<store::Error>{r.error()};
    toIds(*r);
    return ids;
  };
  auto ids = lookup();
  if (ids && generation) ctx_->recipients.addAccounts(full, *generation, *ids);
  co_return ids;
}

asio::awaitable<bool> Session::ownsAddress(const std::string& address) {
  if (!account_) co_return false;
  if (iequals(address, account_->address)) co_return true;
  size_t at = address.rfind('@');
  if (at == std::string::npos) co_return false;
  Mailbox m;
  m.localContent = address.substr(0, at);
  m.domainNormalised = asciiLowercase(address.substr(at + 1));
  auto ids = co_await resolveLocal(m);
  if (!ids) co_return false;
  // Owned only when it resolves to this account alone (not a shared alias or a catch-all of others).
  co_return ids->size() == 1 && ids->front() == account_->id;
}

asio::awaitable<void> Session::cmdMail(const Mail& c) {
  const auto& s = ctx_->settings;
  if (messages_ >= s.maxMessagesPerConnection) {
    reply(Reply{421, "4.7.0", {s.hostname + " Too many messages in this connection, closing"}});
    closing_ = true;
    co_return;
  }
  if (c.params.body && *c.params.body == BodyType::BinaryMime) {
    reply(Reply{555, "5.5.4", {"BODY=BINARYMIME not supported"}});
    co_return;
  }
  if (c.params.size && *c.params.size > s.maxMessageSize) {
    reply(replies::messageTooBig());
    co_return;
  }
  if (c.reversePath.mailbox && c.reversePath.mailbox->routingTrick()) {
    reply(Reply{553, "5.1.7", {"Sender address not allowed"}});
    co_return;
  }
  if (isSubmission()) {
    // The envelope sender must be an address the account owns (the null sender is not).
    bool owned = false;
    if (c.reversePath.mailbox) {
      const bool o = co_await ownsAddress(lookupAddress(*c.reversePath.mailbox));
      owned = o;
    }
    if (!owned) {
      log::info("smtp") << logPrefix_ << "sender not owned by " << account_->address;
      reply(Reply{553, "5.7.1", {"Sender address not owned by the authenticated user"}});
      co_return;
    }
  }
  txn_.emplace();
  txn_->reversePath = c.reversePath;
  txn_->params = c.params;
  reply(replies::senderOk());
}

asio::awaitable<void> Session::cmdRcpt(const Rcpt& c) {
  const auto& s = ctx_->settings;
  if (txn_->recipients.size() >= s.maxRecipients) {
    reply(replies::tooManyRecipients());
    co_return;
  }
  Recipient rcpt;
  rcpt.params = c.params;
  Mailbox m;
  if (c.forwardPath.postmaster) {
    // RFC 5321 4.5.1: <Postmaster> without a domain is always local: postmaster@ our hostname, else
    // postmaster@ the first of our domains that has one (an account, alias or catch-all).
    auto& dir = ctx_->directory;
    auto domains = co_await blocking([&] { return dir.listDomains(); });
    std::vector<std::string> candidates = {asciiLowercase(s.hostname)};
    if (domains) candidates.insert(candidates.end(), domains->begin(), domains->end());
    for (const auto& d : candidates) {
      Mailbox pm;
      pm.localPart = pm.localContent = pm.localNormalised = "postmaster";
      pm.domain = pm.domainNormalised = d;
      auto ids = co_await resolveLocal(pm);
      if (ids && !ids->empty()) {
        rcpt.address = "postmaster@" + d;
        rcpt.accounts = std::move(*ids);
        txn_->recipients.push_back(std::move(rcpt));
        reply(replies::recipientOk());
        co_return;
      }
    }
    reply(replies::mailboxUnavailable());
    co_return;
  } else {
    m = *c.forwardPath.mailbox;
  }
  if (m.routingTrick()) {
    // %-hack, bang paths and quoted @ never route anywhere, local or not (no relay through us).
    reply(replies::addressRoutingRefused());
    co_return;
  }
  bool local = false;
  if (m.domainKind == DomainKind::Name) {
    auto& dir = ctx_->directory;
    const std::string domain = m.domainNormalised;
    const auto generation = dir.directoryGeneration();
    if (generation && ctx_->recipients.knownLocalDomain(domain, *generation)) {
      local = true;
    } else {
      auto has = dir.hasDomain(domain);  // an indexed read, on the worker (see resolveLocal)
      if (!has) {
        reply(storeErrorReply(has.error()));
        co_return;
      }
      local = *has;
      if (local && generation) ctx_->recipients.addLocalDomain(domain, *generation);
    }
  }
  rcpt.address = m.localPart + "@" + m.domainNormalised;
  if (local) {
    auto ids = co_await resolveLocal(m);
    if (!ids) {
      log::error("smtp") << logPrefix_ << "recipient lookup failed: " << ids.error().detail;
      reply(storeErrorReply(ids.error()));
      co_return;
    }
    if (ids->empty()) {
      reply(replies::mailboxUnavailable());
      co_return;
    }
    rcpt.accounts = std::move(*ids);
  } else {
    if (!isSubmission() || !account_) {
      reply(replies::relayDenied());
      co_return;
    }
    rcpt.remote = true;
  }
  txn_->recipients.push_back(std::move(rcpt));
  reply(replies::recipientOk());
}

}  // namespace tern::smtp::server
