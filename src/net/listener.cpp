// Accept loops and connection limits. Runs before any byte is read from a peer: the only untrusted
// input is the connection itself, bounded by the total and per-IP limits and the handshake timeout.
#include "net/listener.h"

#include <asio/experimental/as_tuple.hpp>
#include <future>

#include "util/log.h"
#include "util/strings.h"

namespace tern::net {
namespace {

using asio::ip::tcp;
constexpr auto kTuple = asio::experimental::as_tuple(asio::use_awaitable);
constexpr size_t kMaxRejecting = 64;
constexpr auto kRejectTimeout = std::chrono::seconds(5);
constexpr auto kAcceptBackoffMin = std::chrono::milliseconds(10);
constexpr auto kAcceptBackoffMax = std::chrono::seconds(1);

struct BindTarget {
  tcp::endpoint endpoint;
  bool optional = false;  // the IPv6 half of "*": hosts without IPv6 still start
};

tern::Result<std::vector<BindTarget>, std::string> parseListenAddress(const std::string& text) {
  auto colon = text.rfind(':');
  if (colon == std::string::npos) return tern::unexpected("\"" + text + "\": expected host:port");
  std::string host = text.substr(0, colon);
  auto port = tern::parseUnsigned(std::string_view(text).substr(colon + 1), 65535);
  if (!port) return tern::unexpected("\"" + text + "\": invalid port");
  auto p = static_cast<uint16_t>(*port);
  if (host == "*" || host.empty()) {
    return std::vector<BindTarget>{{tcp::endpoint(asio::ip::address_v6::any(), p), true},
                                   {tcp::endpoint(asio::ip::address_v4::any(), p), false}};
  }
  bool bracketed = host.size() >= 2 && host.front() == '[' && host.back() == ']';
  if (bracketed) host = host.substr(1, host.size() - 2);
  std::error_code ec;
  auto addr = asio::ip::make_address(host, ec);
  if (ec) return tern::unexpected("\"" + text + "\": not an IP address");
  if (addr.is_v6() && !bracketed) return tern::unexpected("\"" + text + "\": write IPv6 addresses as [addr]:port");
  if (addr.is_v4() && bracketed) return tern::unexpected("\"" + text + "\": brackets are for IPv6 addresses");
  return std::vector<BindTarget>{{tcp::endpoint(addr, p), false}};
}

std::string peerAddress(const tcp::socket& socket, std::error_code& ec) {
  auto ep = socket.remote_endpoint(ec);
  if (ec) return {};
  auto a = ep.address();
  if (a.is_v6() && a.to_v6().is_v4_mapped()) {
    return asio::ip::make_address_v4(asio::ip::v4_mapped, a.to_v6()).to_string();
  }
  return a.to_string();
}

// Tells an over-limit client why, then hangs up. Runs on the worker so the accept loop never waits.
asio::awaitable<void> rejectConnection(tcp::socket socket, bool implicitTls,
                                       std::shared_ptr<asio::ssl::context> tls, std::string rejectLine,
                                       std::shared_ptr<std::atomic<size_t>> rejecting) {
  {
    auto stream = std::make_shared<Stream>(std::move(socket), std::move(tls));
    stream->setWriteTimeout(kRejectTimeout);
    bool ok = true;
    if (implicitTls) ok = !(co_await stream->startTls(kRejectTimeout));
    if (ok && !rejectLine.empty()) (void)co_await stream->write(rejectLine);
    co_await stream->close();
  }
  rejecting->fetch_sub(1);
}

// A limiter slot and the limiter it counts in. One object, because the destruction order of a
// coroutine's parameters is not something to rely on (g++ 12 destroys them in declaration order),
// while members are always destroyed in reverse: the slot before its limiter.
struct HeldSlot {
  std::shared_ptr<ConnectionLimiter> limiter;
  std::unique_ptr<ConnectionLimiter::Slot> slot;
};

// One accepted connection's life on its worker: the implicit TLS handshake, then the session. The
// limiter slot is held until the connection is closed.
asio::awaitable<void> serveConnection(tcp::socket socket, std::string listenerName, bool implicitTls,
                                      std::chrono::milliseconds handshakeTimeout,
                                      std::shared_ptr<asio::ssl::context> tls, SessionFactory factory,
                                      HeldSlot held) {
  auto stream = std::make_shared<Stream>(std::move(socket), std::move(tls));
  if (implicitTls) {
    if (auto ec = co_await stream->startTls(handshakeTimeout)) {
      log::info(listenerName) << "TLS handshake with " << stream->remoteAddress() << " failed: " << ec.message();
      co_await stream->close();
      co_return;
    }
  }
  try {
    co_await factory(stream);
  } catch (const std::exception& e) {
    // A session bug ends that session, not the worker thread and every other session on it.
    log::error(listenerName) << "session with " << stream->remoteAddress() << " ended by exception: " << e.what();
  } catch (...) {
    log::error(listenerName) << "session with " << stream->remoteAddress() << " ended by unknown exception";
  }
  co_await stream->close();
  held.slot.reset();  // only now may the client's next connection count as new
}

}  // namespace

ConnectionLimiter::Slot::~Slot() {
  if (limiter_ != nullptr) limiter_->release(ip_);
}

std::unique_ptr<ConnectionLimiter::Slot> ConnectionLimiter::tryAcquire(const std::string& ip) {
  std::lock_guard lock(mu_);
  if (total_ >= limits_.maxConnections) return nullptr;
  auto it = perIp_.find(ip);
  size_t current = it == perIp_.end() ? 0 : it->second;
  if (current >= limits_.maxConnectionsPerIp) return nullptr;
  ++total_;
  if (it == perIp_.end()) {
    perIp_.emplace(ip, 1);
  } else {
    ++it->second;
  }
  return std::make_unique<Slot>(this, ip);
}

void ConnectionLimiter::release(const std::string& ip) {
  std::lock_guard lock(mu_);
  if (total_ > 0) --total_;
  auto it = perIp_.find(ip);
  if (it != perIp_.end() && --it->second == 0) perIp_.erase(it);  // the map holds only live IPs
}

size_t ConnectionLimiter::total() const {
  std::lock_guard lock(mu_);
  return total_;
}

void ConnectionLimiter::setLimits(ConnectionLimits limits) {
  std::lock_guard lock(mu_);
  limits_ = limits;
}

Listener::Listener(Runtime& runtime, ListenerConfig config, std::shared_ptr<TlsContext> tls,
                   std::shared_ptr<ConnectionLimiter> limiter, SessionFactory factory, std::string rejectLine)
    : runtime_(runtime),
      config_(std::move(config)),
      tls_(std::move(tls)),
      limiter_(std::move(limiter)),
      factory_(std::move(factory)),
      rejectLine_(std::move(rejectLine)) {}

Listener::~Listener() {
  stop();
  std::unique_lock lock(loops_->mu);
  if (loops_->active == 0 || !runtime_.running()) return;
  if (!loops_->cv.wait_for(lock, std::chrono::seconds(5), [&] { return loops_->active == 0; })) {
    log::error(config_.name) << "accept loop did not stop in time";
  }
}

tern::Result<void, std::string> Listener::bind() {
  for (const auto& text : config_.addresses) {
    auto targets = parseListenAddress(text);
    if (!targets) return tern::unexpected(config_.name + ": " + targets.error());
    for (const auto& target : *targets) {
      auto acceptor = std::make_unique<tcp::acceptor>(runtime_.worker(0));
      std::error_code ec;
      acceptor->open(target.endpoint.protocol(), ec);
      if (!ec) acceptor->set_option(tcp::acceptor::reuse_address(true), ec);
      if (!ec && target.endpoint.address().is_v6()) acceptor->set_option(asio::ip::v6_only(true), ec);
      if (!ec) acceptor->bind(target.endpoint, ec);
      if (!ec) acceptor->listen(asio::socket_base::max_listen_connections, ec);
      if (ec) {
        std::ostringstream where;
        where << target.endpoint;
        if (target.optional) {
          log::warn(config_.name) << "not listening on " << where.str() << ": " << ec.message();
          continue;
        }
        return tern::unexpected(config_.name + ": cannot listen on " + where.str() + " (" + text +
                                "): " + ec.message());
      }
      acceptors_.push_back(std::move(acceptor));
    }
  }
  if (acceptors_.empty()) return tern::unexpected(config_.name + ": no address to listen on");
  return {};
}

std::vector<uint16_t> Listener::boundPorts() const {
  std::vector<uint16_t> ports;
  for (const auto& a : acceptors_) {
    std::error_code ec;
    auto ep = a->local_endpoint(ec);
    if (!ec) ports.push_back(ep.port());
  }
  return ports;
}

void Listener::start() {
  if (started_) return;
  started_ = true;
  for (auto& acceptor : acceptors_) {
    {
      std::lock_guard lock(loops_->mu);
      ++loops_->active;
    }
    asio::co_spawn(runtime_.worker(0), acceptLoop(*acceptor), [loops = loops_](std::exception_ptr) {
      std::lock_guard lock(loops->mu);
      --loops->active;
      loops->cv.notify_all();
    });
    std::ostringstream where;
    where << acceptor->local_endpoint();
    log::info(config_.name) << "listening on " << where.str() << (config_.implicitTls ? " (TLS)" : "");
  }
}

void Listener::stop() {
  auto closeAll = [this] {
    for (auto& a : acceptors_) {
      std::error_code ec;
      a->close(ec);
    }
  };
  auto& io = runtime_.worker(0);
  if (!runtime_.running() || io.stopped() || io.get_executor().running_in_this_thread()) {
    closeAll();
    return;
  }
  // Acceptors belong to worker 0's thread; close them there and wait (bounded) until done.
  std::promise<void> done;
  auto future = done.get_future();
  asio::post(io, [&closeAll, &done] {
    closeAll();
    done.set_value();
  });
  if (future.wait_for(std::chrono::seconds(5)) != std::future_status::ready) {
    log::error(config_.name) << "could not stop the accept loop";
  }
}

asio::awaitable<void> Listener::acceptLoop(tcp::acceptor& acceptor) {
  asio::steady_timer backoffTimer(co_await asio::this_coro::executor);
  auto backoff = kAcceptBackoffMin;
  for (;;) {
    asio::io_context& worker = runtime_.nextWorker();
    // The socket is created on its worker's io_context, where the whole session then runs.
    std::error_code ec;
    tcp::socket socket(worker);
    try {
      std::tie(ec, socket) = co_await acceptor.async_accept(asio::any_io_executor(worker.get_executor()), kTuple);
    } catch (const std::exception& e) {
      // Asio throws only when it cannot set up its own machinery (out of memory or descriptors).
      log::error(config_.name) << "accept: " << e.what();
      ec = asio::error::no_memory;
    }
    if (ec) {
      if (ec == asio::error::operation_aborted || !acceptor.is_open()) break;
      // EMFILE, ENOBUFS, ECONNABORTED...: the listener must outlive them. Back off so a persistent
      // error does not spin.
      log::warn(config_.name) << "accept failed: " << ec.message();
      backoffTimer.expires_after(backoff);
      (void)co_await backoffTimer.async_wait(kTuple);
      backoff = std::min<std::chrono::milliseconds>(backoff * 2, kAcceptBackoffMax);
      continue;
    }
    backoff = kAcceptBackoffMin;

    std::error_code peerEc;
    std::string ip = peerAddress(socket, peerEc);
    if (peerEc) continue;  // already gone; the socket closes as it goes out of scope
    std::error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);
    socket.set_option(asio::socket_base::keep_alive(true), ignored);
    auto ctx = tls_ ? tls_->current() : nullptr;

    auto slot = limiter_ ? limiter_->tryAcquire(ip) : nullptr;
    if (limiter_ && !slot) {
      if (rejecting_->fetch_add(1) >= kMaxRejecting) {
        rejecting_->fetch_sub(1);
        log::debug(config_.name) << "over limit, dropped " << ip;
        continue;
      }
      log::info(config_.name) << "connection limit reached, rejecting " << ip;
      asio::co_spawn(worker,
                     rejectConnection(std::move(socket), config_.implicitTls, std::move(ctx),
                                      rejectLine_, rejecting_),
                     asio::detached);
      continue;
    }
    log::debug(config_.name) << "connection from " << ip;
    asio::co_spawn(worker,
                   serveConnection(std::move(socket), config_.name, config_.implicitTls, config_.handshakeTimeout,
                                   std::move(ctx), factory_, HeldSlot{limiter_, std::move(slot)}),
                   asio::detached);
  }
}

}  // namespace tern::net
