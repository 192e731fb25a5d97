// imap-load: N concurrent simulated IMAP clients against any IMAP server (profiles churn, steady,
// bigmailbox, plus populate/count/clear helpers). Talks only to the given loopback server; every loop
// is bounded by count and by the run's deadline, every operation by --timeout.
#include <cinttypes>
#include <cstdio>
#include <memory>
#include <random>
#include <string>
#include <thread>
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
    "usage: imap-load --port N [--host 127.0.0.1] [--security plain|starttls|tls]\n"
    "  --profile churn|steady|bigmailbox|populate|count|clear   (default churn)\n"
    "  churn/steady: --clients 50 --duration 20 --users N(=clients) --target 100 --threads 1\n"
    "  bigmailbox:   --messages 20000 --mailbox Big --batch 200 --gen-conns 4 --user-index 1\n"
    "  count:        --user-index 1 --mailbox INBOX [--expect N --wait 60]   (prints MESSAGES)\n"
    "  clear:        --users N   (expunges every message in each user's INBOX)\n"
    "  common:       --user-format bench%d@example.test --password bench-Secret-1 --timeout 30\n"
    "                --pid PID[,PID]  (server process tree(s) for CPU seconds and peak memory)\n";

struct Config {
  std::string host = "127.0.0.1";
  int port = 0;
  Security security = Security::Plain;
  std::string profile = "churn";
  int clients = 50;
  int users = 50;
  int threads = 1;
  double duration = 20;
  int target = 100;
  int appendsPerCycle = 2;
  int bodiesPerCycle = 3;
  std::string userFormat = "bench%d@example.test";
  std::string password = "bench-Secret-1";
  std::chrono::milliseconds timeout{30000};
  std::vector<int> pids;
  // bigmailbox / count
  long long messages = 20000;
  std::string mailbox = "Big";
  int batch = 200;
  int genConns = 4;
  int userIndex = 1;
  long long expect = -1;
  double wait = 60;
};

std::string userName(const Config& c, int i) {
  char buf[256];
  std::snprintf(buf, sizeof buf, c.userFormat.c_str(), i);
  return buf;
}

// One thread's share of the clients: its own io_context, stats and connection registry.
struct Worker {
  const Config& cfg;
  tcp::endpoint endpoint;
  std::shared_ptr<asio::ssl::context> tls = clientTlsContext();
  asio::io_context io{1};
  StatsTable stats;
  std::unordered_set<ImapConn*> conns;
  const std::vector<std::string>& samples;
  std::mt19937_64 rng;
  uint64_t cycles = 0;
  uint64_t appendSeq = 0;
  int workerIndex = 0;
  Clock::time_point end;

  Worker(const Config& c, const std::vector<std::string>& s, int index)
      : cfg(c), endpoint(asio::ip::make_address(c.host), uint16_t(c.port)), samples(s), rng(1000 + index),
        workerIndex(index) {}

  std::unique_ptr<ImapConn> newConn() {
    auto c = std::make_unique<ImapConn>(io.get_executor(), *tls);
    conns.insert(c.get());
    return c;
  }
  void drop(std::unique_ptr<ImapConn>& c) {
    if (!c) return;
    c->close();
    conns.erase(c.get());
    c.reset();
  }

