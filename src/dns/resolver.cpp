// The libunbound-backed Resolver: MX (RFC 5321 5.1 implicit MX, RFC 7505 null MX) and A/AAAA lookups
// with a hard per-lookup deadline. Answers are untrusted: rdata is decoded with bounds checks, names
// are validated, at most 32 MX hosts and 16 addresses are kept.
#include "dns/resolver.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <unbound.h>

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <random>
#include <span>

#include "dns/names.h"

namespace tern::dns {
namespace {

using Clock = std::chrono::steady_clock;

constexpr int kTypeA = 1;
constexpr int kTypeMx = 15;
constexpr int kTypeAaaa = 28;
constexpr int kClassIn = 1;
constexpr int kRcodeNxDomain = 3;
constexpr std::size_t kMaxMxHosts = 32;
constexpr std::size_t kMaxAddresses = 16;
constexpr std::size_t kMaxRecords = 1024;  // rdata copied per answer; a 64 KiB packet could hold more

struct ContextDeleter {
  void operator()(ub_ctx* ctx) const { ub_ctx_delete(ctx); }
};
using ContextPtr = std::unique_ptr<ub_ctx, ContextDeleter>;

std::string unboundError(const char* what, int err) {
  return std::string(what) + ": " + ub_strerror(err);
}

// A context configured from already-normalized server addresses (empty: /etc/resolv.conf).
Result<ContextPtr, std::string> makeContext(const std::vector<std::string>& servers) {
  ContextPtr ctx(ub_ctx_create());
  if (!ctx) return unexpected(std::string("libunbound: cannot create a context"));
  // Threads, not the default forked process, for async queries: a fork of a multi-threaded server
  // is unsafe.
  if (int err = ub_ctx_async(ctx.get(), 1)) return unexpected(unboundError("ub_ctx_async", err));
  // Local resolvers (127.0.0.53, test servers on loopback) are ordinary forwarders here.
  if (int err = ub_ctx_set_option(ctx.get(), "do-not-query-localhost:", "no"))
    return unexpected(unboundError("do-not-query-localhost", err));
  // No trust anchor is configured, so validation could only mark answers insecure: skip the module.
  if (int err = ub_ctx_set_option(ctx.get(), "module-config:", "iterator"))
    return unexpected(unboundError("module-config", err));
  // libunbound answers RFC 6761 "test." itself (NXDOMAIN). Test setups and labs serve it from their
  // own server, and any other server answers NXDOMAIN anyway, so ask the server. ("transparent", as
  // libunbound 1.17 mis-parses "nodefault" given through ub_ctx_set_option.)
  if (int err = ub_ctx_set_option(ctx.get(), "local-zone:", "test. transparent"))
    return unexpected(unboundError("local-zone", err));
  if (servers.empty()) {
    if (int err = ub_ctx_resolvconf(ctx.get(), nullptr))
      return unexpected(unboundError("reading /etc/resolv.conf", err));
  }
  for (const auto& server : servers) {
    if (int err = ub_ctx_set_fwd(ctx.get(), server.c_str()))
      return unexpected(unboundError(("DNS server " + server).c_str(), err));
  }
  return ctx;
}

// Lends out contexts, one lookup at a time each: a context's result pipe is then read by the one
// thread that owns its queries, so callbacks never reach another thread's stack.
class ContextPool {
 public:
  ContextPool(std::vector<std::string> servers, std::size_t max)
      : servers_(std::move(servers)), max_(std::max<std::size_t>(max, 1)) {}

  void add(ContextPtr ctx) {
    std::lock_guard lock(mutex_);
    ++total_;
    idle_.push_back(std::move(ctx));
  }

  Result<ContextPtr, std::string> acquire(Clock::time_point deadline) {
    std::unique_lock lock(mutex_);
    while (idle_.empty() && total_ >= max_) {
      if (cv_.wait_until(lock, deadline) == std::cv_status::timeout && idle_.empty() && total_ >= max_)
        return unexpected(std::string("timeout waiting for a free resolver context"));
    }
    if (!idle_.empty()) {
      ContextPtr ctx = std::move(idle_.back());
      idle_.pop_back();
      return ctx;
    }
    ++total_;
    lock.unlock();
    auto made = makeContext(servers_);  // outside the lock: may read /etc/resolv.conf
    if (!made) {
      lock.lock();
      --total_;
      cv_.notify_one();
    }
    return made;
  }

