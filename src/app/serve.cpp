// `tern serve`: opens the store, prepares TLS and authentication, binds every listener, drops root,
// and runs the worker threads until SIGTERM/SIGINT (drain, then exit). SIGHUP reloads certificates.
// Handles no untrusted input itself; the sessions it starts do.
#include "app/serve.h"

#include <malloc.h>
#include <pwd.h>
#include <sched.h>
#include <sys/stat.h>
#include <unistd.h>

#include <asio.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <thread>

#include "app/bootstrap.h"
#include "dns/resolver.h"
#include "auth/authenticator.h"
#include "imap/server/session.h"
#include "net/listener.h"
#include "net/privileges.h"
#include "net/runtime.h"
#include "net/tls.h"
#include "smtp/delivery/dkim_keys.h"
#include "smtp/delivery/scheduler.h"
#include "smtp/server/session.h"
#include "store/sqlite/sqlite_store.h"
#include "util/log.h"

namespace tern::app {
namespace {

log::Level parseLevel(const std::string& s) {
  if (s == "debug") return log::Level::Debug;
  if (s == "warn") return log::Level::Warn;
  if (s == "error") return log::Level::Error;
  return log::Level::Info;
}

imap::server::ImapSettings imapSettings(const Config& c) {
  imap::server::ImapSettings s;
  s.hostname = c.hostname;
  s.reader.maxLineLength = c.maxLineLength;
  s.reader.maxLiteralSize = c.maxLiteralSize;
  s.reader.maxCommandSize = c.maxLiteralSize + c.maxLineLength * 4;
  s.maxMessageSize = c.maxMessageSize;
  s.preAuthTimeout = c.preAuthTimeout;
  s.idleTimeout = c.idleTimeout;
  s.maxBadCommands = c.maxBadCommands;
  s.trustedNetworks = c.trustedNetworks;
  return s;
}

// The data directory must belong to the account we drop to, or the store could not write after.
tern::Result<void, std::string> handOverDataDir(const std::string& dir, const std::string& user) {
  if (!net::runningAsRoot() || user.empty()) return {};
  struct passwd* pw = ::getpwnam(user.c_str());
  if (!pw) return tern::unexpected(std::string("no such user: ") + user);
  std::error_code ec;
  auto chownOne = [&](const std::filesystem::path& p) {
    if (::lchown(p.c_str(), pw->pw_uid, pw->pw_gid) != 0) ec = std::error_code(errno, std::generic_category());
  };
  chownOne(dir);
  for (auto it = std::filesystem::recursive_directory_iterator(dir, ec); !ec && it != std::filesystem::end(it);
       it.increment(ec))
    chownOne(it->path());
  if (ec) return tern::unexpected("cannot hand " + dir + " to " + user + ": " + ec.message());
  return {};
}

smtp::client::TlsPolicy tlsPolicy(const std::string& name) {
  if (name == "none") return smtp::client::TlsPolicy::None;
  if (name == "required" || name == "implicit") return smtp::client::TlsPolicy::Required;
  if (name == "verified") return smtp::client::TlsPolicy::Verified;
  return smtp::client::TlsPolicy::Opportunistic;
}

smtp::delivery::DeliverySettings deliverySettings(const Config& c, std::shared_ptr<asio::ssl::context> clientTls) {
  smtp::delivery::DeliverySettings s;
  s.hostname = c.hostname;
  s.retrySchedule = c.retrySchedule;
  s.delayWarning = c.delayWarning;
  s.maxLifetime = c.maxQueueLifetime;
  s.maxDeliveries = c.maxDeliveries;
  s.maxDeliveriesPerDomain = c.maxDeliveriesPerDomain;
  s.client.heloName = c.hostname;
  s.client.tls = tlsPolicy(c.outboundTls);
  s.client.tlsContext = std::move(clientTls);
  s.client.timeouts.connect = c.outboundConnectTimeout;
  s.routing.smtpPort = c.smtpPort;
  if (!c.relayHost.empty()) {
    smtp::delivery::RelaySettings relay;
    relay.host = c.relayHost;
    relay.port = c.relayPort;
    if (!c.relayUsername.empty()) {
      relay.username = c.relayUsername;
      relay.password = c.relayPassword;
    }
    relay.tls = tlsPolicy(c.relayTls);
    relay.implicitTls = c.relayTls == "implicit";
    s.routing.relay = relay;
  }
  for (const auto& [domain, target] : c.routes) {
    const size_t colon = target.rfind(':');
    std::string host = target.substr(0, colon);
    if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
    s.routing.routes[domain] = {host, static_cast<uint16_t>(std::stoi(target.substr(colon + 1)))};
  }
  return s;
}

// The client side of outbound TLS: the system's trust store, TLS 1.2 at least. Whether a failed check
// matters is the delivery policy's call (opportunistic TLS records it, "verified" refuses).
std::shared_ptr<asio::ssl::context> clientTlsContext() {
  auto ctx = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_client);
  ctx->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                   asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 | asio::ssl::context::no_tlsv1_1);
  std::error_code ec;
  ctx->set_default_verify_paths(ec);
  if (ec) log::warn("queue") << "no system trust store: outbound certificates cannot be verified";
  return ctx;
}

