// A test server: a Runtime with two workers, a self-signed TLS context, and listeners on loopback
// port 0 running a small echo session. Clients run on the test thread's own io_context.
#pragma once

#include <gtest/gtest.h>

#include <string>

#include "net/listener.h"
#include "net/runtime.h"
#include "net/tls.h"
#include "net_test_support.h"

namespace tern::net::testing {

// Echoes what it reads; "STARTTLS\r\n" upgrades the connection, "WHO\r\n" reports what the server
// sees: "<tls version or plain> <remote address> <remote port> <local port>\r\n".
asio::awaitable<void> echoSession(std::shared_ptr<Stream> s);

class ServerFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    TlsSettings s;
    s.dataDir = dir_.path();
    s.hostname = "localhost";
    auto t = TlsContext::create(s);
    ASSERT_TRUE(t.ok()) << t.error();
    tls_ = *t;
    runtime_.start();
  }
  void TearDown() override {
    listeners_.clear();
    runtime_.stop();
    runtime_.join();
  }

  // Binds a listener on `address` (port 0) and starts it; returns its port (0 on failure).
  uint16_t listen(SessionFactory factory, ListenerConfig config = {},
                  std::shared_ptr<ConnectionLimiter> limiter = nullptr, std::string rejectLine = "BYE busy\r\n",
                  std::string address = "127.0.0.1:0") {
    if (config.name.empty()) config.name = "test";
    if (config.addresses.empty()) config.addresses = {address};
    if (!limiter) limiter = std::make_shared<ConnectionLimiter>(ConnectionLimits{});
    auto l = std::make_unique<Listener>(runtime_, config, tls_, limiter, std::move(factory), rejectLine);
    auto r = l->bind();
    if (!r.ok()) {
      ADD_FAILURE() << r.error();
      return 0;
    }
    auto ports = l->boundPorts();
    l->start();
    listeners_.push_back(std::move(l));
    return ports.empty() ? 0 : ports[0];
  }

  asio::awaitable<std::error_code> connect(asio::ip::tcp::socket& sock, uint16_t port,
                                           const char* address = "127.0.0.1", const char* from = nullptr) {
    asio::ip::tcp::endpoint ep(asio::ip::make_address(address), port);
    if (from) {
      sock.open(ep.protocol());
      sock.bind(asio::ip::tcp::endpoint(asio::ip::make_address(from), 0));
    }
    auto [ec] = co_await sock.async_connect(ep, kTuple);
    co_return ec;
  }

  TempDir dir_;
  Runtime runtime_{2, 1};
  std::shared_ptr<TlsContext> tls_;
  std::vector<std::unique_ptr<Listener>> listeners_;
  asio::io_context client_;
};

}  // namespace tern::net::testing
