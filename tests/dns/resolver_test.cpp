// Tests of the libunbound resolver against a real unbound daemon on a free loopback port, serving
// fixed records from local-data (no traffic leaves loopback; every wait is bounded). Skipped when
// /usr/sbin/unbound is not installed.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include "dns/resolver.h"

extern char** environ;

namespace tern::dns {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

constexpr const char* kUnbound = "/usr/sbin/unbound";

// A socket bound to a free loopback port; closing it gives the port back (used both to pick ports
// and, kept open and never read, as a server that does not answer).
class LoopbackSocket {
 public:
  LoopbackSocket(int type) : fd_(::socket(AF_INET, type, 0)) {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd_ >= 0 && ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0) {
      socklen_t len = sizeof(addr);
      if (::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) == 0) port_ = ntohs(addr.sin_port);
    }
  }
  // Binds the same port for a second protocol (a TCP listener beside a UDP socket).
  LoopbackSocket(int type, uint16_t port) : fd_(::socket(AF_INET, type, 0)) {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(port);
    if (fd_ >= 0 && ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0) port_ = port;
  }
  ~LoopbackSocket() {
    if (fd_ >= 0) ::close(fd_);
  }
  LoopbackSocket(const LoopbackSocket&) = delete;
  LoopbackSocket& operator=(const LoopbackSocket&) = delete;
  int fd() const { return fd_; }
  uint16_t port() const { return port_; }

 private:
  int fd_;
  uint16_t port_ = 0;
};

