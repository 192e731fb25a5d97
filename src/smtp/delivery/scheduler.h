// The outbound queue's scheduler: takes due recipients from the store (leased, so a crash only ever
// means a retry), groups them by message and destination domain, and delivers each group over SMTP
// with bounded concurrency overall and per domain, reusing a domain's connection for the next group.
// Remote replies are untrusted text: they are kept only as bounded, sanitised diagnostics.
#pragma once

#include <asio.hpp>
#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "dns/resolver.h"
#include "smtp/client/client.h"
#include "smtp/delivery/dkim_keys.h"
#include "smtp/delivery/router.h"
#include "store/blob_store.h"
#include "store/store.h"

namespace tern::smtp::delivery {

struct DeliverySettings {
  std::string hostname = "localhost";  // EHLO name, Reporting-MTA, DSN sender domain
  std::vector<std::chrono::seconds> retrySchedule{std::chrono::minutes(2), std::chrono::minutes(5),
                                                  std::chrono::minutes(15), std::chrono::minutes(30),
                                                  std::chrono::hours(1), std::chrono::hours(2),
                                                  std::chrono::hours(4)};
  std::chrono::seconds delayWarning{4 * 3600};
  std::chrono::seconds maxLifetime{5 * 24 * 3600};
  size_t maxDeliveries = 64;
  size_t maxDeliveriesPerDomain = 4;
  std::chrono::milliseconds pollInterval{1000};
  std::chrono::seconds lease{30 * 60};  // a claimed row is due again after this if never settled
  client::ClientSettings client;        // TLS policy, timeouts, EHLO name (MX delivery)
  RoutingSettings routing;
};

// What one delivery attempt of one group found, per recipient; settled into the store by settle().
struct RecipientOutcome {
  enum class Kind { Delivered, TemporaryFailure, PermanentFailure };
  Kind kind = Kind::TemporaryFailure;
  std::string status;      // RFC 3463 code for the DSN ("5.1.1")
  std::string diagnostic;  // "smtp; 550 5.1.1 No such user" or our own reason
  std::string remoteMta;   // host that answered, "" if none
};

class Scheduler {
 public:
  Scheduler(asio::any_io_executor executor, asio::thread_pool& pool, store::Directory& directory,
            store::MailStore& mail, store::BlobStore& blobs, dns::Resolver& resolver, const DkimKeys& dkim,
            DeliverySettings settings);
  ~Scheduler();

  // Starts the loop on `executor`; leases of a previous run are released first.
  void start();
  // Asks the loop to end: no new deliveries start; running ones finish (bounded by client timeouts)
  // or are abandoned with the io_context, their leases expiring into a retry.
  void stop();
  // New mail was queued: look now instead of at the next poll (thread-safe).
  void wake();

  size_t activeDeliveries() const { return active_; }

 private:
  struct Group;        // one message to one domain: its claimed recipient rows
  struct DomainQueue;  // groups waiting for a connection to the domain, and its running workers
  asio::awaitable<void> loop();
  asio::awaitable<void> domainWorker(std::string domain);
  asio::awaitable<std::vector<RecipientOutcome>> deliverGroup(Group& group,
                                                              std::unique_ptr<client::Connection>& connection,
                                                              std::string& connectedHost);
  asio::awaitable<void> settle(const Group& group, const std::vector<RecipientOutcome>& outcomes);

  asio::any_io_executor executor_;
  asio::thread_pool& pool_;
  store::Directory& directory_;
  store::MailStore& mail_;
  store::BlobStore& blobs_;
  const DkimKeys& dkim_;
  DeliverySettings settings_;
  Router router_;
  asio::steady_timer wakeTimer_;
  std::map<std::string, std::unique_ptr<DomainQueue>> domains_;
  size_t active_ = 0;   // groups being delivered
  size_t pending_ = 0;  // groups claimed, waiting for a domain slot
  bool stopping_ = false;
};

// The time of the next attempt after `attempts` failed ones (the schedule's last step repeats).
int64_t nextAttemptTime(const std::vector<std::chrono::seconds>& schedule, uint32_t attempts, int64_t now);

}  // namespace tern::smtp::delivery