// SCHED_BATCH (the default) tells the kernel these threads are throughput work, not interactive:
// a thread woken by a socket or by the writer does not preempt whatever runs on that core, it takes
// its turn. Under load a worker then finds several connections ready per wake-up instead of waking
// for each, and the processes it talks to (a local client, a content filter) are not cut off
// mid-work. On a quiet machine nothing changes: an idle core runs a woken thread at once. Measured on
// 2 cores: SMTP +8-14 % msg/s with 8-14 % less CPU; IMAP throughput and latency unchanged.
// No privilege is needed; a refusal (a container's seccomp policy) is logged and serving goes on.
// "inherit" leaves the policy the server was started with (systemd's CPUSchedulingPolicy=, chrt).
void applyScheduling(const std::string& scheduling) {
  if (scheduling == "inherit") return;
  sched_param param{};
  if (::sched_setscheduler(0, SCHED_BATCH, &param) != 0) {
    const int err = errno;
    log::warn("serve") << "cannot run under SCHED_BATCH, keeping the inherited policy: " << std::strerror(err);
  }
}

}  // namespace

int runServer(const Config& config) {
  log::setLevel(parseLevel(config.logLevel));
  // Large temporary buffers (a message being parsed, a big FETCH) come from mmap and go back to the
  // system when freed, instead of staying resident in one of the many per-thread malloc arenas.
  ::mallopt(M_MMAP_THRESHOLD, 1 << 20);
  // Free memory at the top of a heap stays for reuse up to this much: trimming it on every free of a
  // few hundred KB cost the writer and workers an madvise and a TLB shootdown of the other core.
  ::mallopt(M_TRIM_THRESHOLD, 8 << 20);
  ::umask(077);  // data files are 0600, directories 0700
  // Before any thread starts: every thread the server creates inherits the policy.
  applyScheduling(config.scheduling);

  auto opened = store::SqliteStore::open(config.dataDir);
  if (!opened) {
    log::error("serve") << "cannot open store in " << config.dataDir << ": " << opened.error().detail;
    return 1;
  }
  std::unique_ptr<store::SqliteStore> store = std::move(*opened);

  if (config.bootstrapDemo) {
    if (auto password = bootstrapDemo(*store)) {
      // Printed once to the operator's terminal, never to the log.
      std::cout << "\nCreated account " << kDemoAddress << " with password: " << *password << "\n";
      for (const auto& a : config.imap) std::cout << "  IMAP (STARTTLS): " << a << "\n";
      for (const auto& a : config.imaps) std::cout << "  IMAPS (TLS):     " << a << "\n";
      std::cout << "  Try: curl -k --ssl-reqd 'imaps://" << (config.imaps.empty() ? "127.0.0.1:1993" : config.imaps[0])
                << "/INBOX' -u '" << kDemoAddress << ":<password>'\n\n"
                << std::flush;
    }
  }

  net::TlsSettings tlsSettings;
  tlsSettings.certFile = config.tlsCert;
  tlsSettings.keyFile = config.tlsKey;
  tlsSettings.dataDir = config.dataDir;
  tlsSettings.hostname = config.hostname;
  tlsSettings.minVersion = config.tlsMinVersion;
  tlsSettings.ciphers = config.tlsCiphers;
  auto tls = net::TlsContext::create(tlsSettings);
  if (!tls) {
    log::error("serve") << "TLS: " << tls.error();
    return 1;
  }
  log::info("serve") << "TLS certificate SHA-256 fingerprint " << (*tls)->fingerprint();

  auth::AuthLimits authLimits;
  authLimits.maxFailuresPerIp = config.maxFailuresPerIp;
  authLimits.maxFailuresPerAccount = config.maxFailuresPerAccount;
  auth::Authenticator authenticator(*store, authLimits);

  size_t workers = config.workers ? config.workers : std::max(1u, std::thread::hardware_concurrency());
  net::Runtime runtime(workers, config.blockingThreads);

  auto imapContext = std::shared_ptr<imap::server::ImapContext>(new imap::server::ImapContext{
      *store, *store, store->blobs(), store->changes(), authenticator, runtime.blocking(), imapSettings(config)});
  auto limiter = std::make_shared<net::ConnectionLimiter>(
      net::ConnectionLimits{config.maxConnections, config.maxConnectionsPerIp});
  net::SessionFactory imapFactory = [imapContext](std::shared_ptr<net::Stream> stream) {
    return imap::server::runSession(imapContext, std::move(stream));
  };

  smtp::server::SmtpSettings smtpSettings;
  smtpSettings.hostname = config.hostname;
  smtpSettings.maxMessageSize = config.maxMessageSize;
  smtpSettings.maxLineLength = config.smtpMaxLineLength;
  smtpSettings.maxRecipients = config.smtpMaxRecipients;
  smtpSettings.commandTimeout = config.smtpCommandTimeout;
  smtpSettings.dataTimeout = config.smtpDataTimeout;
  smtpSettings.maxErrors = config.smtpMaxErrors;
  smtpSettings.maxMessagesPerConnection = config.smtpMaxMessagesPerConnection;
  auto smtpContext = std::shared_ptr<smtp::server::SmtpContext>(new smtp::server::SmtpContext{
      *store, *store, store->blobs(), authenticator, runtime.blocking(), smtpSettings});
  auto smtpFactory = [smtpContext](smtp::server::Service service) -> net::SessionFactory {
    return [smtpContext, service](std::shared_ptr<net::Stream> stream) {
      return smtp::server::runSession(smtpContext, service, std::move(stream));
    };
  };
  const std::string smtpReject = "421 4.7.0 Too many connections\r\n";

  std::vector<std::unique_ptr<net::Listener>> listeners;
  auto addListener = [&](const char* name, const std::vector<std::string>& addresses, bool implicitTls,
                         net::SessionFactory factory, std::string reject) {
    if (addresses.empty()) return;
    net::ListenerConfig lc;
    lc.name = name;
    lc.addresses = addresses;
    lc.implicitTls = implicitTls;
    listeners.push_back(std::make_unique<net::Listener>(runtime, lc, *tls, limiter, std::move(factory), std::move(reject)));
  };
  addListener("imap", config.imap, false, imapFactory, "* BYE Too many connections\r\n");
  addListener("imaps", config.imaps, true, imapFactory, "* BYE Too many connections\r\n");
  addListener("smtp", config.smtp, false, smtpFactory(smtp::server::Service::Inbound), smtpReject);
  addListener("submission", config.submission, false, smtpFactory(smtp::server::Service::Submission), smtpReject);
  addListener("submissions", config.submissions, true, smtpFactory(smtp::server::Service::Submissions), smtpReject);
  addListener("lmtp", config.lmtp, false, smtpFactory(smtp::server::Service::Lmtp), smtpReject);
  if (listeners.empty()) {
    log::error("serve") << "nothing to listen on: set [listen] imap, imaps, smtp, submission, submissions or lmtp";
    return 2;
  }
  for (auto& l : listeners) {
    if (auto r = l->bind(); !r) {
      log::error("serve") << r.error();
      return 1;
    }
  }

  if (net::runningAsRoot()) {
    if (config.user.empty()) {
      log::warn("serve") << "running as root: set [server] user to drop privileges after binding";
    } else {
      if (auto r = handOverDataDir(config.dataDir, config.user); !r) {
        log::error("serve") << r.error();
        return 1;
      }
      if (auto r = net::dropPrivileges(config.user); !r) {
        log::error("serve") << "cannot drop privileges: " << r.error();
        return 1;
      }
      log::info("serve") << "dropped privileges to " << config.user;
    }
  }

  // Outbound delivery: the scheduler lives on worker 0 and reads the queue the SMTP sessions fill.
  std::unique_ptr<dns::Resolver> resolver;
  smtp::delivery::DkimKeys dkimKeys;
  std::unique_ptr<smtp::delivery::Scheduler> scheduler;
  if (config.queueEnabled) {
    dns::ResolverSettings rs;
    rs.servers = config.dnsResolvers;
    rs.timeout = config.dnsTimeout;
    auto r = dns::createResolver(rs);
    if (!r) {
      log::error("serve") << "DNS resolver: " << r.error();
      return 1;
    }
    resolver = std::move(*r);
    dkimKeys.load(config.dkimKeyDir(), config.dkimSelector);
    scheduler = std::make_unique<smtp::delivery::Scheduler>(
        runtime.worker(0).get_executor(), runtime.blocking(), *store, *store, store->blobs(), *resolver, dkimKeys,
        deliverySettings(config, clientTlsContext()));
    smtpContext->onQueued = [s = scheduler.get()] { s->wake(); };
    scheduler->start();
  } else {
    log::info("serve") << "outbound delivery disabled ([queue] enabled = false): mail stays queued";
  }

  for (auto& l : listeners) l->start();
  // Large mailboxes' indexes are loaded in the background, so the first SELECT after a restart does
  // not scan a million rows (sessions that come first simply scan, as before).
  asio::post(runtime.blocking(), [imapContext, &store] {
    const auto started = std::chrono::steady_clock::now();
    const size_t loaded = imapContext->indexCache.warm(*store, *store);
    if (loaded > 0) {
      log::info("imap") << "index cache: " << loaded << " large mailboxes loaded in "
                        << std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started).count()
                        << " ms";
    }
  });
  // Large mailboxes' cached indexes follow every commit: changes are noted on the writer and applied
  // (or a grown mailbox loaded) on the pool at most every 200 ms, one pass at a time. A SELECT reads
  // what came after the last pass itself: at a second, a migration appending 100,000 messages a
  // second left its first SELECT 160 ms of catching up.
  store::ChangeHub::Subscription followIndexes =
      store->changes().subscribeAll([imapContext](store::MailboxId id) { imapContext->indexCache.noteChanged(id); });
  // Shared with the pool task, which may still run while this function unwinds.
  auto refreshingIndexes = std::make_shared<std::atomic<bool>>(false);
  asio::co_spawn(
      runtime.worker(0),
      [&]() -> asio::awaitable<void> {
        asio::steady_timer t(runtime.worker(0));
        for (;;) {
          t.expires_after(std::chrono::milliseconds(200));
          co_await t.async_wait(asio::experimental::as_tuple(asio::use_awaitable));
          if (!imapContext->indexCache.hasNoted() || refreshingIndexes->exchange(true)) continue;
          asio::post(runtime.blocking(), [imapContext, &store, refreshingIndexes] {
            imapContext->indexCache.refreshNoted(*store);
            *refreshingIndexes = false;
          });
        }
      },
      asio::detached);
  for (auto& l : listeners) {
    std::string ports;
    for (auto p : l->boundPorts()) ports += " " + std::to_string(p);
    log::info("serve") << "listening" << ports;
  }

  // Signals: TERM/INT stop accepting, give sessions a moment to finish, then stop; HUP reloads TLS.
  asio::io_context& control = runtime.worker(0);
  asio::signal_set stopSignals(control, SIGTERM, SIGINT);
  asio::signal_set hupSignal(control, SIGHUP);
  std::function<void()> waitHup = [&] {
    hupSignal.async_wait([&](const std::error_code& ec, int) {
      if (ec) return;
      // DKIM keys too (`tern dkim generate` while running); the scheduler reads them on this same
      // worker, so the swap needs no lock.
      if (scheduler) dkimKeys.load(config.dkimKeyDir(), config.dkimSelector);
      if (auto r = (*tls)->reload(); r)
        log::info("serve") << "TLS certificate reloaded, fingerprint " << (*tls)->fingerprint();
      else
        log::error("serve") << "TLS reload failed, keeping the old certificate: " << r.error();
      waitHup();
    });
  };
  waitHup();
  stopSignals.async_wait([&](const std::error_code& ec, int sig) {
    if (ec) return;
    log::info("serve") << "signal " << sig << ": draining";
    for (auto& l : listeners) l->stop();
    if (scheduler) scheduler->stop();
    hupSignal.cancel();
    asio::co_spawn(
        control,
        [&]() -> asio::awaitable<void> {
          asio::steady_timer t(control);
          for (int i = 0; i < 50 && imapContext->activeSessions.load() + smtpContext->activeSessions.load() > 0; ++i) {
            t.expires_after(std::chrono::milliseconds(100));
            co_await t.async_wait(asio::experimental::as_tuple(asio::use_awaitable));
          }
          runtime.stop();
        },
        asio::detached);
  });

  runtime.run();
  smtpContext->onQueued = nullptr;
  scheduler.reset();
  listeners.clear();
  log::info("serve") << "stopped";
  return 0;
}

}  // namespace tern::app