// One DNS query over UDP, hand-built: true when any response with our ID arrives within `wait`.
bool answersQuery(uint16_t port, std::chrono::milliseconds wait) {
  LoopbackSocket sock(SOCK_DGRAM);
  if (sock.fd() < 0) return false;
  const uint8_t query[] = {0x7e, 0x57, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0,  // ID, RD, 1 question
                           5, 'r', 'e', 'a', 'd', 'y', 4, 't', 'e', 's', 't', 0, 0, 1, 0, 1};
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  to.sin_port = htons(port);
  timeval tv{0, static_cast<suseconds_t>(wait.count() * 1000)};
  ::setsockopt(sock.fd(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  if (::sendto(sock.fd(), query, sizeof(query), 0, reinterpret_cast<sockaddr*>(&to), sizeof(to)) < 0)
    return false;
  uint8_t reply[512];
  ssize_t n = ::recv(sock.fd(), reply, sizeof(reply), 0);
  return n >= 12 && reply[0] == 0x7e && reply[1] == 0x57;
}

// A real unbound daemon serving `records` (local-data lines) under a static root zone, so every name
// not listed is NXDOMAIN and nothing is ever recursed to the internet.
class UnboundServer {
 public:
  ~UnboundServer() { stop(); }

  bool start(const std::vector<std::string>& records, const std::vector<std::string>& zones,
             std::string& error) {
    char tmpl[] = "/tmp/tern-dns-test-XXXXXX";
    if (::mkdtemp(tmpl) == nullptr) {
      error = "mkdtemp failed";
      return false;
    }
    dir_ = tmpl;
    for (int attempt = 0; attempt < 3; ++attempt) {  // a free port may be taken before unbound binds it
      {
        LoopbackSocket probe(SOCK_DGRAM);
        port_ = probe.port();
      }
      writeConfig(records, zones);
      if (spawn(error) && waitReady(error)) return true;
      stop();
    }
    return false;
  }

  void stop() {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      auto deadline = Clock::now() + 5s;
      while (::waitpid(pid_, nullptr, WNOHANG) == 0) {
        if (Clock::now() > deadline) {
          ::kill(pid_, SIGKILL);
          ::waitpid(pid_, nullptr, 0);
          break;
        }
        std::this_thread::sleep_for(10ms);
      }
      pid_ = -1;
    }
  }

  void removeDir() {
    std::error_code ec;
    if (!dir_.empty()) std::filesystem::remove_all(dir_, ec);
  }

  std::string address() const { return "127.0.0.1@" + std::to_string(port_); }
  std::string log() const {
    std::ifstream in(dir_ + "/unbound.log");
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }

 private:
  void writeConfig(const std::vector<std::string>& records, const std::vector<std::string>& zones) {
    std::ofstream conf(dir_ + "/unbound.conf", std::ios::trunc);
    conf << "server:\n"
         << "  verbosity: 1\n"
         << "  interface: 127.0.0.1@" << port_ << "\n"
         << "  port: " << port_ << "\n"
         << "  do-ip6: no\n"
         << "  do-daemonize: no\n"
         << "  username: \"\"\n"
         << "  chroot: \"\"\n"
         << "  directory: \"" << dir_ << "\"\n"
         << "  pidfile: \"" << dir_ << "/unbound.pid\"\n"
         << "  use-syslog: no\n"
         << "  logfile: \"" << dir_ << "/unbound.log\"\n"
         << "  access-control: 127.0.0.0/8 allow\n"
         << "  do-not-query-localhost: no\n"
         << "  module-config: \"iterator\"\n"
         << "  num-threads: 1\n"
         << "  outgoing-range: 32\n"
         << "  so-reuseport: no\n"
         << "  local-zone: \".\" static\n"
         // SOA minimum 0: negative answers are not cached by the resolver under test.
         << "  local-data: \". 0 IN SOA ns.invalid. hostmaster.invalid. 1 3600 600 86400 0\"\n";
    for (const auto& z : zones) conf << "  local-zone: " << z << "\n";
    for (const auto& r : records) conf << "  local-data: \"" << r << "\"\n";
    conf << "remote-control:\n  control-enable: no\n";
  }

  bool spawn(std::string& error) {
    std::string conf = dir_ + "/unbound.conf";
    std::string out = dir_ + "/unbound.out";
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, out.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
    posix_spawn_file_actions_adddup2(&actions, 1, 2);
    std::vector<char*> argv = {const_cast<char*>(kUnbound), const_cast<char*>("-d"), const_cast<char*>("-c"),
                               conf.data(), nullptr};
    int rc = posix_spawn(&pid_, kUnbound, &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0) {
      pid_ = -1;
      error = "posix_spawn failed: " + std::to_string(rc);
      return false;
    }
    return true;
  }

  bool waitReady(std::string& error) {
    auto deadline = Clock::now() + 10s;
    while (Clock::now() < deadline) {
      if (::waitpid(pid_, nullptr, WNOHANG) == pid_) {
        pid_ = -1;
        error = "unbound exited: " + log();
        return false;
      }
      if (answersQuery(port_, 200ms)) return true;
    }
    error = "unbound did not answer within 10 s: " + log();
    return false;
  }

  std::string dir_;
  uint16_t port_ = 0;
  pid_t pid_ = -1;
};

std::vector<std::string> testRecords() {
  std::vector<std::string> r = {
      // Sorted by preference; B.MX.Test arrives in upper case.
      "mx.test. 0 IN MX 20 c.mx.test.",
      "mx.test. 0 IN MX 10 a.mx.test.",
      "mx.test. 0 IN MX 30 d.mx.test.",
      "mx.test. 0 IN MX 15 B.MX.Test.",
      "a.mx.test. 0 IN A 192.0.2.10",
      // Two hosts of equal preference behind a better one.
      "shuffle.test. 0 IN MX 5 first.shuffle.test.",
      "shuffle.test. 0 IN MX 10 one.shuffle.test.",
      "shuffle.test. 0 IN MX 10 two.shuffle.test.",
      // No MX: the domain itself, through one address family each.
      "aonly.test. 0 IN A 192.0.2.1",
      "aaaaonly.test. 0 IN AAAA 2001:db8::1",
      // The name exists but has neither MX nor addresses.
      "nodata.test. 0 IN TXT \\\"no mail here\\\"",
      "nullmx.test. 0 IN MX 0 .",
      // A null MX among other MX records is not RFC 7505's signal; the real host is used.
      "nullplus.test. 0 IN MX 0 .",
      "nullplus.test. 0 IN MX 10 mx.nullplus.test.",
      "both.test. 0 IN A 192.0.2.1",
      "both.test. 0 IN A 192.0.2.2",
      "both.test. 0 IN AAAA 2001:db8::1",
      "both.test. 0 IN AAAA 2001:db8::2",
      // An MX whose host has no address records is still listed.
      "noaddr.test. 0 IN MX 10 nowhere.noaddr.test.",
      // Invalid exchange names are skipped.
      "badmx.test. 0 IN MX 10 bad_name.badmx.test.",
      "badmx.test. 0 IN MX 20 good.badmx.test.",
      "badmx.test. 0 IN MX 30 192.0.2.7.",
      "onlybad.test. 0 IN MX 10 under_score.test.",
      "dup.test. 0 IN MX 10 mx.dup.test.",
      "dup.test. 0 IN MX 20 MX.dup.test.",
      "alias.test. 0 IN CNAME mx.test.",
  };
  for (int i = 0; i < 40; ++i) {
    r.push_back("many.test. 0 IN MX " + std::to_string(100 - i) + " h" + std::to_string(i) + ".many.test.");
    r.push_back("manyaddr.test. 0 IN A 198.51.100." + std::to_string(i + 1));
    r.push_back("manyaddr.test. 0 IN AAAA 2001:db8::" + std::to_string(i + 1));
  }
  for (int i = 0; i < 20; ++i) r.push_back("many4.test. 0 IN A 203.0.113." + std::to_string(i + 1));
  return r;
}

class ResolverTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (::access(kUnbound, X_OK) != 0) return;
    server_ = new UnboundServer();
    if (!server_->start(testRecords(), {"\"refused.test.\" always_refuse"}, startError_)) {
      delete server_;
      server_ = nullptr;
    }
  }
  static void TearDownTestSuite() {
    if (server_) {
      server_->stop();
      server_->removeDir();
    }
    delete server_;
    server_ = nullptr;
  }

  void SetUp() override {
    if (::access(kUnbound, X_OK) != 0) GTEST_SKIP() << kUnbound << " is not installed";
    ASSERT_NE(server_, nullptr) << "could not start unbound: " << startError_;
    resolver_ = make(server_->address(), 5s);
    ASSERT_NE(resolver_, nullptr);
  }

  static std::unique_ptr<Resolver> make(const std::string& server, std::chrono::milliseconds timeout,
                                        std::size_t concurrent = 4) {
    ResolverSettings settings;
    settings.servers = {server};
    settings.timeout = timeout;
    settings.maxConcurrent = concurrent;
    auto r = createResolver(settings);
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error());
    return r.ok() ? std::move(r.value()) : nullptr;
  }

  static std::vector<std::string> hostNames(const MxResult& r) {
    std::vector<std::string> out;
    for (const auto& h : r.hosts) out.push_back(h.host);
    return out;
  }

  static inline UnboundServer* server_ = nullptr;
  static inline std::string startError_;
  std::unique_ptr<Resolver> resolver_;
};