  // A context whose pipe failed is dropped; a new one is made on demand.
  void release(ContextPtr ctx, bool healthy) {
    if (!healthy) ctx.reset();
    std::lock_guard lock(mutex_);
    if (ctx) {
      idle_.push_back(std::move(ctx));
    } else {
      --total_;
    }
    cv_.notify_one();
  }

 private:
  std::vector<std::string> servers_;
  std::size_t max_;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::vector<ContextPtr> idle_;
  std::size_t total_ = 0;
};

class Lease {
 public:
  Lease(ContextPool& pool, ContextPtr ctx) : pool_(pool), ctx_(std::move(ctx)) {}
  ~Lease() { pool_.release(std::move(ctx_), healthy_); }
  Lease(const Lease&) = delete;
  Lease& operator=(const Lease&) = delete;
  ub_ctx* get() const { return ctx_.get(); }
  void markBroken() { healthy_ = false; }

 private:
  ContextPool& pool_;
  ContextPtr ctx_;
  bool healthy_ = true;
};

enum class AnswerKind { Data, NoData, NxDomain, Fail };

struct Answer {
  AnswerKind kind = AnswerKind::Fail;
  std::vector<std::vector<uint8_t>> rdata;
  std::string error;
};

struct Pending {
  int type = 0;
  int id = 0;
  bool started = false;
  bool done = false;
  int err = 0;
  ub_result* result = nullptr;
};

void onAnswer(void* arg, int err, ub_result* result) {
  auto* pending = static_cast<Pending*>(arg);
  pending->done = true;
  pending->err = err;
  pending->result = result;
}

const char* typeName(int type) {
  switch (type) {
    case kTypeA: return "A";
    case kTypeAaaa: return "AAAA";
    case kTypeMx: return "MX";
  }
  return "?";
}

Answer toAnswer(const Pending& p) {
  Answer a;
  std::string what = std::string(typeName(p.type)) + " lookup: ";
  if (p.err != 0 || p.result == nullptr) {
    a.error = what + ub_strerror(p.err);
    return a;
  }
  const ub_result& r = *p.result;
  if (r.rcode == kRcodeNxDomain || r.nxdomain) {
    a.kind = AnswerKind::NxDomain;
    a.error = what + "no such domain (NXDOMAIN)";
    return a;
  }
  if (r.rcode != 0) {
    a.error = what + "server failure (rcode " + std::to_string(r.rcode) + ")";
    return a;
  }
  if (r.bogus) {  // only with a trust anchor; kept so a later DANE setup cannot turn it into data
    a.error = what + "DNSSEC validation failed";
    return a;
  }
  if (!r.havedata || r.data == nullptr) {
    a.kind = AnswerKind::NoData;
    a.error = what + "no records of this type (NODATA)";
    return a;
  }
  a.kind = AnswerKind::Data;
  for (std::size_t i = 0; r.data[i] != nullptr && i < kMaxRecords; ++i) {
    if (r.len[i] < 0) continue;
    auto* bytes = reinterpret_cast<const uint8_t*>(r.data[i]);
    a.rdata.emplace_back(bytes, bytes + r.len[i]);
  }
  return a;
}

// Runs the given query types for one name in parallel on ctx and waits, at most until deadline, for
// all answers. Unanswered queries are cancelled and reported as Fail("timeout").
std::vector<Answer> runQueries(Lease& lease, const std::string& name, std::span<const int> types,
                               Clock::time_point deadline) {
  ub_ctx* ctx = lease.get();
  std::vector<Pending> pending(types.size());  // stable: callbacks hold pointers into it
  std::vector<Answer> answers(types.size());
  for (std::size_t i = 0; i < types.size(); ++i) {
    pending[i].type = types[i];
    int err = ub_resolve_async(ctx, name.c_str(), types[i], kClassIn, &pending[i], onAnswer, &pending[i].id);
    if (err != 0) {
      pending[i].done = true;
      pending[i].err = err;
      if (err == UB_PIPE) lease.markBroken();
    } else {
      pending[i].started = true;
    }
  }

  auto allDone = [&] {
    return std::all_of(pending.begin(), pending.end(), [](const Pending& p) { return p.done; });
  };
  std::string failure;
  int fd = ub_fd(ctx);
  while (!allDone()) {
    auto now = Clock::now();
    if (now >= deadline) {
      failure = "timeout";
      break;
    }
    auto remaining = std::chrono::ceil<std::chrono::milliseconds>(deadline - now).count();
    pollfd pfd{fd, POLLIN, 0};
    int n = ::poll(&pfd, 1, static_cast<int>(std::min<long long>(remaining, 1000)));
    if (n < 0 && errno != EINTR) {
      failure = "poll failed";
      lease.markBroken();
      break;
    }
    if (n > 0) {
      if (int err = ub_process(ctx); err != 0) {
        failure = unboundError("ub_process", err);
        lease.markBroken();
        break;
      }
    }
  }

  for (std::size_t i = 0; i < pending.size(); ++i) {
    Pending& p = pending[i];
    if (!p.done) {
      // Cancelled queries never call back (their late answer is dropped by ub_process), so the
      // pointer into `pending` does not outlive this function.
      if (p.started) ub_cancel(ctx, p.id);
      answers[i].error = std::string(typeName(p.type)) + " lookup: " + failure;
      continue;
    }
    answers[i] = toAnswer(p);
    ub_resolve_free(p.result);
    p.result = nullptr;
  }
  return answers;
}

std::mt19937& rng() {
  thread_local std::mt19937 engine{std::random_device{}()};
  return engine;
}

std::optional<std::string> addressText(const std::vector<uint8_t>& rdata, int type) {
  int family = type == kTypeAaaa ? AF_INET6 : AF_INET;
  std::size_t size = type == kTypeAaaa ? sizeof(in6_addr) : sizeof(in_addr);
  if (rdata.size() != size) return std::nullopt;
  char out[INET6_ADDRSTRLEN];
  if (inet_ntop(family, rdata.data(), out, sizeof(out)) == nullptr) return std::nullopt;
  return std::string(out);
}

class UnboundResolver final : public Resolver {
 public:
  UnboundResolver(std::vector<std::string> servers, const ResolverSettings& settings, ContextPtr first)
      : timeout_(settings.timeout), pool_(std::move(servers), settings.maxConcurrent) {
    pool_.add(std::move(first));
  }

