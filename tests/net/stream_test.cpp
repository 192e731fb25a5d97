// Stream over real loopback connections: plain, implicit TLS, STARTTLS, read timeouts, a read and a
// write outstanding together on TLS, close(), and how the peer address is reported.
#include "net/stream.h"

#include <gtest/gtest.h>

#include <asio/experimental/awaitable_operators.hpp>

#include "server_fixture.h"

namespace tern::net {
namespace {

using namespace std::chrono_literals;
using testing::kTuple;
using testing::readExactly;
using testing::readToEnd;
using testing::runClient;
using tcp = asio::ip::tcp;

class StreamTest : public testing::ServerFixture {};

// Sends `line` and returns the reply of the same length (or the expected length).
template <class S>
asio::awaitable<std::string> roundTrip(S& s, std::string line, size_t replyLen = 0) {
  auto [ec, n] = co_await asio::async_write(s, asio::buffer(line), kTuple);
  if (ec) co_return "write failed: " + ec.message();
  co_return co_await readExactly(s, replyLen ? replyLen : line.size());
}

// Reads one CRLF-terminated line, byte by byte (only for short replies).
template <class S>
asio::awaitable<std::string> readLine(S& s) {
  std::string out;
  char c;
  while (out.size() < 512) {
    auto [ec, n] = co_await s.async_read_some(asio::buffer(&c, 1), kTuple);
    if (ec) break;
    out += c;
    if (out.size() >= 2 && out.compare(out.size() - 2, 2, "\r\n") == 0) break;
  }
  co_return out;
}

TEST_F(StreamTest, PlainEchoAndPeerInfo) {
  uint16_t port = listen(testing::echoSession);
  ASSERT_NE(port, 0);
  auto out = runClient(client_, [&]() -> asio::awaitable<std::string> {
    tcp::socket sock(client_);
    if (auto ec = co_await connect(sock, port)) co_return "connect: " + ec.message();
    std::string echo = co_await roundTrip(sock, "hello\r\n");
    std::string who = co_await roundTrip(sock, "WHO\r\n", 0);
    // WHO's reply is longer than the request: read the rest of the line.
    who += co_await readLine(sock);
    co_return echo + "|" + who + "|" + std::to_string(sock.local_endpoint().port());
  }());
  ASSERT_TRUE(out);
  auto parts = *out;
  auto bar1 = parts.find('|'), bar2 = parts.rfind('|');
  EXPECT_EQ(parts.substr(0, bar1), "hello\r\n");
  std::string clientPort = parts.substr(bar2 + 1);
  EXPECT_EQ(parts.substr(bar1 + 1, bar2 - bar1 - 1),
            "plain 127.0.0.1 " + clientPort + " " + std::to_string(port) + "\r\n");
}

TEST_F(StreamTest, ImplicitTlsEcho) {
  ListenerConfig cfg;
  cfg.implicitTls = true;
  uint16_t port = listen(testing::echoSession, cfg);
  ASSERT_NE(port, 0);
  auto out = runClient(client_, [&]() -> asio::awaitable<std::string> {
    auto ctx = testing::clientTlsContext();
    asio::ssl::stream<tcp::socket> tls(client_, ctx);
    if (auto ec = co_await connect(tls.next_layer(), port)) co_return "connect: " + ec.message();
    auto [hec] = co_await tls.async_handshake(asio::ssl::stream_base::client, kTuple);
    if (hec) co_return "handshake: " + hec.message();
    std::string echo = co_await roundTrip(tls, "over tls\r\n");
    co_await asio::async_write(tls, asio::buffer(std::string_view("WHO\r\n")), kTuple);
    std::string who = co_await readLine(tls);
    co_return echo + who;
  }());
  ASSERT_TRUE(out);
  EXPECT_EQ(out->substr(0, 10), "over tls\r\n");
  EXPECT_EQ(out->substr(10, 18), "TLSv1.3 127.0.0.1 ") << *out;
}

TEST_F(StreamTest, Tls12ClientGetsAnEcdheAeadSuite) {
  ListenerConfig cfg;
  cfg.implicitTls = true;
  std::promise<std::string> cipher;
  uint16_t port = listen(
      [&](std::shared_ptr<Stream> s) -> asio::awaitable<void> {
        cipher.set_value(s->tlsVersion() + " " + s->tlsCipher());
        co_await testing::echoSession(s);
      },
      cfg);
  ASSERT_NE(port, 0);
  auto out = runClient(client_, [&]() -> asio::awaitable<std::string> {
    auto ctx = testing::clientTlsContext();
    SSL_CTX_set_max_proto_version(ctx.native_handle(), TLS1_2_VERSION);
    asio::ssl::stream<tcp::socket> tls(client_, ctx);
    if (auto ec = co_await connect(tls.next_layer(), port)) co_return "connect: " + ec.message();
    auto [hec] = co_await tls.async_handshake(asio::ssl::stream_base::client, kTuple);
    if (hec) co_return "handshake: " + hec.message();
    co_return co_await roundTrip(tls, "x\r\n");
  }());
  EXPECT_EQ(out, std::optional<std::string>("x\r\n"));
  auto f = cipher.get_future();
  auto seen = testing::waitFor(f);
  ASSERT_TRUE(seen);
  EXPECT_EQ(seen->substr(0, 14), "TLSv1.2 ECDHE-") << *seen;
  EXPECT_TRUE(seen->find("GCM") != std::string::npos || seen->find("CHACHA20") != std::string::npos) << *seen;
}

TEST_F(StreamTest, StartTlsUpgradesInPlace) {
  uint16_t port = listen(testing::echoSession);
  ASSERT_NE(port, 0);
  auto out = runClient(client_, [&]() -> asio::awaitable<std::string> {
    tcp::socket sock(client_);
    if (auto ec = co_await connect(sock, port)) co_return "connect: " + ec.message();
    std::string log = co_await roundTrip(sock, "plain\r\n");
    log += co_await roundTrip(sock, "STARTTLS\r\n", 14);
    auto ctx = testing::clientTlsContext();
    asio::ssl::stream<tcp::socket&> tls(sock, ctx);
    auto [hec] = co_await tls.async_handshake(asio::ssl::stream_base::client, kTuple);
    if (hec) co_return log + "handshake: " + hec.message();
    log += co_await roundTrip(tls, "secret\r\n");
    co_await asio::async_write(tls, asio::buffer(std::string_view("WHO\r\n")), kTuple);
    log += (co_await readLine(tls)).substr(0, 8);
    co_return log;
  }());
  EXPECT_EQ(out, std::optional<std::string>("plain\r\nOK begin TLS\r\nsecret\r\nTLSv1.3 "));
}

TEST_F(StreamTest, Ipv6PeerAddress) {
  ListenerConfig cfg;
  cfg.addresses = {"[::1]:0"};
  Listener probe(runtime_, cfg, tls_, nullptr, testing::echoSession, "");
  if (!probe.bind().ok()) GTEST_SKIP() << "no IPv6 loopback here";
  uint16_t port = listen(testing::echoSession, cfg);
  ASSERT_NE(port, 0);
  auto out = runClient(client_, [&]() -> asio::awaitable<std::string> {
    tcp::socket sock(client_);
    if (auto ec = co_await connect(sock, port, "::1")) co_return "connect: " + ec.message();
    co_await asio::async_write(sock, asio::buffer(std::string_view("WHO\r\n")), kTuple);
    co_return co_await readLine(sock);
  }());
  ASSERT_TRUE(out);
  EXPECT_EQ(out->substr(0, 10), "plain ::1 ") << *out;
}

// An IPv4 client on a dual-stack socket appears as ::ffff:127.0.0.1; Stream reports plain IPv4.
TEST_F(StreamTest, V4MappedPeerIsShownAsIpv4) {
  tcp::acceptor acceptor(client_);
  std::error_code ec;
  acceptor.open(tcp::v6(), ec);
  if (!ec) acceptor.set_option(asio::ip::v6_only(false), ec);
  if (!ec) acceptor.bind(tcp::endpoint(asio::ip::make_address("::ffff:127.0.0.1"), 0), ec);
  if (!ec) acceptor.listen(4, ec);
  if (ec) GTEST_SKIP() << "no dual-stack sockets here: " << ec.message();
  uint16_t port = acceptor.local_endpoint().port();
  auto out = runClient(client_, [&]() -> asio::awaitable<std::string> {
    tcp::socket client(client_);
    if (auto cec = co_await connect(client, port)) co_return "connect: " + cec.message();
    auto [aec, server] = co_await acceptor.async_accept(kTuple);
    if (aec) co_return "accept: " + aec.message();
    std::string raw = server.remote_endpoint().address().to_string();
    Stream s(std::move(server), nullptr);
    co_return raw + " " + s.remoteAddress();
  }());
  EXPECT_EQ(out, std::optional<std::string>("::ffff:127.0.0.1 127.0.0.1"));
}

// The session reads with a short timeout while the client stays silent: timed_out, and the stream
// still works afterwards. Plain and TLS.
class StreamTimeoutTest : public StreamTest, public ::testing::WithParamInterface<bool> {
 protected:
  // What a session-side operation returned, and how long it took.
  using Timed = std::pair<std::error_code, std::chrono::milliseconds>;
  static Timed timed(std::error_code ec, std::chrono::steady_clock::time_point start) {
    return {ec, std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start)};
  }
  ListenerConfig config() const {
    ListenerConfig cfg;
    cfg.implicitTls = GetParam();
    return cfg;
  }
  // The operation ended with timed_out, no sooner than minMs and well before maxMs.
  static void expectTimedOut(std::promise<Timed>& result, long minMs, long maxMs) {
    auto f = result.get_future();
    auto r = testing::waitFor(f);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->first, asio::error::timed_out) << r->first.message();
    EXPECT_GE(r->second.count(), minMs);
    EXPECT_LT(r->second.count(), maxMs);
  }
};