TEST_F(ResolverTest, MxSortedByPreferenceAndLowerCased) {
  auto r = resolver_->resolveMx("mx.test");
  ASSERT_EQ(r.status, Status::Ok) << r.error;
  EXPECT_EQ(hostNames(r), (std::vector<std::string>{"a.mx.test", "b.mx.test", "c.mx.test", "d.mx.test"}));
  std::vector<uint16_t> prefs;
  for (const auto& h : r.hosts) prefs.push_back(h.preference);
  EXPECT_EQ(prefs, (std::vector<uint16_t>{10, 15, 20, 30}));
}

TEST_F(ResolverTest, DomainIsCaseInsensitiveAndMayEndWithDot) {
  auto r = resolver_->resolveMx("MX.Test.");
  ASSERT_EQ(r.status, Status::Ok) << r.error;
  EXPECT_EQ(r.hosts.size(), 4u);
}

TEST_F(ResolverTest, MxFollowsCname) {
  auto r = resolver_->resolveMx("alias.test");
  ASSERT_EQ(r.status, Status::Ok) << r.error;
  EXPECT_EQ(hostNames(r), (std::vector<std::string>{"a.mx.test", "b.mx.test", "c.mx.test", "d.mx.test"}));
}

TEST_F(ResolverTest, EqualPreferencesAreShuffled) {
  // RFC 5321 5.1: random order among equal preferences. Each order has probability 1/2 per lookup,
  // so missing one in 200 lookups has probability 2^-199.
  std::set<std::vector<std::string>> orders;
  for (int i = 0; i < 200 && orders.size() < 2; ++i) {
    auto r = resolver_->resolveMx("shuffle.test");
    ASSERT_EQ(r.status, Status::Ok) << r.error;
    ASSERT_EQ(r.hosts.size(), 3u);
    EXPECT_EQ(r.hosts[0].host, "first.shuffle.test");  // preference 5 always leads
    orders.insert(hostNames(r));
  }
  EXPECT_EQ(orders.size(), 2u);
}