  void record(const char* type, bool ok, Clock::time_point t0) {
    auto& s = stats[type];
    (ok ? s.ok : s.errors)++;
    s.latency.add(uint64_t(std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - t0).count()));
  }

  asio::awaitable<Reply> timed(ImapConn& c, const char* type, std::string text) {
    auto t0 = Clock::now();
    c.setDeadline(t0 + cfg.timeout);
    Reply r = co_await c.command(text);
    c.clearDeadline();
    record(type, r.ok, t0);
    co_return r;
  }

  asio::awaitable<bool> timedConnect(ImapConn& c) {
    auto t0 = Clock::now();
    c.setDeadline(t0 + cfg.timeout);
    bool ok = co_await c.connect(endpoint, cfg.security);
    c.clearDeadline();
    record("CONNECT", ok, t0);
    co_return ok;
  }

  std::string nextMessage(int client) {
    uint64_t n = appendSeq++;
    std::string id = "w" + std::to_string(workerIndex) + "c" + std::to_string(client) + "n" + std::to_string(n) +
                     "r" + std::to_string(rng() % 1000000007);
    return uniqueMessage(samples, rng() % samples.size(), id);
  }

  uint64_t pick(int64_t n) { return 1 + rng() % uint64_t(n); }

  // One cycle after LOGIN: LIST, STATUS, SELECT, FETCHes, STOREs, EXPUNGE, APPENDs.
  // Returns false when the connection broke.
  asio::awaitable<bool> cycle(ImapConn& c, int client) {
    Reply r = co_await timed(c, "LIST", "LIST \"\" \"*\"");
    if (r.ioError) co_return false;
    r = co_await timed(c, "STATUS", "STATUS \"Archive\" (MESSAGES UIDNEXT UNSEEN)");
    if (r.ioError) co_return false;
    r = co_await timed(c, "SELECT", "SELECT INBOX");
    if (r.ioError) co_return false;
    int64_t n = r.exists < 0 ? 0 : r.exists;
    if (n > 0) {
      r = co_await timed(c, "FETCH_FLAGS", "FETCH 1:* (UID FLAGS)");
      if (r.ioError) co_return false;
      r = co_await timed(c, "FETCH_ENV", "FETCH 1:* (ENVELOPE BODYSTRUCTURE)");
      if (r.ioError) co_return false;
      for (int i = 0; i < cfg.bodiesPerCycle; ++i) {
        r = co_await timed(c, "FETCH_BODY", "FETCH " + std::to_string(pick(n)) + " BODY.PEEK[]");
        if (r.ioError) co_return false;
      }
      r = co_await timed(c, "STORE", "STORE " + std::to_string(pick(n)) + " +FLAGS (\\Seen \\Flagged)");
      if (r.ioError) co_return false;
      r = co_await timed(c, "STORE", "STORE " + std::to_string(pick(n)) + " -FLAGS (\\Flagged)");
      if (r.ioError) co_return false;
      // Keep the mailbox at the target: delete the oldest messages that the appends would add beyond it.
      int64_t del = std::min<int64_t>(n, std::max<int64_t>(0, n + cfg.appendsPerCycle - cfg.target));
      if (del > 0) {
        r = co_await timed(c, "STORE", "STORE 1:" + std::to_string(del) + " +FLAGS.SILENT (\\Deleted)");
        if (r.ioError) co_return false;
      }
    }
    r = co_await timed(c, "EXPUNGE", "EXPUNGE");
    if (r.ioError) co_return false;
    for (int i = 0; i < cfg.appendsPerCycle; ++i) {
      std::string msg = nextMessage(client);
      std::vector<std::string_view> one{msg};
      auto t0 = Clock::now();
      c.setDeadline(t0 + cfg.timeout);
      r = co_await c.append("INBOX", one);
      c.clearDeadline();
      record("APPEND", r.ok, t0);
      if (r.ioError) co_return false;
    }
    ++cycles;
    co_return true;
  }

  asio::awaitable<void> client(int client) {
    std::string user = userName(cfg, 1 + client % cfg.users);
    std::string login = "LOGIN " + quoted(user) + " " + quoted(cfg.password);
    bool steady = cfg.profile == "steady";
    std::unique_ptr<ImapConn> c;
    asio::steady_timer pause(io);
    for (uint64_t guard = 0; guard < 100000000 && Clock::now() < end; ++guard) {
      if (!c) {
        c = newConn();
        bool ok = co_await timedConnect(*c);
        Reply r;
        if (ok) {
          r = co_await timed(*c, "LOGIN", login);
          ok = r.ok;
        }
        if (!ok) {
          drop(c);
          pause.expires_after(std::chrono::milliseconds(100));
          [[maybe_unused]] auto [ec] = co_await pause.async_wait(kTok);
          continue;
        }
      }
      bool ok = co_await cycle(*c, client);
      if (!ok) {
        drop(c);
        continue;
      }
      if (!steady && Clock::now() < end) {
        Reply r = co_await timed(*c, "LOGOUT", "LOGOUT");
        drop(c);
      }
    }
    if (c) {
      // Best-effort, untimed by the stats: the run is over.
      c->setDeadline(Clock::now() + std::chrono::seconds(2));
      Reply r = co_await c->command("LOGOUT");
      drop(c);
    }
  }
};

// --- helpers run once, before or after a measured run ------------------------------------------

