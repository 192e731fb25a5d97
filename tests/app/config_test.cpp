// Tests for loadConfig: a full file, defaults, and errors that name the right line.
#include "app/config.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>

namespace tern::app {
namespace {

using namespace std::chrono_literals;

// Writes `text` to a fresh file and removes it at the end of the test.
class TempConfig {
 public:
  explicit TempConfig(const std::string& text) {
    path_ = ::testing::TempDir() + "tern-config-" + std::to_string(::getpid()) + "-" + std::to_string(counter_++) + ".toml";
    std::ofstream(path_) << text;
  }
  ~TempConfig() { std::remove(path_.c_str()); }
  const std::string& path() const { return path_; }

 private:
  static inline int counter_ = 0;
  std::string path_;
};

tern::Result<Config, std::string> load(const std::string& text, std::string* path = nullptr) {
  TempConfig f(text);
  if (path) *path = f.path();
  return loadConfig(f.path());
}

TEST(ConfigTest, FullFile) {
  auto c = load(R"(
[server]
hostname = "mail.example.com"
data_dir = "/var/lib/tern"
user = "tern"
log_level = "warn"
workers = 4
blocking_threads = 8
scheduling = "inherit"
bootstrap_demo = true

[listen]
imap = ["0.0.0.0:143", "[::]:143"]
imaps = ["127.0.0.1:993"]
smtp = ["0.0.0.0:25"]
submission = ["[::1]:587"]
submissions = ["0.0.0.0:465"]
lmtp = ["127.0.0.1:24"]

[tls]
cert = "/etc/tern/cert.pem"
key = "/etc/tern/key.pem"
min_version = "1.3"
ciphers = "ECDHE+AESGCM"

[auth]
trusted_networks = ["10.0.0.0/8", "2001:db8::/32", "192.0.2.7"]
max_failures_per_ip = 30
max_failures_per_account = 5

[limits]
max_connections = 500
max_connections_per_ip = 10
max_line_length = 8192
max_literal_size = 1048576
max_message_size = 2097152
preauth_timeout = 30
idle_timeout = 3600
max_bad_commands = 7
)");
  ASSERT_TRUE(c.ok()) << c.error();
  EXPECT_EQ(c->hostname, "mail.example.com");
  EXPECT_EQ(c->dataDir, "/var/lib/tern");
  EXPECT_EQ(c->user, "tern");
  EXPECT_EQ(c->logLevel, "warn");
  EXPECT_EQ(c->workers, 4u);
  EXPECT_EQ(c->blockingThreads, 8u);
  EXPECT_EQ(c->scheduling, "inherit");
  EXPECT_TRUE(c->bootstrapDemo);
  EXPECT_EQ(c->imap, (std::vector<std::string>{"0.0.0.0:143", "[::]:143"}));
  EXPECT_EQ(c->imaps, (std::vector<std::string>{"127.0.0.1:993"}));
  EXPECT_EQ(c->smtp, (std::vector<std::string>{"0.0.0.0:25"}));
  EXPECT_EQ(c->submission, (std::vector<std::string>{"[::1]:587"}));
  EXPECT_EQ(c->submissions, (std::vector<std::string>{"0.0.0.0:465"}));
  EXPECT_EQ(c->lmtp, (std::vector<std::string>{"127.0.0.1:24"}));
  EXPECT_EQ(c->tlsCert, "/etc/tern/cert.pem");
  EXPECT_EQ(c->tlsKey, "/etc/tern/key.pem");
  EXPECT_EQ(c->tlsMinVersion, "1.3");
  EXPECT_EQ(c->tlsCiphers, "ECDHE+AESGCM");
  EXPECT_EQ(c->trustedNetworks, (std::vector<std::string>{"10.0.0.0/8", "2001:db8::/32", "192.0.2.7"}));
  EXPECT_EQ(c->maxFailuresPerIp, 30u);
  EXPECT_EQ(c->maxFailuresPerAccount, 5u);
  EXPECT_EQ(c->maxConnections, 500u);
  EXPECT_EQ(c->maxConnectionsPerIp, 10u);
  EXPECT_EQ(c->maxLineLength, 8192u);
  EXPECT_EQ(c->maxLiteralSize, 1048576u);
  EXPECT_EQ(c->maxMessageSize, 2097152u);
  EXPECT_EQ(c->preAuthTimeout, 30s);
  EXPECT_EQ(c->idleTimeout, 3600s);
  EXPECT_EQ(c->maxBadCommands, 7u);
}

TEST(ConfigTest, EmptyFileGivesDefaults) {
  std::string path;
  auto c = load("# nothing here\n", &path);
  ASSERT_TRUE(c.ok()) << c.error();
  const Config defaults;
  EXPECT_EQ(c->path, path);
  EXPECT_EQ(c->hostname, defaults.hostname);
  EXPECT_EQ(c->dataDir, "./var");
  EXPECT_EQ(c->logLevel, "info");
  EXPECT_EQ(c->scheduling, "batch");
  EXPECT_FALSE(c->bootstrapDemo);
  EXPECT_TRUE(c->imap.empty());
  EXPECT_EQ(c->trustedNetworks, defaults.trustedNetworks);
  EXPECT_EQ(c->maxLineLength, defaults.maxLineLength);
  EXPECT_EQ(c->idleTimeout, 30min);
}

TEST(ConfigTest, PartialSectionKeepsOtherDefaults) {
  auto c = load("[limits]\nmax_bad_commands = 3\n");
  ASSERT_TRUE(c.ok()) << c.error();
  EXPECT_EQ(c->maxBadCommands, 3u);
  EXPECT_EQ(c->maxConnections, Config{}.maxConnections);
}

TEST(ConfigTest, DevelopmentConfigIsValid) {
  auto c = load(developmentConfigText());
  ASSERT_TRUE(c.ok()) << c.error();
  EXPECT_EQ(c->hostname, "localhost");
  EXPECT_EQ(c->dataDir, "./var");
  EXPECT_TRUE(c->bootstrapDemo);
  EXPECT_EQ(c->imap, (std::vector<std::string>{"127.0.0.1:1143"}));
  EXPECT_EQ(c->imaps, (std::vector<std::string>{"127.0.0.1:1993"}));
}

TEST(ConfigTest, ShippedProductionExampleIsValid) {
  // CMake compiles with absolute paths, so the checkout root is found from this file's name.
  const std::string self = __FILE__;
  const std::string root = self.substr(0, self.rfind("tests/app/"));
  auto c = loadConfig(root + "dist/tern.toml");
  ASSERT_TRUE(c.ok()) << c.error();
  EXPECT_EQ(c->user, "tern");
  EXPECT_EQ(c->dataDir, "/var/lib/tern");
  EXPECT_EQ(c->imap, (std::vector<std::string>{"0.0.0.0:143", "[::]:143"}));
  EXPECT_EQ(c->imaps, (std::vector<std::string>{"0.0.0.0:993", "[::]:993"}));
  EXPECT_EQ(c->smtp, (std::vector<std::string>{"0.0.0.0:25", "[::]:25"}));
  EXPECT_EQ(c->submissions, (std::vector<std::string>{"0.0.0.0:465", "[::]:465"}));
  EXPECT_EQ(c->smtpMaxRecipients, 100u);
  EXPECT_FALSE(c->bootstrapDemo);
}

struct BadCase {
  const char* name;
  const char* text;
  int line;           // expected line in the message
  const char* words;  // expected part of the message
};

TEST(ConfigTest, ErrorsNameFileAndLine) {
  const BadCase cases[] = {
      {"unknown key", "[server]\nhostname = \"a\"\n\nhostnmae = \"b\"\n", 4, "unknown key \"hostnmae\" in [server]"},
      {"unknown section", "[server]\nhostname = \"a\"\n[imap]\nport = 1\n", 3, "unknown section [imap]"},
      {"key outside section", "hostname = \"a\"\n", 1, "inside a section"},
      {"bad type string", "[server]\n\nworkers = \"four\"\n", 3, "expected an integer, got a string"},
      {"bad type bool", "[server]\nbootstrap_demo = \"yes\"\n", 2, "expected true or false"},
      {"bad type array", "[listen]\nimap = \"127.0.0.1:143\"\n", 2, "expected an array of strings"},
      {"array element type", "[listen]\nimap = [\n  \"127.0.0.1:143\",\n  143,\n]\n", 4, "expected a string, got an integer"},
      {"bad address no port", "[listen]\nimap = [\"127.0.0.1\"]\n", 2, "invalid address \"127.0.0.1\""},
      {"bad address port 0", "[listen]\nimaps = [\"127.0.0.1:0\"]\n", 2, "invalid address"},
      {"bad address port range", "[listen]\nimaps = [\"127.0.0.1:65536\"]\n", 2, "invalid address"},
      {"bad address v6 unbracketed", "[listen]\nimap = [\"::1:143\"]\n", 2, "invalid address"},
      {"bad address hostname", "[listen]\nsmtp = [\"localhost:25\"]\n", 2, "invalid address"},
      {"bad address on later line", "[listen]\nimap = [\n  \"127.0.0.1:143\",\n  \"1.2.3.4:x\"]\n", 4, "\"1.2.3.4:x\""},
      {"bad network", "[auth]\ntrusted_networks = [\"10.0.0.0/33\"]\n", 2, "invalid network"},
      {"out of range", "[limits]\nmax_line_length = 10\n", 2, "out of range 1000.."},
      {"negative", "[limits]\nmax_connections = -1\n", 2, "out of range"},
      {"zero failures", "[auth]\nmax_failures_per_ip = 0\n", 2, "out of range"},
      {"bad log level", "[server]\nlog_level = \"verbose\"\n", 2, "expected one of \"debug\""},
      {"bad scheduling", "[server]\nscheduling = \"fifo\"\n", 2, "expected one of \"batch\""},
      {"bad tls version", "[tls]\nmin_version = \"1.0\"\n", 2, "invalid value \"1.0\""},
      {"empty data dir", "[server]\ndata_dir = \"\"\n", 2, "must not be empty"},
      {"section as value", "[server]\nhostname = \"a\"\n[listen.imap]\nx = 1\n", 3, "expected an array of strings, got a table"},
      {"syntax error", "[server]\nhostname = \"unterminated\n", 2, ""},
      {"duplicate key", "[server]\nworkers = 1\nworkers = 2\n", 3, ""},
      // Invalid TOML that made toml++ 3.3 reach __builtin_unreachable (fuzz_config).
      {"non-ASCII after a value", "[server]\nworkers = 1\xc3\xa9\n", 2, "non-ASCII text is only allowed in comments"},
      {"non-ASCII in a string", "[server]\ndata_dir = \"/srv/caf\xc3\xa9\"\n", 2, "non-ASCII"},
      {"non-ASCII after line-ending backslash", "[server]\nuser = \"\"\"a\\\n\xc3\xa9\"\"\"\n", 3, "non-ASCII"},
      {"number running into a string", "[server]\nworkers = 07'\xef\xba\xbf'\n", 2, "non-ASCII"},
      {"non-ASCII key", "# caf\xc3\xa9\n[server]\n\xc3\xa9 = 1\n", 3, "non-ASCII"},
      {"non-ASCII after multi-line string", "[server]\nuser = \"\"\"a\n\"\"\"\xe3\x80\x81\n", 3, "non-ASCII"},
  };
  for (const auto& c : cases) {
    std::string path;
    auto r = load(c.text, &path);
    ASSERT_FALSE(r.ok()) << c.name;
    const std::string prefix = path + ":" + std::to_string(c.line) + ": ";
    EXPECT_EQ(r.error().rfind(prefix, 0), 0u) << c.name << ": " << r.error();
    EXPECT_NE(r.error().find(c.words), std::string::npos) << c.name << ": " << r.error();
    EXPECT_EQ(r.error().find('\n'), std::string::npos) << c.name << ": one line";
  }
}

TEST(ConfigTest, CrossFieldChecks) {
  auto r = load("[limits]\nmax_connections = 10\nmax_connections_per_ip = 11\n");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().find("max_connections_per_ip"), std::string::npos);
  auto t = load("[tls]\ncert = \"/c.pem\"\n");
  ASSERT_FALSE(t.ok());
  EXPECT_NE(t.error().find("together"), std::string::npos);
}

TEST(ConfigTest, MissingFile) {
  auto r = loadConfig("/nonexistent/tern.toml");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().rfind("/nonexistent/tern.toml: ", 0), 0u) << r.error();
}