TEST_F(ResolverTest, ImplicitMxFromAddressRecords) {
  // RFC 5321 5.1: no MX, but an address: the domain itself, preference 0.
  for (const char* domain : {"aonly.test", "aaaaonly.test"}) {
    auto r = resolver_->resolveMx(domain);
    ASSERT_EQ(r.status, Status::Ok) << domain << ": " << r.error;
    ASSERT_EQ(r.hosts.size(), 1u) << domain;
    EXPECT_EQ(r.hosts[0].host, domain);
    EXPECT_EQ(r.hosts[0].preference, 0);
  }
}

TEST_F(ResolverTest, NxDomainIsNotFound) {
  auto r = resolver_->resolveMx("missing.test");
  EXPECT_EQ(r.status, Status::NotFound);
  EXPECT_TRUE(r.hosts.empty());
  EXPECT_NE(r.error.find("NXDOMAIN"), std::string::npos) << r.error;
}

TEST_F(ResolverTest, NoDataWithoutAddressesIsNotFound) {
  auto r = resolver_->resolveMx("nodata.test");
  EXPECT_EQ(r.status, Status::NotFound) << r.error;
  EXPECT_TRUE(r.hosts.empty());
}

TEST_F(ResolverTest, NullMx) {
  auto r = resolver_->resolveMx("nullmx.test");
  EXPECT_EQ(r.status, Status::NullMx) << r.error;
  EXPECT_TRUE(r.hosts.empty());
}

TEST_F(ResolverTest, NullMxBesideOtherMxIsIgnored) {
  auto r = resolver_->resolveMx("nullplus.test");
  ASSERT_EQ(r.status, Status::Ok) << r.error;
  EXPECT_EQ(hostNames(r), (std::vector<std::string>{"mx.nullplus.test"}));
}

TEST_F(ResolverTest, MxHostWithoutAddressesIsStillListed) {
  auto r = resolver_->resolveMx("noaddr.test");
  ASSERT_EQ(r.status, Status::Ok) << r.error;
  EXPECT_EQ(hostNames(r), (std::vector<std::string>{"nowhere.noaddr.test"}));
  EXPECT_EQ(resolver_->resolveAddresses("nowhere.noaddr.test").status, Status::NotFound);
}

TEST_F(ResolverTest, InvalidMxTargetsAreSkipped) {
  auto r = resolver_->resolveMx("badmx.test");
  ASSERT_EQ(r.status, Status::Ok) << r.error;
  EXPECT_EQ(hostNames(r), (std::vector<std::string>{"good.badmx.test"}));

  auto none = resolver_->resolveMx("onlybad.test");
  EXPECT_EQ(none.status, Status::NotFound);  // MX exists, so no fallback to the domain's address
  EXPECT_TRUE(none.hosts.empty());
}

TEST_F(ResolverTest, DuplicateMxHostKeepsBestPreference) {
  auto r = resolver_->resolveMx("dup.test");
  ASSERT_EQ(r.status, Status::Ok) << r.error;
  ASSERT_EQ(r.hosts.size(), 1u);
  EXPECT_EQ(r.hosts[0].host, "mx.dup.test");
  EXPECT_EQ(r.hosts[0].preference, 10);
}

TEST_F(ResolverTest, AtMost32MxHosts) {
  auto r = resolver_->resolveMx("many.test");
  ASSERT_EQ(r.status, Status::Ok) << r.error;
  ASSERT_EQ(r.hosts.size(), 32u);
  // Preferences 61..100 exist (h39 has 61); the 32 best are 61..92, in order.
  for (std::size_t i = 0; i < r.hosts.size(); ++i) {
    EXPECT_EQ(r.hosts[i].preference, 61 + i);
    EXPECT_EQ(r.hosts[i].host, "h" + std::to_string(39 - i) + ".many.test");
  }
}