TEST_P(StreamTimeoutTest, ReadTimesOutAndStreamStaysUsable) {
  const bool useTls = GetParam();
  std::promise<Timed> result;
  uint16_t port = listen(
      [&](std::shared_ptr<Stream> s) -> asio::awaitable<void> {
        char buf[64];
        auto start = std::chrono::steady_clock::now();
        auto [ec, n] = co_await s->readSome(asio::buffer(buf), 200ms);
        result.set_value(timed(ec, start));
        if (co_await s->write("T\r\n")) co_return;
        co_await testing::echoSession(s);
      },
      config());
  ASSERT_NE(port, 0);
  auto exchange = [&](auto& s) -> asio::awaitable<std::string> {
    std::string got = co_await readExactly(s, 3);  // "T\r\n" after the timeout
    got += co_await roundTrip(s, "after\r\n");
    co_return got;
  };
  auto out = runClient(client_, [&]() -> asio::awaitable<std::string> {
    auto ctx = testing::clientTlsContext();
    asio::ssl::stream<tcp::socket> tls(client_, ctx);
    if (auto ec = co_await connect(tls.next_layer(), port)) co_return "connect: " + ec.message();
    if (!useTls) co_return co_await exchange(tls.next_layer());
    auto [hec] = co_await tls.async_handshake(asio::ssl::stream_base::client, kTuple);
    if (hec) co_return "handshake: " + hec.message();
    co_return co_await exchange(tls);
  }());
  EXPECT_EQ(out, std::optional<std::string>("T\r\nafter\r\n"));
  expectTimedOut(result, 190, 3000);
}

