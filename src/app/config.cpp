// Loads the TOML config file into Config, rejecting unknown sections/keys, wrong types and values out
// of range with "FILE:LINE: message". Input is the administrator's file (trusted but error-prone);
// toml++ bounds nesting, and every number is range-checked before it is stored.
#include "app/config.h"

#include <arpa/inet.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>

#include <toml++/toml.h>

#include "util/strings.h"

namespace tern::app {

namespace {

// A problem with one value; line 0 means "the key's line" (arrays point at the bad element).
struct Issue {
  uint32_t line = 0;
  std::string message;
};
// One handler per key: checks the node and stores the value, or returns the problem.
using Handler = std::function<std::optional<Issue>(const toml::node&)>;
using Section = std::map<std::string, Handler, std::less<>>;
using Check = std::function<std::optional<std::string>(const std::string&)>;

std::string typeName(const toml::node& n) {
  switch (n.type()) {
    case toml::node_type::string: return "a string";
    case toml::node_type::integer: return "an integer";
    case toml::node_type::floating_point: return "a float";
    case toml::node_type::boolean: return "a boolean";
    case toml::node_type::array: return "an array";
    case toml::node_type::table: return "a table";
    default: return "a date/time";
  }
}

std::string quoted(std::string_view s) { return "\"" + std::string(s) + "\""; }

std::optional<Issue> issue(std::string message, uint32_t line = 0) { return Issue{line, std::move(message)}; }

Handler stringKey(std::string& out, Check check = {}) {
  return [&out, check](const toml::node& n) -> std::optional<Issue> {
    const auto* v = n.as_string();
    if (!v) return issue("expected a string, got " + typeName(n));
    if (check) {
      if (auto err = check(v->get())) return issue(*err);
    }
    out = v->get();
    return std::nullopt;
  };
}

Handler boolKey(bool& out) {
  return [&out](const toml::node& n) -> std::optional<Issue> {
    const auto* v = n.as_boolean();
    if (!v) return issue("expected true or false, got " + typeName(n));
    out = v->get();
    return std::nullopt;
  };
}

template <class T>
Handler intKey(T& out, int64_t min, int64_t max, const char* unit = "") {
  return [&out, min, max, unit](const toml::node& n) -> std::optional<Issue> {
    const auto* v = n.as_integer();
    if (!v) return issue("expected an integer, got " + typeName(n));
    const int64_t x = v->get();
    if (x < min || x > max) {
      return issue("value " + std::to_string(x) + " out of range " + std::to_string(min) + ".." +
                   std::to_string(max) + unit);
    }
    out = static_cast<T>(x);
    return std::nullopt;
  };
}

Handler secondsKey(std::chrono::seconds& out, int64_t min, int64_t max) {
  return [&out, min, max](const toml::node& n) -> std::optional<Issue> {
    int64_t x = 0;
    if (auto err = intKey(x, min, max, " seconds")(n)) return err;
    out = std::chrono::seconds{x};
    return std::nullopt;
  };
}

// An array of strings, each checked; the whole array replaces the default.
Handler stringArrayKey(std::vector<std::string>& out, std::function<bool(const std::string&)> valid,
                       std::string what, std::string hint) {
  return [&out, valid, what, hint](const toml::node& n) -> std::optional<Issue> {
    const auto* arr = n.as_array();
    if (!arr) return issue("expected an array of strings, got " + typeName(n));
    std::vector<std::string> values;
    for (const auto& el : *arr) {
      const uint32_t line = el.source().begin.line;
      const auto* s = el.as_string();
      if (!s) return issue("expected a string, got " + typeName(el), line);
      if (!valid(s->get())) return issue("invalid " + what + " " + quoted(s->get()) + " (expected " + hint + ")", line);
      values.push_back(s->get());
    }
    out = std::move(values);
    return std::nullopt;
  };
}

bool validHostname(const std::string& h) {
  if (h.empty() || h.size() > 253) return false;
  for (char c : h) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.')) return false;
  }
  return h.front() != '.' && h.front() != '-' && h.back() != '-';
}

std::optional<std::string> oneOf(const std::string& v, std::initializer_list<std::string_view> allowed) {
  std::string list;
  for (auto a : allowed) {
    if (v == a) return std::nullopt;
    list += (list.empty() ? "" : ", ") + quoted(a);
  }
  return "invalid value " + quoted(v) + ", expected one of " + list;
}

// A DNS server for [dns] resolvers: an IP literal, optionally "@PORT".
bool isValidResolver(const std::string& v) {
  const size_t at = v.find('@');
  const std::string ip = v.substr(0, at);
  unsigned char buf[16];
  if (::inet_pton(AF_INET, ip.c_str(), buf) != 1 && ::inet_pton(AF_INET6, ip.c_str(), buf) != 1) return false;
  if (at == std::string::npos) return true;
  const std::string port = v.substr(at + 1);
  if (port.empty() || port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos) return false;
  const long p = std::stol(port);
  return p >= 1 && p <= 65535;
}

// "host:port" for [routes]: a host name or IP literal ([v6] bracketed) and a port.
bool validRoute(const std::string& v) {
  if (parseListenAddress(v)) return true;
  const size_t colon = v.rfind(':');
  if (colon == std::string::npos || colon == 0) return false;
  const std::string port = v.substr(colon + 1);
  if (port.empty() || port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos) return false;
  const long p = std::stol(port);
  return p >= 1 && p <= 65535 && validHostname(v.substr(0, colon));
}

std::string location(const std::string& path, uint32_t line) { return path + ":" + std::to_string(line) + ": "; }

// The line of the first non-ASCII byte outside comments, or 0. toml++ 3.3 reaches
// __builtin_unreachable (undefined behaviour) in its whitespace tables for some non-ASCII code points
// wherever it tests for whitespace: after values ("a = 1\u00e9"), after a line-ending backslash in
// a multi-line string, in a number running into a string (fuzz/fuzz_config found each). Only
// comments are safe, so non-ASCII text is refused everywhere else; strings can spell it as \uXXXX.
uint32_t nonAsciiOutsideCommentsLine(std::string_view t) {
  uint32_t line = 1;
  size_t i = 0;
  auto skipString = [&](char quote, bool multi) -> bool {  // i is just past the opening quote(s)
    while (i < t.size()) {
      const char c = t[i];
      if (static_cast<unsigned char>(c) >= 0x80) return false;
      if (c == '\\' && quote == '"') {
        if (i + 1 < t.size() && t[i + 1] == '\n') ++line;
        i += 2;
        continue;
      }
      if (c == '\n') {
        ++line;
        if (!multi) return true;  // unterminated: toml++ reports it
      }
      if (c == quote && (!multi || t.substr(i, 3) == std::string(3, quote))) {
        i += multi ? 3 : 1;
        return true;
      }
      ++i;
    }
    return true;
  };
  while (i < t.size()) {
    const char c = t[i];
    if (c == '\n') {
      ++line;
      ++i;
    } else if (c == '#') {
      while (i < t.size() && t[i] != '\n') ++i;
    } else if (c == '"' || c == '\'') {
      const bool multi = t.substr(i, 3) == std::string(3, c);
      i += multi ? 3 : 1;
      if (!skipString(c, multi)) return line;
    } else if (static_cast<unsigned char>(c) >= 0x80) {
      return line;
    } else {
      ++i;
    }
  }
  return 0;
}

}  // namespace