TEST_F(ResolverTest, InvalidDomainsAreNotFoundWithoutQuery) {
  for (const char* bad : {"", "under_score.test", "-x.test", "a..test", "192.0.2.1", "[192.0.2.1]",
                          "sp ace.test"}) {
    auto r = resolver_->resolveMx(bad);
    EXPECT_EQ(r.status, Status::NotFound) << bad;
    EXPECT_FALSE(r.error.empty()) << bad;
    auto a = resolver_->resolveAddresses(std::string(bad) == "192.0.2.1" || std::string(bad) == "[192.0.2.1]"
                                             ? "bad..name"
                                             : bad);
    EXPECT_EQ(a.status, Status::NotFound) << bad;
  }
  std::string tooLong;
  for (int i = 0; i < 26; ++i) tooLong += "abcdefghi.";  // 260 characters
  EXPECT_EQ(resolver_->resolveMx(tooLong + "test").status, Status::NotFound);
}

TEST_F(ResolverTest, AddressesIpv6First) {
  auto r = resolver_->resolveAddresses("both.test");
  ASSERT_EQ(r.status, Status::Ok) << r.error;
  ASSERT_EQ(r.addresses.size(), 4u);
  std::set<std::string> v6(r.addresses.begin(), r.addresses.begin() + 2);
  std::set<std::string> v4(r.addresses.begin() + 2, r.addresses.end());
  EXPECT_EQ(v6, (std::set<std::string>{"2001:db8::1", "2001:db8::2"}));
  EXPECT_EQ(v4, (std::set<std::string>{"192.0.2.1", "192.0.2.2"}));
}

TEST_F(ResolverTest, SingleFamilyAddresses) {
  auto a = resolver_->resolveAddresses("aonly.test");
  ASSERT_EQ(a.status, Status::Ok) << a.error;
  EXPECT_EQ(a.addresses, (std::vector<std::string>{"192.0.2.1"}));
  auto aaaa = resolver_->resolveAddresses("AAAAonly.test.");
  ASSERT_EQ(aaaa.status, Status::Ok) << aaaa.error;
  EXPECT_EQ(aaaa.addresses, (std::vector<std::string>{"2001:db8::1"}));
}

TEST_F(ResolverTest, AtMost16AddressesFromBothFamilies) {
  auto r = resolver_->resolveAddresses("manyaddr.test");
  ASSERT_EQ(r.status, Status::Ok) << r.error;
  ASSERT_EQ(r.addresses.size(), 16u);
  auto isV6 = [](const std::string& a) { return a.find(':') != std::string::npos; };
  EXPECT_TRUE(std::is_partitioned(r.addresses.begin(), r.addresses.end(), isV6));
  EXPECT_EQ(std::count_if(r.addresses.begin(), r.addresses.end(), isV6), 8);

  auto v4 = resolver_->resolveAddresses("many4.test");
  ASSERT_EQ(v4.status, Status::Ok) << v4.error;
  EXPECT_EQ(v4.addresses.size(), 16u);
}

TEST_F(ResolverTest, AddressStatuses) {
  auto nx = resolver_->resolveAddresses("missing.test");
  EXPECT_EQ(nx.status, Status::NotFound);
  EXPECT_TRUE(nx.addresses.empty());
  auto nodata = resolver_->resolveAddresses("nodata.test");
  EXPECT_EQ(nodata.status, Status::NotFound);
  auto refused = resolver_->resolveAddresses("host.refused.test");
  EXPECT_EQ(refused.status, Status::TempFail) << refused.error;
}

TEST_F(ResolverTest, RefusedIsTempFail) {
  auto r = resolver_->resolveMx("refused.test");
  EXPECT_EQ(r.status, Status::TempFail) << r.error;
  EXPECT_FALSE(r.error.empty());
}