// Logs one user in on a fresh connection (plain protocol as configured). nullptr on failure.
asio::awaitable<std::unique_ptr<ImapConn>> loginConn(Worker& w, int userIndex) {
  auto c = w.newConn();
  c->setDeadline(Clock::now() + w.cfg.timeout);
  bool ok = co_await c->connect(w.endpoint, w.cfg.security);
  if (ok) {
    Reply r = co_await c->command("LOGIN " + quoted(userName(w.cfg, userIndex)) + " " + quoted(w.cfg.password));
    ok = r.ok;
    if (!ok) std::fprintf(stderr, "LOGIN %s failed: %s\n", userName(w.cfg, userIndex).c_str(), r.tagged.c_str());
  } else {
    std::fprintf(stderr, "connect/greeting failed for %s\n", userName(w.cfg, userIndex).c_str());
  }
  c->clearDeadline();
  if (!ok) w.drop(c);
  co_return c;
}

// Appends `count` generated messages to `mailbox` with MULTIAPPEND batches.
asio::awaitable<bool> fill(Worker& w, ImapConn& c, const std::string& mailbox, long long count, int batch,
                           bool small, uint64_t seqBase, uint64_t& appended) {
  std::vector<std::string> msgs;
  for (long long done = 0; done < count;) {
    long long n = std::min<long long>(batch, count - done);
    msgs.clear();
    for (long long i = 0; i < n; ++i)
      msgs.push_back(small ? smallMessage(seqBase + uint64_t(done + i)) : w.nextMessage(-1));
    std::vector<std::string_view> views(msgs.begin(), msgs.end());
    c.setDeadline(Clock::now() + w.cfg.timeout * 4);
    Reply r = co_await c.append(mailbox, views);
    c.clearDeadline();
    if (!r.ok) {
      std::fprintf(stderr, "APPEND to %s failed: %s\n", mailbox.c_str(), r.tagged.c_str());
      co_return false;
    }
    done += n;
    appended += uint64_t(n);
  }
  co_return true;
}

// Brings every user's INBOX to the target size (appending only) and makes sure "Archive" exists.
asio::awaitable<void> populateUser(Worker& w, int userIndex, bool& failed) {
  auto c = co_await loginConn(w, userIndex);
  if (!c) {
    failed = true;
    co_return;
  }
  Reply r = co_await c->command("CREATE \"Archive\"");  // exists already on some servers: ignore NO
  r = co_await c->command("SELECT INBOX");
  int64_t n = r.exists < 0 ? 0 : r.exists;
  uint64_t appended = 0;
  if (n < w.cfg.target) {
    bool ok = co_await fill(w, *c, "INBOX", w.cfg.target - n, 50, false, 0, appended);
    if (!ok) failed = true;
  }
  r = co_await c->command("LOGOUT");
  w.drop(c);
}

asio::awaitable<void> clearUser(Worker& w, int userIndex, bool& failed) {
  auto c = co_await loginConn(w, userIndex);
  if (!c) {
    failed = true;
    co_return;
  }
  c->setDeadline(Clock::now() + w.cfg.timeout * 4);
  Reply r = co_await c->command("SELECT INBOX");
  if (r.exists > 0) {
    r = co_await c->command("STORE 1:* +FLAGS.SILENT (\\Deleted)");
    r = co_await c->command("EXPUNGE");
    if (!r.ok) failed = true;
  }
  r = co_await c->command("LOGOUT");
  w.drop(c);
}

template <class Fn>
asio::awaitable<void> userLoop(int users, int& next, bool& failed, Fn fn) {
  for (int guard = 0; guard < 1000000 && next <= users; ++guard) {
    int u = next++;
    co_await fn(u, failed);
  }
}

// Runs `fn(userIndex)` for users 1..users with at most `parallel` at a time; returns false on failure.
// (Coroutines take everything as parameters: a lambda coroutine's captures die with the lambda.)
template <class Fn>
bool forEachUser(Worker& w, int users, int parallel, Fn fn) {
  bool failed = false;
  int next = 1;
  for (int i = 0; i < parallel; ++i) asio::co_spawn(w.io, userLoop(users, next, failed, fn), asio::detached);
  asio::co_spawn(w.io, watchdog(w.conns, Clock::now() + std::chrono::hours(2)), asio::detached);
  // The watchdog keeps the context busy; run until the workers are done, bounded by time.
  auto limit = Clock::now() + std::chrono::hours(2);
  for (int guard = 0; guard < 100000000 && Clock::now() < limit; ++guard) {
    w.io.run_for(std::chrono::milliseconds(100));
    if (next > users && w.conns.empty()) break;
  }
  w.io.stop();
  w.io.restart();
  return !failed;
}

