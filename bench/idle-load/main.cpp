// idle-load: opens N concurrent IMAP IDLE sessions (TLS by default) spread over U users, measures the
// server's memory per session, then APPENDs one message to each user's INBOX from separate
// connections and measures how long until every session has seen its EXISTS. Loopback server only;
// every wait is bounded (--timeout per operation, --deliver-timeout for the fan-out).
#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <memory>
#include <string>
#include <unordered_set>
#include <vector>

#include "../common/imap_conn.h"
#include "../common/options.h"
#include "../common/procstat.h"
#include "../common/samples.h"
#include "../common/stats.h"

namespace tern::bench {
namespace {

const char* kUsage =
    "usage: idle-load --port N [--host 127.0.0.1] [--security tls|starttls|plain]\n"
    "  --sessions 10000 --users 100 --connect-concurrency 100 --settle 5 --deliver-timeout 10\n"
    "  --deliver-port N (default --port) --deliver-security (default --security)\n"
    "  --user-format bench%d@example.test --password bench-Secret-1 --timeout 30 --pid PID[,PID]\n";

struct Config {
  std::string host = "127.0.0.1";
  int port = 0, deliverPort = 0;
  Security security = Security::Tls, deliverSecurity = Security::Tls;
  int sessions = 10000;
  int users = 100;
  int concurrency = 100;
  double settle = 5;
  double deliverTimeout = 10;
  std::string userFormat = "bench%d@example.test";
  std::string password = "bench-Secret-1";
  std::chrono::milliseconds timeout{30000};
  std::vector<int> pids;
};

struct Session {
  std::unique_ptr<ImapConn> conn;
  int64_t known = -1;
  double arrival = -1;  // seconds after delivery start
};

struct Run {
  Config cfg;
  asio::io_context io{1};
  std::shared_ptr<asio::ssl::context> tls = clientTlsContext();
  std::unordered_set<ImapConn*> conns;
  std::vector<Session> sessions;
  std::vector<std::unique_ptr<ImapConn>> parked;
  int next = 0, idling = 0, failed = 0, openersLeft = 0, arrived = 0;
  int appendsDone = 0, appendsFailed = 0;
  bool delivering = false;
  Clock::time_point deliverStart;
  double lastAppend = 0;
  std::string firstError;

