// Routing decisions for the outbound queue (see router.h). DNS answers are untrusted: host names come
// validated and bounded from the resolver; at most kMaxHops MX hosts are tried per attempt.
#include "smtp/delivery/router.h"

#include <arpa/inet.h>

namespace tern::smtp::delivery {

namespace {

constexpr size_t kMaxHops = 8;

bool isIpLiteral(const std::string& host) {
  unsigned char buf[16];
  return ::inet_pton(AF_INET, host.c_str(), buf) == 1 || ::inet_pton(AF_INET6, host.c_str(), buf) == 1;
}

}  // namespace

std::vector<std::string> Router::addressesOf(const std::string& host, std::string& error, bool& temporary) {
  if (isIpLiteral(host)) return {host};
  auto a = resolver_.resolveAddresses(host);
  if (a.status == dns::Status::Ok) return a.addresses;
  if (a.status == dns::Status::TempFail) temporary = true;
  error = host + ": " + (a.error.empty() ? "no address records" : a.error);
  return {};
}

Route Router::route(std::string_view domainView) {
  const std::string domain(domainView);
  Route r;
  std::string error;
  bool temporary = false;
  auto single = [&](const std::string& host, uint16_t port, bool relay) {
    auto addresses = addressesOf(host, error, temporary);
    if (addresses.empty()) {
      // A configured host that does not resolve is the operator's to fix: keep retrying.
      r.status = Route::Status::TemporaryFailure;
      r.dsnStatus = "4.4.4";
      r.reason = "cannot resolve " + error;
      return r;
    }
    r.status = Route::Status::Ok;
    r.hops.push_back(Hop{host, std::move(addresses), port, relay});
    return r;
  };
  if (settings_.relay) return single(settings_.relay->host, settings_.relay->port, true);
  if (auto it = settings_.routes.find(domain); it != settings_.routes.end()) {
    return single(it->second.first, it->second.second, false);
  }

  // An address literal ("user@[192.0.2.1]", RFC 5321 4.1.3) names the host itself: no MX lookup.
  if (!domain.empty() && domain.front() == '[') return single(domain, settings_.smtpPort, false);

  auto mx = resolver_.resolveMx(domain);
  switch (mx.status) {
    case dns::Status::NullMx:
      r.status = Route::Status::PermanentFailure;
      r.dsnStatus = "5.1.10";
      r.reason = "the domain " + domain + " accepts no mail (null MX, RFC 7505)";
      return r;
    case dns::Status::NotFound:
      r.status = Route::Status::PermanentFailure;
      r.dsnStatus = "5.1.2";
      r.reason = "no mail server for " + domain + (mx.error.empty() ? "" : " (" + mx.error + ")");
      return r;
    case dns::Status::TempFail:
      r.status = Route::Status::TemporaryFailure;
      r.dsnStatus = "4.4.3";
      r.reason = "DNS lookup of " + domain + " failed: " + (mx.error.empty() ? "temporary failure" : mx.error);
      return r;
    case dns::Status::Ok:
      break;
  }
  for (const auto& h : mx.hosts) {
    if (r.hops.size() >= kMaxHops) break;
    auto addresses = addressesOf(h.host, error, temporary);
    if (!addresses.empty()) r.hops.push_back(Hop{h.host, std::move(addresses), settings_.smtpPort, false});
  }
  if (!r.hops.empty()) {
    r.status = Route::Status::Ok;
    return r;
  }
  // MX hosts without addresses: a DNS failure is temporary; names that do not exist are the remote
  // domain's misconfiguration, still retried for a while like every MTA does.
  r.status = Route::Status::TemporaryFailure;
  r.dsnStatus = temporary ? "4.4.3" : "4.4.4";
  r.reason = "no address for the mail servers of " + domain + (error.empty() ? "" : " (" + error + ")");
  return r;
}

}  // namespace tern::smtp::delivery
