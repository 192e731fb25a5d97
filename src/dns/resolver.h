// DNS lookups for mail routing, through libunbound: MX with the RFC 5321 5.1 fallback to the domain's
// own address records, RFC 7505 null MX, and A/AAAA. Answers come from the network (untrusted): names
// are validated before use and every list is bounded. Calls block; run them on the blocking pool.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.h"

namespace tern::dns {

struct ResolverSettings {
  // Servers to ask, "IP" or "IP@PORT" (unbound's notation; also "[v6]:port" and "v4:port"). Empty:
  // the system's /etc/resolv.conf. Tests and split-horizon sites point this at their own server.
  std::vector<std::string> servers;
  std::chrono::milliseconds timeout{std::chrono::seconds(30)};  // per lookup
  // Lookups that may run at the same time; each holds one libunbound context (with its own cache
  // and background thread) for its duration. More callers wait, within their timeout, for one.
  std::size_t maxConcurrent = 4;
};

enum class Status {
  Ok,         // records found
  NotFound,   // NXDOMAIN, or the name exists without records of the asked type (NODATA)
  NullMx,     // RFC 7505: the domain says it accepts no mail ("MX 0 .")
  TempFail,   // SERVFAIL, timeout, no server answered: try again later
};

// "ok", "not-found", "null-mx", "temp-fail": for logs.
std::string_view statusName(Status status);

struct MxHost {
  std::string host;          // lower case, no trailing dot
  uint16_t preference = 0;
};

struct MxResult {
  Status status = Status::TempFail;
  // Sorted by preference, shuffled among equal preferences (RFC 5321 5.1). When the domain has no MX
  // but has A/AAAA records, one implicit host: the domain itself with preference 0.
  std::vector<MxHost> hosts;
  std::string error;         // for logs and DSN diagnostics when status != Ok
};

struct AddressResult {
  Status status = Status::TempFail;
  std::vector<std::string> addresses;  // textual IPs: IPv6 ("::1") first, then IPv4; at most 16
  std::string error;
};

class Resolver {
 public:
  virtual ~Resolver() = default;
  // Thread-safe and blocking (bounded by settings.timeout).
  // domain: a DNS name (case-insensitive, trailing dot allowed). Address literals ("[192.0.2.1]")
  // are not names: routing handles them before asking; here they are NotFound.
  virtual MxResult resolveMx(std::string_view domain) = 0;
  // host: a DNS name, or an IP literal ("192.0.2.1", "2001:db8::1", "[192.0.2.1]",
  // "[IPv6:2001:db8::1]"), which is returned as its canonical text without a query.
  virtual AddressResult resolveAddresses(std::string_view host) = 0;
};

// A libunbound-backed resolver. Error: a readable reason (bad server address, libunbound failure).
tern::Result<std::unique_ptr<Resolver>, std::string> createResolver(const ResolverSettings& settings);

}  // namespace tern::dns