  std::string user(int i) {
    char buf[256];
    std::snprintf(buf, sizeof buf, cfg.userFormat.c_str(), i);
    return buf;
  }
  std::unique_ptr<ImapConn> newConn(size_t buffer) {
    auto c = std::make_unique<ImapConn>(io.get_executor(), *tls, buffer);
    conns.insert(c.get());
    return c;
  }
  void drop(std::unique_ptr<ImapConn>& c) {
    if (!c) return;
    c->close();
    conns.erase(c.get());
    c.reset();
  }
  void fail(const std::string& why) {
    ++failed;
    if (firstError.empty()) firstError = why;
  }
};

asio::awaitable<void> sleepFor(asio::io_context& io, std::chrono::milliseconds d) {
  asio::steady_timer t(io);
  t.expires_after(d);
  [[maybe_unused]] auto [ec] = co_await t.async_wait(kTok);
}

asio::awaitable<void> waitForExists(Run& r, int idx) {
  Session& s = r.sessions[size_t(idx)];
  int64_t n = co_await s.conn->waitExists(s.known);
  if (n > s.known && r.delivering) {
    s.arrival = since(r.deliverStart);
    ++r.arrived;
  }
}

asio::awaitable<void> opener(Run& r) {
  tcp::endpoint ep(asio::ip::make_address(r.cfg.host), uint16_t(r.cfg.port));
  for (int guard = 0; guard < 10000000 && r.next < r.cfg.sessions; ++guard) {
    int idx = r.next++;
    Session& s = r.sessions[size_t(idx)];
    s.conn = r.newConn(2048);
    s.conn->setDeadline(Clock::now() + r.cfg.timeout);
    bool ok = co_await s.conn->connect(ep, r.cfg.security);
    if (!ok) {
      r.fail("connect/TLS/greeting failed");
      r.drop(s.conn);
      continue;
    }
    Reply rep = co_await s.conn->command("LOGIN " + quoted(r.user(1 + idx % r.cfg.users)) + " " + quoted(r.cfg.password));
    if (!rep.ok) {
      r.fail("LOGIN: " + rep.tagged);
      r.drop(s.conn);
      continue;
    }
    rep = co_await s.conn->command("SELECT INBOX");
    if (!rep.ok || rep.exists < 0) {
      r.fail("SELECT: " + rep.tagged);
      r.drop(s.conn);
      continue;
    }
    s.known = rep.exists;
    bool idle = co_await s.conn->startIdle();
    if (!idle) {
      r.fail("IDLE refused or connection lost");
      r.drop(s.conn);
      continue;
    }
    s.conn->clearDeadline();
    ++r.idling;
    asio::co_spawn(r.io, waitForExists(r, idx), asio::detached);
  }
  --r.openersLeft;
}

asio::awaitable<void> deliverOne(Run& r, ImapConn& c, std::string msg) {
  std::vector<std::string_view> one{msg};
  c.setDeadline(Clock::now() + r.cfg.timeout);
  Reply rep = co_await c.append("INBOX", one);
  c.clearDeadline();
  (rep.ok ? r.appendsDone : r.appendsFailed)++;
  r.lastAppend = std::max(r.lastAppend, since(r.deliverStart));
}

// Logs every user in once (LOGIN, SELECT, LOGOUT) before the baseline is taken, so that one-off
// costs (password hashing memory, per-user caches, mailbox indexes) are not charged to sessions.
asio::awaitable<void> warmUser(Run& r, int& nextUser, int& left) {
  tcp::endpoint ep(asio::ip::make_address(r.cfg.host), uint16_t(r.cfg.port));
  for (int guard = 0; guard < 1000000 && nextUser <= r.cfg.users; ++guard) {
    int u = nextUser++;
    auto c = r.newConn(16 * 1024);
    c->setDeadline(Clock::now() + r.cfg.timeout);
    bool ok = co_await c->connect(ep, r.cfg.security);
    if (ok) {
      Reply rep = co_await c->command("LOGIN " + quoted(r.user(u)) + " " + quoted(r.cfg.password));
      if (rep.ok) rep = co_await c->command("SELECT INBOX");
      if (rep.ok) rep = co_await c->command("LOGOUT");
    }
    r.drop(c);
  }
  --left;
}

asio::awaitable<void> mainTask(Run& r, int& rc) {
  const Config& cfg = r.cfg;
  {
    int nextUser = 1, left = std::min(16, cfg.users);
    for (int i = 0, n = left; i < n; ++i) asio::co_spawn(r.io, warmUser(r, nextUser, left), asio::detached);
    for (int guard = 0; guard < 1000000 && left > 0; ++guard) co_await sleepFor(r.io, std::chrono::milliseconds(20));
    co_await sleepFor(r.io, std::chrono::milliseconds(1000));
  }
  ProcSnapshot base = snapshotTrees(cfg.pids, true);
  std::printf("idle-load: %d sessions over %d users, %s; server before: RSS %.1f MB, PSS %.1f MB, %d processes\n",
              cfg.sessions, cfg.users, cfg.security == Security::Tls ? "TLS" : cfg.security == Security::Plain ? "plain" : "STARTTLS",
              base.rssBytes / 1048576.0, base.pssBytes / 1048576.0, base.processes);
  std::fflush(stdout);
  r.sessions.resize(size_t(cfg.sessions));
  auto t0 = Clock::now();
  r.openersLeft = std::min(cfg.concurrency, cfg.sessions);
  for (int i = 0, n = r.openersLeft; i < n; ++i) asio::co_spawn(r.io, opener(r), asio::detached);
  for (int guard = 0; guard < 1000000 && r.openersLeft > 0; ++guard) co_await sleepFor(r.io, std::chrono::milliseconds(50));
  double openSecs = since(t0);
  std::printf("opened %d IDLE sessions in %.1f s (%.0f/s), %d failed%s%s\n", r.idling, openSecs, r.idling / openSecs,
              r.failed, r.firstError.empty() ? "" : ", first error: ", r.firstError.c_str());
  std::fflush(stdout);
  co_await sleepFor(r.io, std::chrono::milliseconds(int64_t(cfg.settle * 1000)));
  ProcSnapshot idle = snapshotTrees(cfg.pids, true);
  int n = std::max(1, r.idling);
  double rssPer = (double(idle.rssBytes) - double(base.rssBytes)) / n / 1024.0;
  double pssPer = (double(idle.pssBytes) - double(base.pssBytes)) / n / 1024.0;
  std::printf("server with %d idle sessions: RSS %.1f MB, PSS %.1f MB, %d processes; per session: RSS %.1f KiB, "
              "PSS %.1f KiB\n",
              r.idling, idle.rssBytes / 1048576.0, idle.pssBytes / 1048576.0, idle.processes, rssPer, pssPer);
  std::fflush(stdout);

  // Delivery connections, one per user, opened before the clock starts (plain APPEND, same for all servers).
  std::vector<std::unique_ptr<ImapConn>> dconns;
  tcp::endpoint dep(asio::ip::make_address(cfg.host), uint16_t(cfg.deliverPort));
  for (int u = 1; u <= cfg.users; ++u) {
    auto c = r.newConn(16 * 1024);
    c->setDeadline(Clock::now() + cfg.timeout);
    bool ok = co_await c->connect(dep, cfg.deliverSecurity);
    Reply rep;
    if (ok) rep = co_await c->command("LOGIN " + quoted(r.user(u)) + " " + quoted(cfg.password));
    c->clearDeadline();
    if (!ok || !rep.ok) {
      std::printf("delivery connection for %s failed: %s\n", r.user(u).c_str(), rep.tagged.c_str());
      r.drop(c);
      rc = 1;
      continue;
    }
    dconns.push_back(std::move(c));
  }
  auto samples = sampleMessages();
  r.deliverStart = Clock::now();
  r.delivering = true;
  auto limit = r.deliverStart + std::chrono::milliseconds(int64_t(cfg.deliverTimeout * 1000));
  for (size_t i = 0; i < dconns.size(); ++i)
    asio::co_spawn(r.io, deliverOne(r, *dconns[i], uniqueMessage(samples, 0, "idle" + std::to_string(i) + "t" +
                                                                  std::to_string(Clock::now().time_since_epoch().count()))),
                   asio::detached);
  for (int guard = 0; guard < 10000000 && r.arrived < r.idling && Clock::now() < limit; ++guard)
    co_await sleepFor(r.io, std::chrono::milliseconds(5));
  double allSecs = since(r.deliverStart);
  Histogram h;
  for (auto& s : r.sessions)
    if (s.arrival >= 0) h.add(uint64_t(s.arrival * 1e6));
  int missing = r.idling - r.arrived;
  std::printf("delivery: %d APPENDs ok (%d failed, last done at %.3f s); EXISTS reached %d/%d sessions; "
              "all within %.3f s%s; p50 %.3f s, p99 %.3f s, max %.3f s\n",
              r.appendsDone, r.appendsFailed, r.lastAppend, r.arrived, r.idling, allSecs,
              missing ? " (TIMED OUT)" : "", h.quantile(0.5) / 1e6, h.quantile(0.99) / 1e6, h.max() / 1e6);
  std::printf("RESULT profile=idle sessions=%d idling=%d failed=%d open_s=%.1f rss_per_session_kib=%.1f "
              "pss_per_session_kib=%.1f server_rss_mb=%.1f server_pss_mb=%.1f all_exists_s=%.3f p99_exists_s=%.3f "
              "missing=%d\n",
              cfg.sessions, r.idling, r.failed, openSecs, rssPer, pssPer, idle.rssBytes / 1048576.0,
              idle.pssBytes / 1048576.0, missing ? -1.0 : allSecs, h.quantile(0.99) / 1e6, missing);
  std::fflush(stdout);
  if (missing || r.failed || r.appendsFailed) rc = rc ? rc : 3;
  // Close everything (abrupt close is fine for both servers). The objects stay alive until the
  // io_context is gone: waiters still have reads outstanding on them.
  for (auto& c : dconns) c->close();
  for (auto& s : r.sessions)
    if (s.conn) s.conn->close();
  r.parked = std::move(dconns);
}

}  // namespace
}  // namespace tern::bench

