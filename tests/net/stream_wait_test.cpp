// Stream::waitReadable (an idle read without a buffer), plain and TLS: it returns when data comes,
// the following readSome gets all of it, it times out like readSome, and it reports the peer's close.
#include <gtest/gtest.h>

#include "net/stream.h"
#include "server_fixture.h"

namespace tern::net {
namespace {

using namespace std::chrono_literals;
using testing::kTuple;
using testing::readExactly;
using testing::runClient;
using tcp = asio::ip::tcp;

class StreamWaitTest : public testing::ServerFixture, public ::testing::WithParamInterface<bool> {};

TEST_P(StreamWaitTest, WaitThenReadTimeoutAndEof) {
  const bool useTls = GetParam();
  ListenerConfig cfg;
  cfg.implicitTls = useTls;
  std::promise<std::string> result;
  uint16_t port = listen(
      [&](std::shared_ptr<Stream> s) -> asio::awaitable<void> {
        std::string log;
        // 1: nothing sent yet: times out.
        auto ec = co_await s->waitReadable(150ms);
        log += ec == asio::error::timed_out ? "timeout " : "?" + ec.message() + " ";
        co_await s->write("go\r\n");
        // 2: the client sends a line: wake, then readSome returns it whole.
        ec = co_await s->waitReadable(5s);
        char buf[64];
        auto [rec, n] = co_await s->readSome(asio::buffer(buf), 5s);
        log += (ec || rec) ? "error " : std::string(buf, n);
        co_await s->write("ok\r\n");
        // 3: the client closes: wake with eof, or wake and readSome reports eof.
        ec = co_await s->waitReadable(5s);
        if (!ec) std::tie(ec, n) = co_await s->readSome(asio::buffer(buf), 5s);
        log += ec == asio::error::eof ? "eof" : "?" + ec.message();
        result.set_value(log);
        co_await s->close();
      },
      cfg);
  ASSERT_NE(port, 0);
  auto exchange = [&](auto& s, tcp::socket& raw) -> asio::awaitable<std::string> {
    std::string got = co_await readExactly(s, 4);  // "go\r\n"
    co_await asio::async_write(s, asio::buffer(std::string_view("hello\r\n")), kTuple);
    got += co_await readExactly(s, 4);  // "ok\r\n"
    if constexpr (!std::is_same_v<std::decay_t<decltype(s)>, tcp::socket>) {
      auto [sec] = co_await s.async_shutdown(kTuple);  // close_notify
      (void)sec;
    }
    std::error_code ignored;
    raw.shutdown(tcp::socket::shutdown_send, ignored);
    co_return got;
  };
  auto out = runClient(client_, [&]() -> asio::awaitable<std::string> {
    auto ctx = testing::clientTlsContext();
    asio::ssl::stream<tcp::socket> tls(client_, ctx);
    if (auto ec = co_await connect(tls.next_layer(), port)) co_return "connect: " + ec.message();
    if (!useTls) co_return co_await exchange(tls.next_layer(), tls.next_layer());
    auto [hec] = co_await tls.async_handshake(asio::ssl::stream_base::client, kTuple);
    if (hec) co_return "handshake: " + hec.message();
    co_return co_await exchange(tls, tls.next_layer());
  }(), 10s);
  EXPECT_EQ(out, std::optional<std::string>("go\r\nok\r\n"));
  auto f = result.get_future();
  auto r = testing::waitFor(f);
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, "timeout hello\r\neof");
}

INSTANTIATE_TEST_SUITE_P(PlainAndTls, StreamWaitTest, ::testing::Values(false, true),
                         [](const auto& info) { return info.param ? "Tls" : "Plain"; });

}  // namespace
}  // namespace tern::net