// --- profiles ---------------------------------------------------------------------------------

int runLoad(Config& cfg) {
  auto samples = sampleMessages();
  std::printf("imap-load %s: %d clients, %d users, %s, %.0f s, target %d messages/mailbox\n", cfg.profile.c_str(),
              cfg.clients, cfg.users, cfg.security == Security::Plain ? "plain"
                                      : cfg.security == Security::Tls ? "tls" : "starttls",
              cfg.duration, cfg.target);
  // Setup (not measured): every mailbox at its target size.
  {
    Worker setup(cfg, samples, 99);
    auto t0 = Clock::now();
    bool ok = forEachUser(setup, cfg.users, std::min(cfg.users, 16),
                          [&](int u, bool& failed) { return populateUser(setup, u, failed); });
    std::printf("setup: %d mailboxes at >= %d messages in %.1f s\n", cfg.users, cfg.target, since(t0));
    if (!ok) {
      std::fprintf(stderr, "setup failed\n");
      return 1;
    }
  }
  std::vector<std::unique_ptr<Worker>> workers;
  for (int t = 0; t < cfg.threads; ++t) workers.push_back(std::make_unique<Worker>(cfg, samples, t));
  ProcMonitor mon(cfg.pids, std::chrono::milliseconds(500), true);
  mon.start();
  double clientCpu0 = processCpuSeconds();
  auto start = Clock::now();
  auto end = start + std::chrono::milliseconds(int64_t(cfg.duration * 1000));
  for (int i = 0; i < cfg.clients; ++i) {
    Worker& w = *workers[i % cfg.threads];
    asio::co_spawn(w.io, w.client(i), asio::detached);
  }
  std::vector<std::thread> threads;
  for (auto& w : workers) {
    w->end = end;
    asio::co_spawn(w->io, watchdog(w->conns, end + cfg.timeout + std::chrono::seconds(5)), asio::detached);
    threads.emplace_back([&w, &cfg, end] {
      // Clients finish at `end` (plus their last command); the watchdog ends timeout+5 s later.
      auto hard = end + cfg.timeout + std::chrono::seconds(10);
      for (int guard = 0; guard < 10000000 && Clock::now() < hard; ++guard) {
        w->io.run_for(std::chrono::milliseconds(200));
        if (Clock::now() > end && w->conns.empty()) break;
      }
      w->io.stop();
    });
  }
  for (auto& t : threads) t.join();
  double elapsed = since(start);
  mon.stop();
  StatsTable all;
  uint64_t cycles = 0;
  for (auto& w : workers) {
    all.merge(w->stats);
    cycles += w->cycles;
  }
  uint64_t commands = 0, errors = 0;
  std::printf("measured %.1f s:\n", elapsed);
  printTable(all, elapsed, commands, errors);
  Histogram lat;
  for (auto& [name, s] : all.rows())
    if (name != "CONNECT") lat.merge(s.latency);
  double cps = double(commands) / elapsed;
  std::printf("total: %.1f commands/s, %.1f cycles/s, %" PRIu64 " errors, p50 %.2f ms, p99 %.2f ms\n", cps,
              double(cycles) / elapsed, errors, lat.quantile(0.5) / 1000, lat.quantile(0.99) / 1000);
  if (mon.enabled())
    std::printf("server: %.2f CPU s (%.0f%% of one core), peak RSS %.1f MB, peak PSS %.1f MB, %d processes\n",
                mon.cpuSeconds(), 100 * mon.cpuSeconds() / elapsed, mon.peakRss() / 1048576.0,
                mon.peakPss() / 1048576.0, mon.endSnapshot().processes);
  // The load tool shares the machine with the server: its own CPU shows how much of the two cores
  // the measurement itself took.
  double clientCpu = processCpuSeconds() - clientCpu0;
  std::printf("load tool: %.2f CPU s (%.0f%% of one core)\n", clientCpu, 100 * clientCpu / elapsed);
  std::printf("RESULT profile=%s clients=%d cmds_per_s=%.1f cycles_per_s=%.2f errors=%" PRIu64
              " p50_ms=%.2f p99_ms=%.2f cpu_s=%.2f peak_rss_mb=%.1f peak_pss_mb=%.1f cmds_per_cpu_s=%.1f"
              " client_cpu_s=%.2f\n",
              cfg.profile.c_str(), cfg.clients, cps, double(cycles) / elapsed, errors, lat.quantile(0.5) / 1000,
              lat.quantile(0.99) / 1000, mon.cpuSeconds(), mon.peakRss() / 1048576.0, mon.peakPss() / 1048576.0,
              mon.cpuSeconds() > 0 ? double(commands) / mon.cpuSeconds() : 0.0, clientCpu);
  return errors == 0 ? 0 : 3;
}