TEST(ConfigTest, ListenAddressParsing) {
  struct Case {
    const char* text;
    bool ok;
    const char* host;
    uint16_t port;
  };
  const Case cases[] = {
      {"127.0.0.1:1143", true, "127.0.0.1", 1143}, {"0.0.0.0:25", true, "0.0.0.0", 25},
      {"[::]:993", true, "::", 993},               {"[::1]:65535", true, "::1", 65535},
      {"127.0.0.1:0", false, "", 0},               {"127.0.0.1:", false, "", 0},
      {":143", false, "", 0},                      {"[::1]143", false, "", 0},
      {"[]:143", false, "", 0},                    {"256.0.0.1:143", false, "", 0},
      {"127.0.0.1:+143", false, "", 0},            {"example.com:25", false, "", 0},
  };
  for (const auto& c : cases) {
    auto a = parseListenAddress(c.text);
    ASSERT_EQ(a.has_value(), c.ok) << c.text;
    if (!c.ok) continue;
    EXPECT_EQ(a->host, c.host) << c.text;
    EXPECT_EQ(a->port, c.port) << c.text;
  }
  EXPECT_TRUE(isValidNetwork("0.0.0.0/0"));
  EXPECT_TRUE(isValidNetwork("::/0"));
  EXPECT_TRUE(isValidNetwork("fe80::/10"));
  EXPECT_FALSE(isValidNetwork("::/129"));
  EXPECT_FALSE(isValidNetwork("10.0.0.0/"));
  EXPECT_FALSE(isValidNetwork("10.0.0/8"));
}

}  // namespace
TEST(ConfigTest, SmtpLimits) {
  using namespace std::chrono_literals;
  auto c = load("[limits]\nsmtp_max_recipients = 5\nsmtp_max_line_length = 1000\nsmtp_command_timeout = 60\n"
                "smtp_data_timeout = 120\nsmtp_max_errors = 3\nsmtp_max_messages_per_connection = 7\n");
  ASSERT_TRUE(c.ok()) << c.error();
  EXPECT_EQ(c->smtpMaxRecipients, 5u);
  EXPECT_EQ(c->smtpMaxLineLength, 1000u);
  EXPECT_EQ(c->smtpCommandTimeout, 60s);
  EXPECT_EQ(c->smtpDataTimeout, 120s);
  EXPECT_EQ(c->smtpMaxErrors, 3u);
  EXPECT_EQ(c->smtpMaxMessagesPerConnection, 7u);
  // RFC 5321 4.5.3.1.4 needs 512 octets per command line; smaller is refused.
  EXPECT_FALSE(load("[limits]\nsmtp_max_line_length = 100\n").ok());
  EXPECT_FALSE(load("[limits]\nsmtp_max_recipients = 0\n").ok());
  // RFC 5321 4.5.3.1.8: at least 100 recipients must be accepted by default.
  EXPECT_GE(Config{}.smtpMaxRecipients, 100u);
}