int main(int argc, char** argv) {
  using namespace tern::bench;
  Options o(argc, argv);
  if (o.has("help") || !o.has("port")) {
    std::fputs(kUsage, stderr);
    return 2;
  }
  auto security = [](const std::string& s, Security& out) {
    if (s == "plain") out = Security::Plain;
    else if (s == "starttls") out = Security::StartTls;
    else if (s == "tls") out = Security::Tls;
    else return false;
    return true;
  };
  Run r;
  Config& cfg = r.cfg;
  cfg.host = o.str("host", cfg.host);
  cfg.port = int(o.num("port", 0, 1, 65535));
  cfg.deliverPort = int(o.num("deliver-port", cfg.port, 1, 65535));
  std::string sec = o.str("security", "tls");
  std::string dsec = o.str("deliver-security", sec);
  if (!security(sec, cfg.security) || !security(dsec, cfg.deliverSecurity)) {
    std::fprintf(stderr, "--security/--deliver-security: plain, starttls or tls\n");
    return 2;
  }
  cfg.sessions = int(o.num("sessions", cfg.sessions, 1, 1000000));
  cfg.users = int(o.num("users", std::min(cfg.users, cfg.sessions), 1, 1000000));
  cfg.concurrency = int(o.num("connect-concurrency", cfg.concurrency, 1, 10000));
  cfg.settle = o.real("settle", cfg.settle);
  cfg.deliverTimeout = o.real("deliver-timeout", cfg.deliverTimeout);
  cfg.userFormat = o.str("user-format", cfg.userFormat);
  cfg.password = o.str("password", cfg.password);
  cfg.timeout = std::chrono::milliseconds(o.num("timeout", 30, 1, 3600) * 1000);
  cfg.pids = parsePids(o.str("pid", ""));
  o.checkUnused();
  if (cfg.settle < 0 || cfg.settle > 600 || cfg.deliverTimeout <= 0 || cfg.deliverTimeout > 600) {
    std::fprintf(stderr, "--settle in [0, 600], --deliver-timeout in (0, 600]\n");
    return 2;
  }
  if (cfg.userFormat.find("%d") == std::string::npos) {
    std::fprintf(stderr, "--user-format needs one %%d\n");
    return 2;
  }
  int rc = 0;
  bool done = false;
  asio::co_spawn(r.io, [](Run& run, int& code, bool& finished) -> asio::awaitable<void> {
    co_await mainTask(run, code);
    finished = true;
  }(r, rc, done), asio::detached);
  // Hard bound on the whole run: connecting, settling, delivery, plus slack.
  auto hard = Clock::now() + std::chrono::seconds(600) + std::chrono::milliseconds(int64_t(
                                  (cfg.settle + cfg.deliverTimeout) * 1000));
  asio::co_spawn(r.io, watchdog(r.conns, hard), asio::detached);
  for (int guard = 0; guard < 100000000 && !done && Clock::now() < hard; ++guard)
    r.io.run_for(std::chrono::milliseconds(100));
  if (!done) {
    std::fprintf(stderr, "idle-load: run did not finish in time\n");
    return 5;
  }
  return rc;
}