// Runs `task`, then sets `done` (the run loops stop on it).
asio::awaitable<void> finishing(asio::awaitable<void> task, bool& done) {
  co_await std::move(task);
  done = true;
}

// One generator connection: appends `share` small messages in MULTIAPPEND batches.
asio::awaitable<void> generate(Worker& w, const Config& cfg, long long share, uint64_t base, uint64_t& appended,
                               bool& failed, int& running, asio::steady_timer& done) {
  auto gc = co_await loginConn(w, cfg.userIndex);
  if (!gc) {
    failed = true;
  } else {
    bool ok = co_await fill(w, *gc, cfg.mailbox, share, cfg.batch, true, base, appended);
    if (!ok) failed = true;
    Reply lr = co_await gc->command("LOGOUT");
    w.drop(gc);
  }
  if (--running == 0) done.cancel();
}

asio::awaitable<void> bigMailbox(Worker& w, const Config& cfg, int& rc) {
  auto c = co_await loginConn(w, cfg.userIndex);
  if (!c) {
    rc = 1;
    co_return;
  }
  c->setDeadline(Clock::now() + std::chrono::minutes(30));
  Reply r = co_await c->command("CREATE " + quoted(cfg.mailbox));
  r = co_await c->command("STATUS " + quoted(cfg.mailbox) + " (MESSAGES)", true);
  long long have = 0;
  if (!r.untagged.empty()) {
    auto pos = r.untagged[0].find("MESSAGES ");
    if (pos != std::string::npos) have = std::atoll(r.untagged[0].c_str() + pos + 9);
  }
  c->clearDeadline();
  long long missing = cfg.messages - have;
  std::printf("bigmailbox: %s has %lld messages, want %lld\n", cfg.mailbox.c_str(), have, cfg.messages);
  std::fflush(stdout);
  if (missing > 0) {
    auto t0 = Clock::now();
    int running = cfg.genConns;
    uint64_t appended = 0;
    bool failed = false;
    asio::steady_timer done(w.io);
    done.expires_at(Clock::time_point::max());
    for (int g = 0; g < cfg.genConns; ++g) {
      long long share = missing / cfg.genConns + (g < missing % cfg.genConns ? 1 : 0);
      uint64_t base = uint64_t(have) + uint64_t(g) * uint64_t(missing / cfg.genConns + 1);
      asio::co_spawn(w.io, generate(w, cfg, share, base, appended, failed, running, done), asio::detached);
    }
    [[maybe_unused]] auto [ec] = co_await done.async_wait(kTok);
    double secs = since(t0);
    std::printf("generated %" PRIu64 " messages in %.1f s (%.0f msg/s)%s\n", appended, secs, double(appended) / secs,
                failed ? " WITH FAILURES" : "");
    std::printf("RESULT profile=generate messages=%" PRIu64 " seconds=%.1f msg_per_s=%.0f\n", appended, secs,
                double(appended) / secs);
    std::fflush(stdout);
    if (failed) {
      rc = 1;
      w.drop(c);
      co_return;
    }
  }
  r = co_await c->command("LOGOUT");
  w.drop(c);
  // Three fresh sessions time SELECT; the last also streams FETCH 1:* (UID FLAGS).
  std::vector<double> selects;
  for (int i = 0; i < 3; ++i) {
    auto s = co_await loginConn(w, cfg.userIndex);
    if (!s) {
      rc = 1;
      co_return;
    }
    s->setDeadline(Clock::now() + std::chrono::minutes(5));
    auto t0 = Clock::now();
    Reply sr = co_await s->command("SELECT " + quoted(cfg.mailbox));
    selects.push_back(since(t0) * 1000);
    std::printf("SELECT %s: %.1f ms (EXISTS %" PRId64 ")%s\n", cfg.mailbox.c_str(), selects.back(), sr.exists,
                sr.ok ? "" : " FAILED");
    if (!sr.ok) rc = 1;
    if (i == 2) {
      auto before = snapshotTrees(cfg.pids, false);
      ProcMonitor mon(cfg.pids, std::chrono::milliseconds(20), false);
      mon.start();
      t0 = Clock::now();
      Reply fr = co_await s->command("FETCH 1:* (UID FLAGS)");
      double secs = since(t0);
      mon.stop();
      double growth = (double(mon.peakRss()) - double(before.rssBytes)) / 1048576.0;
      std::printf("FETCH 1:* (UID FLAGS): %.0f ms, %" PRIu64 " FETCH responses, %.1f MB; server RSS %.1f MB before, "
                  "peak %.1f MB (growth %.1f MB)%s\n",
                  secs * 1000, fr.fetches, fr.bytes / 1048576.0, before.rssBytes / 1048576.0,
                  mon.peakRss() / 1048576.0, growth, fr.ok ? "" : " FAILED");
      if (!fr.ok) rc = 1;
      std::vector<double> sorted = selects;
      std::sort(sorted.begin(), sorted.end());
      std::printf("RESULT profile=bigmailbox messages=%" PRId64 " select_ms=%.1f select_first_ms=%.1f "
                  "fetch_flags_ms=%.0f fetch_responses=%" PRIu64 " rss_before_mb=%.1f rss_peak_mb=%.1f "
                  "rss_growth_mb=%.1f\n",
                  sr.exists, sorted[1], selects[0], secs * 1000, fr.fetches, before.rssBytes / 1048576.0,
                  mon.peakRss() / 1048576.0, growth);
    }
    Reply lr = co_await s->command("LOGOUT");
    w.drop(s);
  }
}

