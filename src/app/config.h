// The one TOML config file, read into typed settings. Unknown keys and bad values are errors that
// name the file and line. Every limit the servers enforce lives here with its default.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.h"

namespace tern::app {

struct Config {
  std::string path;  // the file read ("" for defaults)

  // [server]
  std::string hostname = "localhost";
  std::string dataDir = "./var";
  std::string user;  // drop root to this account after binding (empty: stay as is; root refuses to serve without)
  std::string logLevel = "info";
  size_t workers = 0;          // 0: one per core
  size_t blockingThreads = 16;
  // "batch": the server's threads run under SCHED_BATCH (see serve.cpp); "inherit": as started.
  std::string scheduling = "batch";
  // On first start with an empty directory: create example.test and demo@example.test with a random
  // password, printed once (development only; see bootstrap.h).
  bool bootstrapDemo = false;

  // [listen]
  std::vector<std::string> imap;   // "127.0.0.1:1143"
  std::vector<std::string> imaps;  // "127.0.0.1:1993"
  std::vector<std::string> smtp;         // inbound MX, port 25
  std::vector<std::string> submission;   // 587, STARTTLS
  std::vector<std::string> submissions;  // 465, implicit TLS
  std::vector<std::string> lmtp;         // local delivery from another MTA

  // [tls]
  std::string tlsCert;
  std::string tlsKey;
  std::string tlsMinVersion = "1.2";
  std::string tlsCiphers;

  // [auth]
  std::vector<std::string> trustedNetworks = {"127.0.0.1/32", "::1/128"};  // plaintext login allowed
  uint32_t maxFailuresPerIp = 20;
  uint32_t maxFailuresPerAccount = 10;

  // [limits]
  size_t maxConnections = 10000;
  size_t maxConnectionsPerIp = 50;
  size_t maxLineLength = 64 * 1024;
  uint64_t maxLiteralSize = 64ull * 1024 * 1024;
  uint64_t maxMessageSize = 64ull * 1024 * 1024;
  std::chrono::seconds preAuthTimeout{60};
  std::chrono::seconds idleTimeout{30 * 60};  // authenticated, and IDLE (RFC 9051: at least 30 min)
  uint32_t maxBadCommands = 20;               // then BYE
  // SMTP/LMTP (max_message_size and the connection limits above apply too)
  size_t smtpMaxLineLength = 4096;            // command line, CRLF excluded (RFC 5321: at least 510)
  uint32_t smtpMaxRecipients = 100;           // per message; more get 452 4.5.3 (RFC 5321 4.5.3.1.8)
  std::chrono::seconds smtpCommandTimeout{300};  // RFC 5321 4.5.3.2.7: at least 5 minutes
  std::chrono::seconds smtpDataTimeout{600};     // between DATA/BDAT reads
  uint32_t smtpMaxErrors = 10;                // failed commands per session, then 421
  uint32_t smtpMaxMessagesPerConnection = 100;

  // [queue] outbound delivery
  bool queueEnabled = true;                     // false: mail stays queued (an inbound-only node)
  std::vector<std::chrono::seconds> retrySchedule = {std::chrono::minutes(2),  std::chrono::minutes(5),
                                                     std::chrono::minutes(15), std::chrono::minutes(30),
                                                     std::chrono::hours(1),    std::chrono::hours(2),
                                                     std::chrono::hours(4)};  // the last repeats
  std::chrono::seconds delayWarning{4 * 3600};  // "delayed" DSN after this long in the queue
  std::chrono::seconds maxQueueLifetime{5 * 24 * 3600};  // then a failure DSN
  size_t maxDeliveries = 64;                    // concurrent outbound transactions overall
  size_t maxDeliveriesPerDomain = 4;            // and per destination domain
  uint16_t smtpPort = 25;                       // the port MX hosts are contacted on (tests change it)
  std::string outboundTls = "opportunistic";    // none | opportunistic | required | verified
  std::chrono::seconds outboundConnectTimeout{30};

  // [dns]
  std::vector<std::string> dnsResolvers;        // "IP" / "IP@PORT"; empty: /etc/resolv.conf
  std::chrono::seconds dnsTimeout{30};

  // [relay] a smarthost for everything (empty host: deliver by MX)
  std::string relayHost;
  uint16_t relayPort = 587;
  std::string relayUsername;
  std::string relayPassword;
  std::string relayTls = "required";           // none | opportunistic | required | verified | implicit

  // [routes] per-domain override: "example.net" = "host:port" (an IP or a name, looked up by A/AAAA)
  std::vector<std::pair<std::string, std::string>> routes;

  // [dkim] keys live in <data_dir>/dkim/<domain>.<selector>.pem (`tern dkim generate`)
  std::string dkimSelector = "tern";
  std::string dkimKeyDir() const { return dataDir + "/dkim"; }
};

// A listen address: an IPv4 literal or a bracketed IPv6 literal, and a port 1-65535.
struct ListenAddress {
  std::string host;  // without brackets: "0.0.0.0", "::"
  uint16_t port = 0;
};
std::optional<ListenAddress> parseListenAddress(std::string_view text);
// "192.0.2.0/24", "2001:db8::/32", or a bare address (a single host).
bool isValidNetwork(std::string_view text);

// Reads and validates the file. Error: "FILE:LINE: message".
tern::Result<Config, std::string> loadConfig(const std::string& path);
// The same for text already in memory (fuzzing, tests); `path` only names it in error messages.
tern::Result<Config, std::string> loadConfigFromString(std::string_view text, const std::string& path);
// The development config `make run` uses (loopback, unprivileged ports, ./var).
std::string developmentConfigText();

}  // namespace tern::app
