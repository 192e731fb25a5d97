// DeadlineWait: a wait ends when the socket is ready or at its own deadline, also when the timer was
// set for an earlier or a later wait; cancel() leaves the io_context without work.
#include "net/deadline_wait.h"

#include <gtest/gtest.h>

#include <chrono>

#include "net_test_support.h"

namespace tern::net {
namespace {

using namespace std::chrono_literals;
using asio::ip::tcp;
using Clock = DeadlineWait::Clock;

struct Pair {
  explicit Pair(asio::io_context& io) : server(io), client(io) {
    tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    client.connect(acceptor.local_endpoint());
    acceptor.accept(server);
  }
  tcp::socket server;
  tcp::socket client;
};

struct Outcome {
  std::error_code ec;
  bool timedOut = false;
  Clock::duration took{};
};

// One wait for readability of p.server, run to completion; `poke` writes to the client side after
// `pokeAfter` (none when zero).
Outcome waitOnce(asio::io_context& io, DeadlineWait& w, Pair& p, Clock::duration timeout,
                 Clock::duration pokeAfter = Clock::duration::zero()) {
  asio::steady_timer poke(io);
  if (pokeAfter != Clock::duration::zero()) {
    poke.expires_after(pokeAfter);
    poke.async_wait([&p](std::error_code ec) {
      if (!ec) asio::write(p.client, asio::buffer("x", 1));
    });
  }
  auto task = [&]() -> asio::awaitable<Outcome> {
    const auto start = Clock::now();
    auto [ec, timedOut] = co_await w.wait(p.server, asio::socket_base::wait_read, start + timeout);
    co_return Outcome{ec, timedOut, Clock::now() - start};
  };
  auto out = testing::runClient(io, task(), 10s);
  poke.cancel();
  return out.value_or(Outcome{asio::error::fault, false, {}});
}

void drain(Pair& p) {
  char buf[16];
  std::error_code ec;
  p.server.non_blocking(true);
  while (p.server.read_some(asio::buffer(buf), ec) > 0) {
  }
}

// A connected pair and a DeadlineWait for the server side, fresh for each test.
class DeadlineWaitTest : public ::testing::Test {
 protected:
  asio::io_context io;
  Pair p{io};
  DeadlineWait w{io.get_executor()};
};

TEST_F(DeadlineWaitTest, ReadyBeforeTheDeadline) {
  auto o = waitOnce(io, w, p, 5s, 20ms);
  EXPECT_FALSE(o.timedOut);
  EXPECT_FALSE(o.ec) << o.ec.message();
  EXPECT_LT(o.took, 4s);
}

TEST_F(DeadlineWaitTest, TimesOutAtItsDeadline) {
  auto o = waitOnce(io, w, p, 100ms);
  EXPECT_TRUE(o.timedOut);
  EXPECT_GE(o.took, 100ms);
  EXPECT_LT(o.took, 3s);
}

TEST_F(DeadlineWaitTest, LaterWaitIsNotCutShortByTheTimerOfAnEarlierOne) {
  // The timer is set for 150 ms and stays set after this wait ends early...
  auto first = waitOnce(io, w, p, 150ms, 10ms);
  ASSERT_FALSE(first.timedOut);
  drain(p);
  // ...and fires during the next wait, which must go on until its own deadline.
  auto second = waitOnce(io, w, p, 600ms);
  EXPECT_TRUE(second.timedOut);
  EXPECT_GE(second.took, 600ms);
  // A wait that data ends after the stale expiry is not reported as timed out.
  auto third = waitOnce(io, w, p, 2s, 300ms);
  EXPECT_FALSE(third.timedOut);
  EXPECT_FALSE(third.ec);
}

TEST_F(DeadlineWaitTest, EarlierDeadlineMovesTheTimer) {
  auto first = waitOnce(io, w, p, 30s, 10ms);  // the timer is now set 30 s ahead
  ASSERT_FALSE(first.timedOut);
  drain(p);
  auto second = waitOnce(io, w, p, 100ms);
  EXPECT_TRUE(second.timedOut);
  EXPECT_LT(second.took, 5s);
}

TEST_F(DeadlineWaitTest, PastDeadlineAndCancel) {
  auto past = waitOnce(io, w, p, -1ms);
  EXPECT_TRUE(past.timedOut);
  auto first = waitOnce(io, w, p, 30s, 10ms);
  ASSERT_FALSE(first.timedOut);
  // The timer stays set between waits; after cancel() nothing keeps the io_context busy.
  w.cancel();
  io.restart();
  const auto start = Clock::now();
  io.run_for(5s);
  EXPECT_LT(Clock::now() - start, 2s);
}

}  // namespace
}  // namespace tern::net