// Generates (if needed) a mailbox of --messages messages, then times SELECT and a streamed
// FETCH 1:* (UID FLAGS) while sampling the server's memory every 20 ms.
int runBigMailbox(Config& cfg) {
  auto samples = sampleMessages();
  Worker w(cfg, samples, 0);
  int rc = 0;
  bool done = false;
  asio::co_spawn(w.io, finishing(bigMailbox(w, cfg, rc), done), asio::detached);
  asio::co_spawn(w.io, watchdog(w.conns, Clock::now() + std::chrono::hours(3)), asio::detached);
  auto limit = Clock::now() + std::chrono::hours(3);
  for (int guard = 0; guard < 100000000 && !done && Clock::now() < limit; ++guard)
    w.io.run_for(std::chrono::milliseconds(20));
  return done ? rc : 5;
}

asio::awaitable<void> count(Worker& w, const Config& cfg, int& rc) {
  auto c = co_await loginConn(w, cfg.userIndex);
  if (!c) {
    rc = 1;
    co_return;
  }
  auto t0 = Clock::now();
  auto limit = t0 + std::chrono::milliseconds(int64_t(cfg.wait * 1000));
  asio::steady_timer pause(w.io);
  long long n = -1;
  for (int guard = 0; guard < 1000000; ++guard) {
    c->setDeadline(Clock::now() + cfg.timeout);
    Reply r = co_await c->command("STATUS " + quoted(cfg.mailbox) + " (MESSAGES)", true);
    c->clearDeadline();
    if (!r.ok || r.untagged.empty()) {
      rc = 1;
      break;
    }
    auto pos = r.untagged[0].find("MESSAGES ");
    n = pos == std::string::npos ? -1 : std::atoll(r.untagged[0].c_str() + pos + 9);
    if (cfg.expect < 0 || n >= cfg.expect || Clock::now() > limit) break;
    pause.expires_after(std::chrono::milliseconds(20));
    [[maybe_unused]] auto [ec] = co_await pause.async_wait(kTok);
  }
  if (cfg.expect >= 0) {
    std::printf("%lld %.3f\n", n, since(t0));
    if (n < cfg.expect) rc = 4;
  } else {
    std::printf("%lld\n", n);
  }
  c->setDeadline(Clock::now() + cfg.timeout);
  Reply lr = co_await c->command("LOGOUT");
  w.drop(c);
}