INSTANTIATE_TEST_SUITE_P(PlainAndTls, StreamTimeoutTest, ::testing::Values(false, true),
                         [](const auto& info) { return info.param ? "Tls" : "Plain"; });

// A peer that stops reading: the session's write gives up with timed_out after the write timeout
// (once the socket buffers are full) instead of pinning the session. Plain and TLS.
TEST_P(StreamTimeoutTest, WriteToAPeerThatDoesNotReadTimesOut) {
  const bool useTls = GetParam();
  std::promise<Timed> result;
  uint16_t port = listen(
      [&](std::shared_ptr<Stream> s) -> asio::awaitable<void> {
        s->setWriteTimeout(300ms);
        const std::string big(64u << 20, 'x');  // far more than loopback socket buffers hold
        auto start = std::chrono::steady_clock::now();
        auto ec = co_await s->write(big);
        result.set_value(timed(ec, start));
      },
      config());
  ASSERT_NE(port, 0);
  auto out = runClient(client_, [&]() -> asio::awaitable<std::string> {
    auto ctx = testing::clientTlsContext();
    asio::ssl::stream<tcp::socket> tls(client_, ctx);
    if (auto ec = co_await connect(tls.next_layer(), port)) co_return "connect: " + ec.message();
    if (useTls) {
      auto [hec] = co_await tls.async_handshake(asio::ssl::stream_base::client, kTuple);
      if (hec) co_return "handshake: " + hec.message();
    }
    asio::steady_timer idle(client_, 3s);  // connected, never reading
    co_await idle.async_wait(kTuple);
    co_return "held";
  }(), 10s);
  EXPECT_EQ(out, std::optional<std::string>("held"));
  expectTimedOut(result, 290, 2900);
}

