// The outbound scheduler (see scheduler.h). All its state lives on one executor, so the loop and the
// per-domain workers never race; store, DNS, blob and DKIM work runs on the blocking pool. Remote
// replies are untrusted: they become bounded, control-free diagnostic text and nothing else.
#include "smtp/delivery/scheduler.h"

#include <ctime>

#include "net/runtime.h"
#include "smtp/delivery/dsn.h"
#include "smtp/delivery/inject.h"
#include "util/log.h"
#include "util/strings.h"

namespace tern::smtp::delivery {

struct Scheduler::Group {
  int64_t messageId = 0;
  std::string domain;
  std::vector<store::QueueEntry> rows;          // same message, same destination domain
  std::shared_ptr<const store::Blob> blob;      // loaded by deliverGroup
};

struct Scheduler::DomainQueue {
  std::deque<Group> waiting;
  size_t workers = 0;
};

namespace {

constexpr size_t kMaxDiagnostic = 400;

int64_t unixNow() { return static_cast<int64_t>(::time(nullptr)); }

std::string domainOf(std::string_view address) {
  const size_t at = address.rfind('@');
  return at == std::string_view::npos ? std::string() : asciiLowercase(address.substr(at + 1));
}

// "smtp; 550 5.1.1 text" with controls removed and bounded, for logs and DSN Diagnostic-Code.
std::string describeReply(const Reply& r) {
  std::string s = std::to_string(r.code);
  if (!r.enhanced.empty()) s += " " + r.enhanced;
  for (const auto& l : r.lines) {
    s += " ";
    for (unsigned char c : l) s += (c < 0x20 || c == 0x7f) ? ' ' : static_cast<char>(c);
    if (s.size() > kMaxDiagnostic) break;
  }
  if (s.size() > kMaxDiagnostic) s.resize(kMaxDiagnostic);
  return s;
}

std::string statusOf(const Reply& r) {
  if (!r.enhanced.empty() && r.enhanced[0] - '0' == r.code / 100) return r.enhanced;
  return r.code >= 500 ? "5.0.0" : r.code >= 400 ? "4.0.0" : "2.0.0";
}

RecipientOutcome outcomeOf(const Reply& r, const std::string& remote) {
  RecipientOutcome o;
  o.kind = r.code >= 200 && r.code < 300   ? RecipientOutcome::Kind::Delivered
           : r.code >= 500                 ? RecipientOutcome::Kind::PermanentFailure
                                           : RecipientOutcome::Kind::TemporaryFailure;
  o.status = statusOf(r);
  o.diagnostic = "smtp; " + describeReply(r);
  o.remoteMta = remote;
  return o;
}

std::vector<RecipientOutcome> allSame(size_t n, RecipientOutcome::Kind kind, std::string status, std::string why,
                                      std::string remote = {}) {
  RecipientOutcome o;
  o.kind = kind;
  o.status = std::move(status);
  o.diagnostic = std::move(why);
  o.remoteMta = std::move(remote);
  return std::vector<RecipientOutcome>(n, o);
}

}  // namespace

int64_t nextAttemptTime(const std::vector<std::chrono::seconds>& schedule, uint32_t attempts, int64_t now) {
  if (schedule.empty()) return now + 300;
  const size_t i = std::min<size_t>(attempts, schedule.size() - 1);
  return now + schedule[i].count();
}

Scheduler::Scheduler(asio::any_io_executor executor, asio::thread_pool& pool, store::Directory& directory,
                     store::MailStore& mail, store::BlobStore& blobs, dns::Resolver& resolver,
                     const DkimKeys& dkim, DeliverySettings settings)
    : executor_(executor),
      pool_(pool),
      directory_(directory),
      mail_(mail),
      blobs_(blobs),
      dkim_(dkim),
      settings_(std::move(settings)),
      router_(resolver, settings_.routing),
      wakeTimer_(executor) {}

Scheduler::~Scheduler() = default;

void Scheduler::start() {
  asio::co_spawn(executor_, loop(), asio::detached);
}

void Scheduler::stop() {
  asio::post(executor_, [this] {
    stopping_ = true;
    wakeTimer_.cancel();
  });
}

void Scheduler::wake() {
  asio::post(executor_, [this] { wakeTimer_.cancel(); });
}

asio::awaitable<void> Scheduler::loop() {
  auto released = co_await net::offload(pool_, [&] { return mail_.releaseOutboundLeases(); });
  if (!released) log::warn("queue") << "cannot release old leases: " << released.error().detail;
  log::info("queue") << "delivery started (max " << settings_.maxDeliveries << " concurrent, "
                     << settings_.maxDeliveriesPerDomain << " per domain)";
  while (!stopping_) {
    // Claimed-but-waiting groups are bounded: a domain that is slow cannot pull the whole queue in.
    const size_t capacity = settings_.maxDeliveries * 2;
    if (active_ + pending_ < capacity) {
      const int64_t now = unixNow();
      // A cheap read first: claiming is a write (and an fsync) that an idle queue should not cost.
      auto due = co_await net::offload(pool_, [&] { return mail_.listOutbound(now, 1); });
      if (due && !due->empty()) {
        const size_t room = capacity - active_ - pending_;
        const int64_t leaseUntil = now + settings_.lease.count();
        auto claimed = co_await net::offload(pool_, [&] { return mail_.claimOutbound(now, leaseUntil, room); });
        if (!claimed) {
          log::warn("queue") << "cannot claim due mail: " << claimed.error().detail;
        } else {
          // Group rows by (message, domain), keeping the order they became due in.
          std::map<std::pair<int64_t, std::string>, size_t> index;
          std::vector<Group> groups;
          for (auto& row : *claimed) {
            std::string domain = domainOf(row.recipient.address);
            auto key = std::make_pair(row.messageId, domain);
            auto [it, fresh] = index.emplace(key, groups.size());
            if (fresh) {
              Group g;
              g.messageId = row.messageId;
              g.domain = domain;
              groups.push_back(std::move(g));
            }
            groups[it->second].rows.push_back(std::move(row));
          }
          for (auto& g : groups) {
            auto& dq = domains_[g.domain];
            if (!dq) dq = std::make_unique<DomainQueue>();
            dq->waiting.push_back(std::move(g));
            ++pending_;
          }
        }
      } else if (!due) {
        log::warn("queue") << "cannot read the queue: " << due.error().detail;
      }
    }
    // Start workers where a domain has waiting groups and both limits allow.
    for (auto& [domain, dq] : domains_) {
      while (!dq->waiting.empty() && dq->workers < std::min(dq->waiting.size(), settings_.maxDeliveriesPerDomain) &&
             active_ < settings_.maxDeliveries) {
        ++dq->workers;
        ++active_;
        asio::co_spawn(executor_, domainWorker(domain), asio::detached);
      }
    }
    wakeTimer_.expires_after(settings_.pollInterval);
    std::error_code ec;
    co_await wakeTimer_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
  log::info("queue") << "delivery stopped";
}

asio::awaitable<void> Scheduler::domainWorker(std::string domain) {
  std::unique_ptr<client::Connection> connection;
  std::string connectedHost;
  for (;;) {
    auto it = domains_.find(domain);
    if (stopping_ || it == domains_.end() || it->second->waiting.empty()) break;
    Group group = std::move(it->second->waiting.front());
    it->second->waiting.pop_front();
    --pending_;
    std::vector<RecipientOutcome> outcomes = co_await deliverGroup(group, connection, connectedHost);
    co_await settle(group, outcomes);
  }
  if (connection) co_await connection->quit();
  --active_;
  if (auto it = domains_.find(domain); it != domains_.end()) {
    --it->second->workers;
    if (it->second->workers == 0 && it->second->waiting.empty()) domains_.erase(it);
  }
  wakeTimer_.cancel();  // a slot is free: the loop may start another domain's worker
}

asio::awaitable<std::vector<RecipientOutcome>> Scheduler::deliverGroup(Group& group,
                                                                       std::unique_ptr<client::Connection>& connection,
                                                                       std::string& connectedHost) {
  using Kind = RecipientOutcome::Kind;
  const size_t n = group.rows.size();
  const store::QueueEntry& first = group.rows.front();
  auto blob = co_await net::offload(pool_, [&] { return blobs_.open(first.blobId); });
  if (!blob) {
    if (blob.error().code == store::Errc::NotFound) {
      co_return allSame(n, Kind::PermanentFailure, "5.3.0", "x-local; the queued message file is missing");
    }
    co_return allSame(n, Kind::TemporaryFailure, "4.3.0", "x-local; cannot read the queued message");
  }
  group.blob = *blob;
  const std::string_view bytes = group.blob->bytes();

  std::string prefix;
  if (auto key = dkim_.forDomain(domainOf(first.sender))) {
    const int64_t now = unixNow();
    auto signature = co_await net::offload(pool_, [&] { return dkim::sign(*key, bytes, now); });
    if (signature) prefix = std::move(*signature);
    else log::warn("dkim") << "queue id " << first.messageId << ": not signed: " << signature.error();
  }

  if (connection && connection->usable()) {
    const bool reset = co_await connection->reset();
    if (!reset) connection.reset();
  }
  if (!connection || !connection->usable()) {
    connection.reset();
    Route route = co_await net::offload(pool_, [&] { return router_.route(group.domain); });
    if (route.status == Route::Status::PermanentFailure) {
      co_return allSame(n, Kind::PermanentFailure, route.dsnStatus, "x-local; " + route.reason);
    }
    if (route.status == Route::Status::TemporaryFailure) {
      co_return allSame(n, Kind::TemporaryFailure, route.dsnStatus, "x-local; " + route.reason);
    }
    std::string failures;
    for (const auto& hop : route.hops) {
      client::ClientSettings cs = settings_.client;
      if (hop.relay && router_.settings().relay) {
        const auto& relay = *router_.settings().relay;
        cs.tls = relay.tls;
        cs.implicitTls = relay.implicitTls;
        cs.username = relay.username;
        cs.password = relay.password;
      }
      auto c = co_await client::connect(executor_, hop.addresses, hop.port, hop.host, cs);
      if (c) {
        connection = std::move(*c);
        connectedHost = hop.host;
        break;
      }
      if (!failures.empty()) failures += "; ";
      failures += hop.host + ": " + c.error().detail;
      if (c.error().reply) failures += " (" + describeReply(*c.error().reply) + ")";
      log::info("queue") << "queue id " << first.messageId << ": " << hop.host << " failed: " << c.error().detail;
    }
    if (!connection) {
      if (failures.size() > kMaxDiagnostic) failures.resize(kMaxDiagnostic);
      // Failing to get a session (no answer, a refusing greeting, TLS or AUTH trouble with a smarthost)
      // is retried: only a reply to the message itself decides its fate (as Postfix's soft bounces).
      co_return allSame(n, Kind::TemporaryFailure, "4.4.1", "x-local; " + failures);
    }
  }

  client::Envelope envelope;
  envelope.sender = first.sender;
  envelope.eightBit = first.eightBit;
  envelope.smtpUtf8 = first.smtputf8;
  envelope.ret = first.ret;
  envelope.envid = first.envid;
  for (const auto& row : group.rows) {
    envelope.recipients.push_back(client::EnvelopeRecipient{row.recipient.address, row.recipient.notify,
                                                            row.recipient.orcpt});
  }
  client::SendResult sent = co_await connection->send(envelope, prefix, bytes);
  std::vector<RecipientOutcome> outcomes;
  const std::string remote = connectedHost + " [" + connection->peerAddress() + "]";
  for (size_t i = 0; i < n; ++i) {
    if (i < sent.recipientReplies.size()) {
      outcomes.push_back(outcomeOf(sent.recipientReplies[i], remote));
    } else if (sent.transactionFailure) {
      outcomes.push_back(outcomeOf(*sent.transactionFailure, remote));
    } else {
      outcomes.push_back(allSame(1, Kind::TemporaryFailure, "4.4.2", "x-local; no reply for this recipient", remote)[0]);
    }
  }
  for (size_t i = 0; i < n; ++i) {
    const auto& o = outcomes[i];
    log::info("queue") << "queue id " << first.messageId << " to=<" << log::escape(group.rows[i].recipient.address)
                       << "> relay=" << remote << " tls=" << (connection->tlsVersion().empty() ? "none" : connection->tlsVersion())
                       << (connection->certificateVerified() ? " verified" : "") << " status="
                       << (o.kind == Kind::Delivered ? "sent" : o.kind == Kind::PermanentFailure ? "bounced" : "deferred")
                       << " (" << log::escape(o.diagnostic) << ")";
  }
  if (!connection->usable()) connection.reset();
  co_return outcomes;
}

asio::awaitable<void> Scheduler::settle(const Group& group, const std::vector<RecipientOutcome>& outcomes) {
  using Kind = RecipientOutcome::Kind;
  const int64_t now = unixNow();
  const store::QueueEntry& first = group.rows.front();
  std::vector<DsnRecipient> failed;
  std::vector<DsnRecipient> delayed;
  std::vector<int64_t> done;
  struct Deferral {
    int64_t id;
    int64_t next;
    std::string error;
    bool delayNotified;
  };
  std::vector<Deferral> deferrals;
  const bool reportable = !first.sender.empty();  // never a DSN to the null sender (RFC 3461 6.2)
  for (size_t i = 0; i < group.rows.size(); ++i) {
    const auto& row = group.rows[i];
    const auto& o = outcomes[i];
    DsnRecipient d;
    d.finalRecipient = row.recipient.address;
    d.originalRecipient = row.recipient.orcpt;
    d.status = o.status;
    d.remoteMta = o.remoteMta;
    d.diagnostic = o.diagnostic;
    d.lastAttempt = now;
    if (o.kind == Kind::Delivered) {
      done.push_back(row.id);
      continue;
    }
    const bool expired = now - row.created >= settings_.maxLifetime.count();
    if (o.kind == Kind::PermanentFailure || expired) {
      if (expired && o.kind != Kind::PermanentFailure) {
        d.status = "4.4.7";  // RFC 3463: delivery time expired
        d.diagnostic = o.diagnostic;
      }
      d.action = DsnAction::Failed;
      if (reportable && notifyAllows(row.recipient.notify, DsnAction::Failed)) failed.push_back(d);
      done.push_back(row.id);
      continue;
    }
    bool notify = false;
    if (!row.delayNotified && reportable && now - row.created >= settings_.delayWarning.count() &&
        notifyAllows(row.recipient.notify, DsnAction::Delayed)) {
      notify = true;
      d.action = DsnAction::Delayed;
      d.willRetryUntil = row.created + settings_.maxLifetime.count();
      delayed.push_back(d);
    }
    deferrals.push_back(Deferral{row.id, nextAttemptTime(settings_.retrySchedule, row.attempts, now),
                                 o.diagnostic.substr(0, kMaxDiagnostic), notify});
  }

  // Reports are stored before the rows they describe are settled: a crash in between repeats a report
  // (a harmless duplicate), never loses one.
  auto report = [&](std::vector<DsnRecipient>& recipients) -> std::optional<InjectResult> {
    if (recipients.empty()) return std::nullopt;
    DsnInput in;
    in.reportingMta = settings_.hostname;
    in.originalSender = first.sender;
    in.envid = first.envid;
    in.arrivalDate = first.created;
    in.now = now;
    in.recipients = recipients;
    in.originalMessage = group.blob ? group.blob->bytes() : std::string_view();
    in.returnFullMessage = first.ret == "FULL";
    return injectMessage(directory_, mail_, blobs_, buildDsn(in), "", {first.sender});
  };
  bool queuedReport = false;
  co_await net::offload(pool_, [&] {
    for (auto* list : {&failed, &delayed}) {
      auto r = report(*list);
      if (!r) continue;
      if (!r->ok) log::warn("queue") << "queue id " << first.messageId << ": cannot store the report: " << r->error;
      else queuedReport = queuedReport || r->queued;
    }
    for (int64_t id : done) {
      auto r = mail_.completeOutbound(id);
      if (!r && r.error().code != store::Errc::NotFound) {
        log::warn("queue") << "cannot settle queue row " << id << ": " << r.error().detail;
      }
    }
    for (const auto& d : deferrals) {
      auto r = mail_.deferOutbound(d.id, d.next, d.error, d.delayNotified);
      if (!r && r.error().code != store::Errc::NotFound) {
        log::warn("queue") << "cannot defer queue row " << d.id << ": " << r.error().detail;
      }
    }
  });
  if (queuedReport) wakeTimer_.cancel();
}

}  // namespace tern::smtp::delivery