// Prints the MESSAGES count of a mailbox; with --expect, polls until it is reached (or --wait)
// and prints "count seconds".
int runCount(Config& cfg) {
  auto samples = sampleMessages();
  Worker w(cfg, samples, 0);
  int rc = 0;
  bool done = false;
  asio::co_spawn(w.io, finishing(count(w, cfg, rc), done), asio::detached);
  auto hard = Clock::now() + std::chrono::seconds(int(cfg.wait) + 120);
  asio::co_spawn(w.io, watchdog(w.conns, hard), asio::detached);
  for (int guard = 0; guard < 100000000 && !done && Clock::now() < hard; ++guard)
    w.io.run_for(std::chrono::milliseconds(5));
  return done ? rc : 5;
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
  Config cfg;
  cfg.host = o.str("host", cfg.host);
  cfg.port = int(o.num("port", 0, 1, 65535));
  std::string sec = o.str("security", "plain");
  if (sec == "plain") cfg.security = Security::Plain;
  else if (sec == "starttls") cfg.security = Security::StartTls;
  else if (sec == "tls") cfg.security = Security::Tls;
  else {
    std::fprintf(stderr, "--security: plain, starttls or tls\n");
    return 2;
  }
  cfg.profile = o.str("profile", cfg.profile);
  cfg.clients = int(o.num("clients", cfg.clients, 1, 100000));
  cfg.users = int(o.num("users", cfg.clients, 1, 1000000));
  cfg.threads = int(o.num("threads", 1, 1, 64));
  cfg.duration = o.real("duration", cfg.duration);
  cfg.target = int(o.num("target", cfg.target, 0, 1000000));
  cfg.appendsPerCycle = int(o.num("appends", cfg.appendsPerCycle, 0, 100));
  cfg.bodiesPerCycle = int(o.num("bodies", cfg.bodiesPerCycle, 0, 100));
  cfg.userFormat = o.str("user-format", cfg.userFormat);
  cfg.password = o.str("password", cfg.password);
  cfg.timeout = std::chrono::milliseconds(o.num("timeout", 30, 1, 3600) * 1000);
  cfg.pids = parsePids(o.str("pid", ""));
  cfg.messages = o.num("messages", cfg.messages, 0, 100000000);
  cfg.mailbox = o.str("mailbox", cfg.profile == "count" ? "INBOX" : cfg.mailbox);
  cfg.batch = int(o.num("batch", cfg.batch, 1, 10000));
  cfg.genConns = int(o.num("gen-conns", cfg.genConns, 1, 64));
  cfg.userIndex = int(o.num("user-index", cfg.userIndex, 1, 1000000));
  cfg.expect = o.num("expect", -1, -1, 1000000000);
  cfg.wait = o.real("wait", cfg.wait);
  o.checkUnused();
  if (cfg.duration <= 0 || cfg.duration > 3600 || cfg.wait < 0 || cfg.wait > 3600) {
    std::fprintf(stderr, "--duration and --wait: (0, 3600] seconds\n");
    return 2;
  }
  if (cfg.userFormat.find("%d") == std::string::npos) {
    std::fprintf(stderr, "--user-format needs one %%d\n");
    return 2;
  }
  if (cfg.profile == "churn" || cfg.profile == "steady") return runLoad(cfg);
  if (cfg.profile == "bigmailbox") return runBigMailbox(cfg);
  if (cfg.profile == "count") return runCount(cfg);
  if (cfg.profile == "populate" || cfg.profile == "clear") {
    auto samples = sampleMessages();
    Worker w(cfg, samples, 0);
    auto t0 = Clock::now();
    bool ok = forEachUser(w, cfg.users, std::min(cfg.users, 16), [&](int u, bool& failed) {
      return cfg.profile == "clear" ? clearUser(w, u, failed) : populateUser(w, u, failed);
    });
    std::printf("%s: %d users in %.1f s%s\n", cfg.profile.c_str(), cfg.users, since(t0), ok ? "" : " (FAILED)");
    return ok ? 0 : 1;
  }
  std::fputs(kUsage, stderr);
  return 2;
}