// IDLE-style: a read waits on the TLS stream while the same session writes many updates.
TEST_F(StreamTest, TlsReadAndWriteOutstandingTogether) {
  using namespace asio::experimental::awaitable_operators;
  ListenerConfig cfg;
  cfg.implicitTls = true;
  constexpr int kUpdates = 40;
  constexpr size_t kUpdateSize = 3000;
  uint16_t port = listen(
      [&](std::shared_ptr<Stream> s) -> asio::awaitable<void> {
        auto reader = [s]() -> asio::awaitable<std::string> {
          char buf[64];
          auto [ec, n] = co_await s->readSome(asio::buffer(buf), 5s);
          co_return ec ? "error " + ec.message() : std::string(buf, n);
        };
        auto writer = [s]() -> asio::awaitable<std::error_code> {
          asio::steady_timer pause(s->executor());
          for (int i = 0; i < kUpdates; ++i) {
            std::string update(kUpdateSize - 2, static_cast<char>('a' + i % 26));
            if (auto ec = co_await s->write(update + "\r\n")) co_return ec;
            pause.expires_after(1ms);
            co_await pause.async_wait(kTuple);
          }
          co_return std::error_code{};
        };
        auto [line, wec] = co_await (reader() && writer());
        co_await s->write("got " + line + (wec ? " write error" : "") );
        co_await s->close();
      },
      cfg);
  ASSERT_NE(port, 0);
  auto out = runClient(client_, [&]() -> asio::awaitable<std::string> {
    auto ctx = testing::clientTlsContext();
    asio::ssl::stream<tcp::socket> tls(client_, ctx);
    if (auto ec = co_await connect(tls.next_layer(), port)) co_return "connect: " + ec.message();
    auto [hec] = co_await tls.async_handshake(asio::ssl::stream_base::client, kTuple);
    if (hec) co_return "handshake: " + hec.message();
    std::string updates = co_await readExactly(tls, kUpdates * kUpdateSize);
    for (int i = 0; i < kUpdates; ++i) {
      std::string want(kUpdateSize - 2, static_cast<char>('a' + i % 26));
      if (updates.compare(i * kUpdateSize, kUpdateSize, want + "\r\n") != 0) co_return "update " + std::to_string(i) + " corrupt";
    }
    co_await asio::async_write(tls, asio::buffer(std::string_view("done\r\n")), kTuple);
    auto [rest, ec] = co_await readToEnd(tls);
    co_return rest;
  }(), 10s);
  EXPECT_EQ(out, std::optional<std::string>("got done\r\n"));
}

TEST_F(StreamTest, CloseTwiceIsSafeAndPeerSeesEof) {
  for (bool useTls : {false, true}) {
    SCOPED_TRACE(useTls ? "tls" : "plain");
    ListenerConfig cfg;
    cfg.implicitTls = useTls;
    std::promise<std::string> after;
    uint16_t port = listen(
        [&](std::shared_ptr<Stream> s) -> asio::awaitable<void> {
          (void)co_await s->write("bye\r\n");
          co_await s->close();
          co_await s->close();
          char buf[8];
          auto [ec, n] = co_await s->readSome(asio::buffer(buf), 1s);
          auto wec = co_await s->write("x");
          after.set_value(std::string(s->isOpen() ? "open" : "closed") + " read:" + (ec ? "error" : "ok") +
                          " write:" + (wec ? "error" : "ok"));
        },
        cfg);
    ASSERT_NE(port, 0);
    auto out = runClient(client_, [&]() -> asio::awaitable<std::pair<std::string, std::error_code>> {
      auto ctx = testing::clientTlsContext();
      asio::ssl::stream<tcp::socket> tls(client_, ctx);
      if (auto ec = co_await connect(tls.next_layer(), port)) co_return std::pair{std::string("connect"), ec};
      if (!useTls) co_return co_await readToEnd(tls.next_layer());
      auto [hec] = co_await tls.async_handshake(asio::ssl::stream_base::client, kTuple);
      if (hec) co_return std::pair{std::string("handshake"), hec};
      co_return co_await readToEnd(tls);
    }());
    ASSERT_TRUE(out);
    EXPECT_EQ(out->first, "bye\r\n");
    EXPECT_EQ(out->second, asio::error::eof) << out->second.message();
    auto f = after.get_future();
    EXPECT_EQ(testing::waitFor(f), std::optional<std::string>("closed read:error write:error"));
  }
}

}  // namespace
}  // namespace tern::net