  MxResult resolveMx(std::string_view domain) override {
    MxResult out;
    auto name = normalizeHostName(domain);
    if (!name) {
      out.status = Status::NotFound;
      out.error = "invalid domain name";
      return out;
    }
    auto deadline = Clock::now() + timeout_;
    auto ctx = pool_.acquire(deadline);
    if (!ctx) {
      out.error = ctx.error();
      return out;
    }
    Lease lease(pool_, std::move(*ctx));
    const int mxType[] = {kTypeMx};
    Answer mx = std::move(runQueries(lease, *name, mxType, deadline)[0]);
    switch (mx.kind) {
      case AnswerKind::Fail:
        out.status = Status::TempFail;
        out.error = std::move(mx.error);
        return out;
      case AnswerKind::NxDomain:
        out.status = Status::NotFound;
        out.error = std::move(mx.error);
        return out;
      case AnswerKind::NoData: {
        // RFC 5321 5.1: no MX records, so the domain itself is the mail host if it has an address.
        AddressResult addresses = lookupAddresses(lease, *name, deadline);
        out.status = addresses.status;
        if (addresses.status == Status::Ok) {
          out.hosts.push_back(MxHost{*name, 0});
        } else {
          out.error = "no MX records; " + addresses.error;
        }
        return out;
      }
      case AnswerKind::Data:
        break;
    }
    return mxFromRecords(mx.rdata);
  }

  AddressResult resolveAddresses(std::string_view host) override {
    AddressResult out;
    if (auto ip = parseIpLiteral(host)) {
      out.status = Status::Ok;
      out.addresses.push_back(std::move(*ip));
      return out;
    }
    auto name = normalizeHostName(host);
    if (!name) {
      out.status = Status::NotFound;
      out.error = "invalid host name";
      return out;
    }
    auto deadline = Clock::now() + timeout_;
    auto ctx = pool_.acquire(deadline);
    if (!ctx) {
      out.error = ctx.error();
      return out;
    }
    Lease lease(pool_, std::move(*ctx));
    return lookupAddresses(lease, *name, deadline);
  }