std::optional<ListenAddress> parseListenAddress(std::string_view text) {
  const size_t colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0) return std::nullopt;
  std::string_view host = text.substr(0, colon);
  auto port = parseUnsigned(text.substr(colon + 1), 65535);
  if (!port || *port == 0) return std::nullopt;
  unsigned char buf[sizeof(in6_addr)];
  ListenAddress out;
  out.port = static_cast<uint16_t>(*port);
  if (host.front() == '[') {
    if (host.size() < 3 || host.back() != ']') return std::nullopt;
    out.host = std::string(host.substr(1, host.size() - 2));
    if (inet_pton(AF_INET6, out.host.c_str(), buf) != 1) return std::nullopt;
  } else {
    out.host = std::string(host);
    if (inet_pton(AF_INET, out.host.c_str(), buf) != 1) return std::nullopt;
  }
  return out;
}

bool isValidNetwork(std::string_view text) {
  const size_t slash = text.find('/');
  const std::string addr(text.substr(0, slash));
  unsigned char buf[sizeof(in6_addr)];
  uint64_t maxPrefix = 0;
  if (inet_pton(AF_INET, addr.c_str(), buf) == 1) {
    maxPrefix = 32;
  } else if (inet_pton(AF_INET6, addr.c_str(), buf) == 1) {
    maxPrefix = 128;
  } else {
    return false;
  }
  return slash == std::string_view::npos || parseUnsigned(text.substr(slash + 1), maxPrefix).has_value();
}

