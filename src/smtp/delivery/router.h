// Where a domain's mail goes: the smarthost when [relay] is set, a [routes] override for the domain,
// else its MX hosts (RFC 5321 5.1: by preference, then the domain's own A/AAAA; RFC 7505 null MX
// fails at once). Names and addresses come from DNS (untrusted) and are bounded by the resolver.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dns/resolver.h"
#include "smtp/client/client.h"

namespace tern::smtp::delivery {

struct RelaySettings {
  std::string host;  // a name or an IP literal
  uint16_t port = 587;
  std::optional<std::string> username;
  std::optional<std::string> password;
  client::TlsPolicy tls = client::TlsPolicy::Required;
  bool implicitTls = false;
};

struct RoutingSettings {
  uint16_t smtpPort = 25;                       // MX hosts
  std::optional<RelaySettings> relay;           // everything through a smarthost
  std::map<std::string, std::pair<std::string, uint16_t>> routes;  // domain -> host, port
};

// One host to try, with its addresses in the order to try them.
struct Hop {
  std::string host;
  std::vector<std::string> addresses;
  uint16_t port = 25;
  bool relay = false;  // the smarthost: use its credentials and TLS policy
};

struct Route {
  enum class Status { Ok, TemporaryFailure, PermanentFailure };
  Status status = Status::TemporaryFailure;
  std::vector<Hop> hops;  // in order; Ok means at least one
  std::string dsnStatus;  // RFC 3463 code when not Ok
  std::string reason;     // for the log and the DSN
};

class Router {
 public:
  Router(dns::Resolver& resolver, RoutingSettings settings) : resolver_(resolver), settings_(std::move(settings)) {}
  // Blocking (DNS): run on the blocking pool. `domain` is lower case.
  Route route(std::string_view domain);
  const RoutingSettings& settings() const { return settings_; }

 private:
  std::vector<std::string> addressesOf(const std::string& host, std::string& error, bool& temporary);
  dns::Resolver& resolver_;
  RoutingSettings settings_;
};

}  // namespace tern::smtp::delivery