 private:
  static MxResult mxFromRecords(const std::vector<std::vector<uint8_t>>& records) {
    MxResult out;
    std::size_t nullMx = 0;
    std::vector<MxHost> hosts;
    for (const auto& rdata : records) {
      auto mx = parseMxRdata(rdata);
      if (!mx) continue;  // malformed rdata or an exchange that is not a host name: skipped
      if (mx->host.empty()) {
        ++nullMx;
        continue;
      }
      hosts.push_back(std::move(*mx));
    }
    if (nullMx == 1 && records.size() == 1) {
      out.status = Status::NullMx;
      out.error = "the domain accepts no mail (RFC 7505 null MX)";
      return out;
    }
    if (hosts.empty()) {
      out.status = Status::NotFound;
      out.error = "MX records present, but none names a usable host";
      return out;
    }
    // RFC 5321 5.1: lowest preference first, random order among equal preferences.
    std::shuffle(hosts.begin(), hosts.end(), rng());
    std::stable_sort(hosts.begin(), hosts.end(),
                     [](const MxHost& a, const MxHost& b) { return a.preference < b.preference; });
    // The same host listed twice keeps its first (best) place.
    std::vector<MxHost> unique;
    for (auto& h : hosts) {
      if (unique.size() == kMaxMxHosts) break;
      bool seen = std::any_of(unique.begin(), unique.end(), [&](const MxHost& u) { return u.host == h.host; });
      if (!seen) unique.push_back(std::move(h));
    }
    out.status = Status::Ok;
    out.hosts = std::move(unique);
    return out;
  }

  static AddressResult lookupAddresses(Lease& lease, const std::string& name, Clock::time_point deadline) {
    AddressResult out;
    const int types[] = {kTypeAaaa, kTypeA};
    auto answers = runQueries(lease, name, types, deadline);
    std::vector<std::string> v6, v4;
    for (std::size_t i = 0; i < answers.size(); ++i) {
      auto& list = types[i] == kTypeAaaa ? v6 : v4;
      for (const auto& rdata : answers[i].rdata) {
        if (auto text = addressText(rdata, types[i])) list.push_back(std::move(*text));
      }
    }
    if (!v6.empty() || !v4.empty()) {
      // At most 16 in all, but a long list of one family does not crowd out the other entirely.
      std::size_t n6 = std::min(v6.size(), kMaxAddresses), n4 = std::min(v4.size(), kMaxAddresses);
      while (n6 + n4 > kMaxAddresses) (n6 >= n4 ? n6 : n4)--;
      out.status = Status::Ok;
      out.addresses.assign(v6.begin(), v6.begin() + static_cast<std::ptrdiff_t>(n6));
      out.addresses.insert(out.addresses.end(), v4.begin(), v4.begin() + static_cast<std::ptrdiff_t>(n4));
      return out;
    }
    bool tempFail = std::any_of(answers.begin(), answers.end(),
                                [](const Answer& a) { return a.kind == AnswerKind::Fail; });
    out.status = tempFail ? Status::TempFail : Status::NotFound;
    for (const auto& a : answers) {
      if (tempFail && a.kind != AnswerKind::Fail) continue;
      if (!out.error.empty()) out.error += "; ";
      out.error += a.error;
    }
    return out;
  }

  std::chrono::milliseconds timeout_;
  ContextPool pool_;
};

}  // namespace

std::string_view statusName(Status status) {
  switch (status) {
    case Status::Ok: return "ok";
    case Status::NotFound: return "not-found";
    case Status::NullMx: return "null-mx";
    case Status::TempFail: return "temp-fail";
  }
  return "unknown";
}

Result<std::unique_ptr<Resolver>, std::string> createResolver(const ResolverSettings& settings) {
  std::vector<std::string> servers;
  for (const auto& server : settings.servers) {
    auto normalized = normalizeServerAddress(server);
    if (!normalized) return unexpected("invalid DNS server address: " + server);
    servers.push_back(std::move(*normalized));
  }
  if (settings.timeout <= std::chrono::milliseconds::zero())
    return unexpected(std::string("DNS timeout must be positive"));
  // The first context is made now so that a bad configuration fails at startup, not on first use.
  auto first = makeContext(servers);
  if (!first) return unexpected(first.error());
  return std::unique_ptr<Resolver>(new UnboundResolver(std::move(servers), settings, std::move(*first)));
}

}  // namespace tern::dns
