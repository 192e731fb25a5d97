// Accept loops: bind each configured address (IPv4 or IPv6 "host:port", "[::1]:port"), enforce the
// connection limits (total and per client IP) before any byte is read, and hand each accepted
// connection to one worker, where the protocol's session coroutine runs on it.
#pragma once

#include <asio.hpp>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "net/runtime.h"
#include "net/stream.h"
#include "net/tls.h"
#include "util/result.h"

namespace tern::net {

struct ConnectionLimits {
  size_t maxConnections = 10000;
  size_t maxConnectionsPerIp = 50;
};

// Counts open connections; a Slot releases its count when destroyed.
class ConnectionLimiter {
 public:
  explicit ConnectionLimiter(ConnectionLimits limits) : limits_(limits) {}
  class Slot {
   public:
    Slot(ConnectionLimiter* l, std::string ip) : limiter_(l), ip_(std::move(ip)) {}
    Slot(const Slot&) = delete;
    Slot& operator=(const Slot&) = delete;
    ~Slot();
   private:
    ConnectionLimiter* limiter_;
    std::string ip_;
  };
  // nullptr when over a limit.
  std::unique_ptr<Slot> tryAcquire(const std::string& ip);
  size_t total() const;
  void setLimits(ConnectionLimits limits);

 private:
  void release(const std::string& ip);
  mutable std::mutex mu_;
  ConnectionLimits limits_;
  size_t total_ = 0;
  std::unordered_map<std::string, size_t> perIp_;
};

struct ListenerConfig {
  std::string name;          // "imap", "imaps", ... for logs
  std::vector<std::string> addresses;  // "127.0.0.1:1143", "[::1]:1143", "0.0.0.0:143"
  bool implicitTls = false;  // handshake before the session starts
  std::chrono::milliseconds handshakeTimeout{std::chrono::seconds(30)};  // implicit TLS only
};

// The session entry point: owns the stream for the connection's life. `overLimit` connections get
// `rejectLine` written (e.g. "* BYE Too many connections\r\n") and are closed instead.
using SessionFactory = std::function<asio::awaitable<void>(std::shared_ptr<Stream>)>;

class Listener {
 public:
  Listener(Runtime& runtime, ListenerConfig config, std::shared_ptr<TlsContext> tls,
           std::shared_ptr<ConnectionLimiter> limiter, SessionFactory factory, std::string rejectLine);
  // Binds every address (SO_REUSEADDR, IPV6_V6ONLY for v6). Error names the address.
  tern::Result<void, std::string> bind();
  // Ports actually bound (for ":0" in tests).
  std::vector<uint16_t> boundPorts() const;
  // Starts the accept loops on worker 0's io_context.
  void start();
  // Stops accepting (connections already open continue).
  void stop();
  // Stops, and waits (bounded) for the accept loops to let go of this object.
  ~Listener();
  Listener(const Listener&) = delete;
  Listener& operator=(const Listener&) = delete;

 private:
  asio::awaitable<void> acceptLoop(asio::ip::tcp::acceptor& acceptor);
  Runtime& runtime_;
  ListenerConfig config_;
  std::shared_ptr<TlsContext> tls_;
  std::shared_ptr<ConnectionLimiter> limiter_;
  SessionFactory factory_;
  std::string rejectLine_;
  std::vector<std::unique_ptr<asio::ip::tcp::acceptor>> acceptors_;
  // Over-limit connections still being told so; capped so that rejecting cannot itself be a flood.
  std::shared_ptr<std::atomic<size_t>> rejecting_ = std::make_shared<std::atomic<size_t>>(0);
  struct LoopState {
    std::mutex mu;
    std::condition_variable cv;
    size_t active = 0;
  };
  std::shared_ptr<LoopState> loops_ = std::make_shared<LoopState>();
  bool started_ = false;
};

}  // namespace tern::net