TEST(ConfigTest, NonAsciiInCommentsAndEscapesIsFine) {
  auto r = loadConfigFromString(
      "# caf\xc3\xa9\n[server]\nhostname = \"a\" # na\xc3\xafve \"\n"
      "data_dir = \"/srv/caf\\u00e9 # \\\" x\"\nuser = '''\nb#''' # \xc3\xa9\n",
      "mem.toml");
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(r->dataDir, "/srv/caf\xc3\xa9 # \" x");
  EXPECT_EQ(r->user, "b#");
  EXPECT_EQ(r->path, "mem.toml");
}


TEST(ConfigTest, OutboundDeliverySections) {
  using namespace std::chrono_literals;
  auto c = load(
      "[queue]\nenabled = false\nretry_schedule = [60, 600]\ndelay_warning = 3600\nmax_lifetime = 86400\n"
      "max_deliveries = 10\nmax_deliveries_per_domain = 2\nsmtp_port = 2525\ntls = \"verified\"\n"
      "[dns]\nresolvers = [\"127.0.0.1@5353\", \"::1\", \"192.0.2.1\"]\ntimeout = 5\n"
      "[relay]\nhost = \"smtp.provider.example\"\nport = 465\nusername = \"u@p.example\"\npassword = \"pw\"\n"
      "tls = \"implicit\"\n"
      "[routes]\n\"Partner.Example\" = \"mx.partner.example:2525\"\n\"v6.example\" = \"[2001:db8::1]:25\"\n"
      "[dkim]\nselector = \"s2026\"\n");
  ASSERT_TRUE(c.ok()) << c.error();
  EXPECT_FALSE(c->queueEnabled);
  EXPECT_EQ(c->retrySchedule, (std::vector<std::chrono::seconds>{60s, 600s}));
  EXPECT_EQ(c->delayWarning, 3600s);
  EXPECT_EQ(c->maxQueueLifetime, 86400s);
  EXPECT_EQ(c->maxDeliveries, 10u);
  EXPECT_EQ(c->maxDeliveriesPerDomain, 2u);
  EXPECT_EQ(c->smtpPort, 2525);
  EXPECT_EQ(c->outboundTls, "verified");
  EXPECT_EQ(c->dnsResolvers.size(), 3u);
  EXPECT_EQ(c->relayHost, "smtp.provider.example");
  EXPECT_EQ(c->relayPort, 465);
  EXPECT_EQ(c->relayTls, "implicit");
  ASSERT_EQ(c->routes.size(), 2u);
  EXPECT_EQ(c->routes[0].first, "partner.example");  // domains are matched in lower case
  EXPECT_EQ(c->routes[0].second, "mx.partner.example:2525");
  EXPECT_EQ(c->dkimSelector, "s2026");
  EXPECT_EQ(c->dkimKeyDir(), c->dataDir + "/dkim");

  // Defaults: delivery on, RFC-style back-off, 4 h warning, 5 days lifetime, port 25.
  Config d;
  EXPECT_TRUE(d.queueEnabled);
  EXPECT_EQ(d.retrySchedule.front(), 120s);
  EXPECT_EQ(d.delayWarning, 4h);
  EXPECT_EQ(d.maxQueueLifetime, 120h);
  EXPECT_EQ(d.smtpPort, 25);

  const char* bad[] = {
      "[queue]\nretry_schedule = []\n",
      "[queue]\nretry_schedule = [0]\n",
      "[queue]\ntls = \"sometimes\"\n",
      "[queue]\nmax_deliveries = 2\nmax_deliveries_per_domain = 3\n",
      "[dns]\nresolvers = [\"dns.example\"]\n",
      "[dns]\nresolvers = [\"127.0.0.1@99999\"]\n",
      "[relay]\nusername = \"u\"\n",
      "[relay]\ntls = \"maybe\"\n",
      "[routes]\n\"example.com\" = \"mx.example.com\"\n",
      "[routes]\n\"bad domain\" = \"mx.example.com:25\"\n",
      "[routes]\n\"example.com\" = 25\n",
      "[dkim]\nselector = \"a.b\"\n",
  };
  for (const char* text : bad) EXPECT_FALSE(load(text).ok()) << text;
}

}  // namespace tern::app