tern::Result<Config, std::string> loadConfig(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return tern::unexpected(path + ": cannot open: " + std::strerror(errno));
  std::stringstream buf;
  buf << in.rdbuf();
  return loadConfigFromString(buf.str(), path);
}

tern::Result<Config, std::string> loadConfigFromString(std::string_view text, const std::string& path) {
  using R = tern::Result<Config, std::string>;
  if (const uint32_t line = nonAsciiOutsideCommentsLine(text); line != 0) {
    return tern::unexpected(location(path, line) + "non-ASCII text is only allowed in comments (in strings write \\uXXXX)");
  }
  toml::table root;
  try {
    root = toml::parse(text, path);
  } catch (const toml::parse_error& e) {
    return tern::unexpected(location(path, e.source().begin.line) + std::string(e.description()));
  }

  Config c;
  c.path = path;
  auto listenKey = [](std::vector<std::string>& field) {
    return stringArrayKey(field, [](const std::string& v) { return parseListenAddress(v).has_value(); },
                          "address", "IP:PORT or [IPv6]:PORT");
  };
  std::map<std::string, Section, std::less<>> sections;
  sections["server"] = {
      {"hostname", stringKey(c.hostname, [](const std::string& v) -> std::optional<std::string> {
         if (!validHostname(v)) return "invalid hostname " + quoted(v);
         return std::nullopt;
       })},
      {"data_dir", stringKey(c.dataDir, [](const std::string& v) -> std::optional<std::string> {
         if (v.empty()) return std::string("data_dir must not be empty");
         return std::nullopt;
       })},
      {"user", stringKey(c.user)},
      {"log_level", stringKey(c.logLevel, [](const std::string& v) { return oneOf(v, {"debug", "info", "warn", "error"}); })},
      {"workers", intKey(c.workers, 0, 1024)},
      {"blocking_threads", intKey(c.blockingThreads, 1, 1024)},
      {"scheduling", stringKey(c.scheduling, [](const std::string& v) { return oneOf(v, {"batch", "inherit"}); })},
      {"bootstrap_demo", boolKey(c.bootstrapDemo)},
  };
  sections["listen"] = {
      {"imap", listenKey(c.imap)},
      {"imaps", listenKey(c.imaps)},
      {"smtp", listenKey(c.smtp)},
      {"submission", listenKey(c.submission)},
      {"submissions", listenKey(c.submissions)},
      {"lmtp", listenKey(c.lmtp)},
  };
  sections["tls"] = {
      {"cert", stringKey(c.tlsCert)},
      {"key", stringKey(c.tlsKey)},
      {"min_version", stringKey(c.tlsMinVersion, [](const std::string& v) { return oneOf(v, {"1.2", "1.3"}); })},
      {"ciphers", stringKey(c.tlsCiphers)},
  };
  sections["auth"] = {
      {"trusted_networks", stringArrayKey(c.trustedNetworks, [](const std::string& v) { return isValidNetwork(v); },
                                          "network", "ADDRESS/PREFIX")},
      {"max_failures_per_ip", intKey(c.maxFailuresPerIp, 1, 1000000)},
      {"max_failures_per_account", intKey(c.maxFailuresPerAccount, 1, 1000000)},
  };
  sections["limits"] = {
      {"max_connections", intKey(c.maxConnections, 1, 10000000)},
      {"max_connections_per_ip", intKey(c.maxConnectionsPerIp, 1, 10000000)},
      // SMTP needs 1000 octets per line (RFC 5321), IMAP clients at least 8192 (RFC 7162 section 4).
      {"max_line_length", intKey(c.maxLineLength, 1000, 16 * 1024 * 1024)},
      {"max_literal_size", intKey(c.maxLiteralSize, 1, int64_t{1} << 40)},
      {"max_message_size", intKey(c.maxMessageSize, 1, int64_t{1} << 40)},
      {"preauth_timeout", secondsKey(c.preAuthTimeout, 1, 3600)},
      {"idle_timeout", secondsKey(c.idleTimeout, 60, 7 * 24 * 3600)},
      {"max_bad_commands", intKey(c.maxBadCommands, 1, 10000)},
      {"smtp_max_line_length", intKey(c.smtpMaxLineLength, 512, 1024 * 1024)},
      {"smtp_max_recipients", intKey(c.smtpMaxRecipients, 1, 100000)},
      {"smtp_command_timeout", secondsKey(c.smtpCommandTimeout, 1, 3600)},
      {"smtp_data_timeout", secondsKey(c.smtpDataTimeout, 1, 3600)},
      {"smtp_max_errors", intKey(c.smtpMaxErrors, 1, 10000)},
      {"smtp_max_messages_per_connection", intKey(c.smtpMaxMessagesPerConnection, 1, 1000000)},
  };

  auto tlsPolicyCheck = [](bool implicitAllowed) {
    return [implicitAllowed](const std::string& v) -> std::optional<std::string> {
      if (implicitAllowed) return oneOf(v, {"none", "opportunistic", "required", "verified", "implicit"});
      return oneOf(v, {"none", "opportunistic", "required", "verified"});
    };
  };
  sections["queue"] = {
      {"enabled", boolKey(c.queueEnabled)},
      {"retry_schedule", [&c](const toml::node& n) -> std::optional<Issue> {
         const auto* arr = n.as_array();
         if (!arr || arr->empty()) return issue("expected a non-empty array of seconds, e.g. [120, 300, 900]");
         std::vector<std::chrono::seconds> steps;
         for (const auto& el : *arr) {
           const auto* v = el.as_integer();
           if (!v || v->get() < 1 || v->get() > 7 * 24 * 3600) {
             return issue("each step must be an integer 1..604800 seconds", el.source().begin.line);
           }
           steps.emplace_back(v->get());
         }
         c.retrySchedule = std::move(steps);
         return std::nullopt;
       }},
      {"delay_warning", secondsKey(c.delayWarning, 0, 30 * 24 * 3600)},
      {"max_lifetime", secondsKey(c.maxQueueLifetime, 5, 60 * 24 * 3600)},
      {"max_deliveries", intKey(c.maxDeliveries, 1, 10000)},
      {"max_deliveries_per_domain", intKey(c.maxDeliveriesPerDomain, 1, 10000)},
      {"smtp_port", intKey(c.smtpPort, 1, 65535)},
      {"tls", stringKey(c.outboundTls, tlsPolicyCheck(false))},
      {"connect_timeout", secondsKey(c.outboundConnectTimeout, 1, 600)},
  };
  sections["dns"] = {
      {"resolvers", stringArrayKey(c.dnsResolvers, [](const std::string& v) { return isValidResolver(v); },
                                   "resolver", "IP or IP@PORT")},
      {"timeout", secondsKey(c.dnsTimeout, 1, 300)},
  };
  sections["relay"] = {
      {"host", stringKey(c.relayHost, [](const std::string& v) -> std::optional<std::string> {
         if (!v.empty() && !validHostname(v) && !parseListenAddress(v + ":1")) return "invalid host " + quoted(v);
         return std::nullopt;
       })},
      {"port", intKey(c.relayPort, 1, 65535)},
      {"username", stringKey(c.relayUsername)},
      {"password", stringKey(c.relayPassword)},
      {"tls", stringKey(c.relayTls, tlsPolicyCheck(true))},
  };
  // [routes] "domain" = "host:port": the keys are the administrator's domains, so no fixed key set.
  if (const auto* routes = root["routes"].as_table()) {
    for (auto&& [key, value] : *routes) {
      const std::string domain = asciiLowercase(key.str());
      const auto* v = value.as_string();
      const uint32_t line = key.source().begin.line;
      if (!validHostname(domain)) return tern::unexpected(location(path, line) + "[routes] invalid domain " + quoted(key.str()));
      if (!v || !validRoute(v->get())) {
        return tern::unexpected(location(path, line) + "[routes] " + std::string(key.str()) +
                                ": expected \"HOST:PORT\" (a name, an IPv4 address or a bracketed IPv6 address)");
      }
      c.routes.emplace_back(domain, v->get());
    }
  }
  sections["routes"] = {};
  sections["dkim"] = {
      {"selector", stringKey(c.dkimSelector, [](const std::string& v) -> std::optional<std::string> {
         if (!validHostname(v) || v.find('.') != std::string::npos) return "invalid selector " + quoted(v) + " (one DNS label)";
         return std::nullopt;
       })},
  };

  for (auto&& [sectionKey, sectionNode] : root) {
    const std::string sectionName(sectionKey.str());
    const uint32_t sectionLine = sectionKey.source().begin.line;
    const auto* table = sectionNode.as_table();
    if (!table) {
      return tern::unexpected(location(path, sectionLine) + "key " + quoted(sectionName) +
                              " must be inside a section such as [server]");
    }
    auto section = sections.find(sectionName);
    if (section == sections.end()) {
      return tern::unexpected(location(path, sectionLine) + "unknown section [" + sectionName + "]");
    }
    if (sectionName == "routes") continue;  // checked above
    for (auto&& [key, value] : *table) {
      const uint32_t line = key.source().begin.line;
      auto handler = section->second.find(key.str());
      if (handler == section->second.end()) {
        return tern::unexpected(location(path, line) + "unknown key " + quoted(key.str()) + " in [" + sectionName + "]");
      }
      if (auto err = handler->second(value)) {
        return tern::unexpected(location(path, err->line ? err->line : line) + "[" + sectionName + "] " +
                                std::string(key.str()) + ": " + err->message);
      }
    }
  }

  if (c.maxConnectionsPerIp > c.maxConnections) {
    return tern::unexpected(path + ": [limits] max_connections_per_ip is larger than max_connections");
  }
  if (c.maxDeliveriesPerDomain > c.maxDeliveries) {
    return tern::unexpected(path + ": [queue] max_deliveries_per_domain is larger than max_deliveries");
  }
  if (c.relayUsername.empty() != c.relayPassword.empty()) {
    return tern::unexpected(path + ": [relay] username and password must be given together");
  }
  if (c.tlsCert.empty() != c.tlsKey.empty()) {
    return tern::unexpected(path + ": [tls] cert and key must be given together");
  }
  return R(std::move(c));
}

std::string developmentConfigText() {
  return R"(# Tern development configuration (used by `make run`): loopback only, unprivileged ports,
# data under ./var. Not for production: see dist/tern.toml.

[server]
hostname = "localhost"
data_dir = "./var"
log_level = "debug"
# First start with an empty directory: create example.test and demo@example.test with a random
# password, printed once on the console.
bootstrap_demo = true

[listen]
imap = ["127.0.0.1:1143"]
imaps = ["127.0.0.1:1993"]
smtp = ["127.0.0.1:2525"]
submission = ["127.0.0.1:2587"]
submissions = ["127.0.0.1:2465"]

[tls]
# Without cert and key, a self-signed certificate for `hostname` is generated once and kept in
# data_dir/tls/ (clients must accept it; the server logs its SHA-256 fingerprint).
# cert = "/path/to/fullchain.pem"
# key = "/path/to/privkey.pem"
min_version = "1.2"

[auth]
# Plaintext LOGIN/AUTHENTICATE PLAIN is allowed without TLS only from these networks.
trusted_networks = ["127.0.0.1/32", "::1/128"]

[limits]
preauth_timeout = 60
idle_timeout = 1800
)";
}

}  // namespace tern::app