TEST_F(ResolverTest, IpLiteralsNeedNoQuery) {
  struct Case {
    const char* in;
    const char* out;
  };
  for (auto c : {Case{"192.0.2.33", "192.0.2.33"}, Case{"[192.0.2.33]", "192.0.2.33"},
                 Case{"2001:DB8::0:1", "2001:db8::1"}, Case{"[IPv6:2001:db8::1]", "2001:db8::1"}}) {
    auto r = resolver_->resolveAddresses(c.in);
    ASSERT_EQ(r.status, Status::Ok) << c.in;
    EXPECT_EQ(r.addresses, (std::vector<std::string>{c.out})) << c.in;
  }
}

TEST_F(ResolverTest, ConcurrentLookupsShareFewContexts) {
  auto resolver = make(server_->address(), 5s, 2);
  ASSERT_NE(resolver, nullptr);
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 6; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 15; ++i) {
        if (t % 2 == 0) {
          auto r = resolver->resolveMx("mx.test");
          if (r.status != Status::Ok || r.hosts.size() != 4 || r.hosts[0].host != "a.mx.test") ++wrong;
        } else {
          auto r = resolver->resolveAddresses("aonly.test");
          if (r.status != Status::Ok || r.addresses != std::vector<std::string>{"192.0.2.1"}) ++wrong;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(wrong.load(), 0);
}

// Servers that never answer: the lookup ends as TempFail at the deadline, not at libunbound's own
// (much longer) retry schedule.
TEST_F(ResolverTest, SilentServerTimesOut) {
  LoopbackSocket udp(SOCK_DGRAM);  // bound, never read
  LoopbackSocket tcp(SOCK_STREAM, udp.port());
  ASSERT_NE(udp.port(), 0);
  if (tcp.port() != 0) ::listen(tcp.fd(), 8);  // connections complete but are never served
  auto start = Clock::now();
  {
    auto resolver = make("127.0.0.1@" + std::to_string(udp.port()), 1s);
    ASSERT_NE(resolver, nullptr);
    auto mx = resolver->resolveMx("mx.test");
    auto elapsed = Clock::now() - start;
    EXPECT_EQ(mx.status, Status::TempFail);
    EXPECT_NE(mx.error.find("timeout"), std::string::npos) << mx.error;
    EXPECT_GE(elapsed, 900ms);
    EXPECT_LT(elapsed, 2500ms);

    auto before = Clock::now();
    auto a = resolver->resolveAddresses("host.test");
    EXPECT_EQ(a.status, Status::TempFail);
    EXPECT_LT(Clock::now() - before, 2500ms);
  }
  EXPECT_LT(Clock::now() - start, 6s) << "destroying the resolver must not wait for the lost queries";
}

TEST_F(ResolverTest, ClosedPortIsTempFail) {
  uint16_t port;
  {
    LoopbackSocket probe(SOCK_DGRAM);
    port = probe.port();
  }
  auto start = Clock::now();
  auto resolver = make("127.0.0.1:" + std::to_string(port), 1s);
  ASSERT_NE(resolver, nullptr);
  auto r = resolver->resolveMx("mx.test");
  EXPECT_EQ(r.status, Status::TempFail) << r.error;
  EXPECT_LT(Clock::now() - start, 2500ms);
}

TEST(CreateResolver, RejectsBadSettings) {
  for (const char* bad : {"dns.example", "127.0.0.1@0", "[::1", "127.0.0.1:99999", ""}) {
    ResolverSettings settings;
    settings.servers = {bad};
    auto r = createResolver(settings);
    EXPECT_FALSE(r.ok()) << bad;
  }
  ResolverSettings zero;
  zero.servers = {"127.0.0.1"};
  zero.timeout = std::chrono::milliseconds(0);
  EXPECT_FALSE(createResolver(zero).ok());
}

TEST(CreateResolver, AcceptsServerNotations) {
  ResolverSettings settings;
  settings.servers = {"127.0.0.1", "127.0.0.1@5353", "127.0.0.1:5353", "::1", "::1@53", "[::1]:5353"};
  auto r = createResolver(settings);
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error());
}

TEST(StatusName, Names) {
  EXPECT_EQ(statusName(Status::Ok), "ok");
  EXPECT_EQ(statusName(Status::NotFound), "not-found");
  EXPECT_EQ(statusName(Status::NullMx), "null-mx");
  EXPECT_EQ(statusName(Status::TempFail), "temp-fail");
}

}  // namespace
}  // namespace tern::dns
