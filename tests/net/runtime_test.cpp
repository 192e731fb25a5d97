// Runtime: worker threads, round-robin choice, stop(), and offload() to the blocking pool.
#include "net/runtime.h"

#include <gtest/gtest.h>

#include <future>
#include <set>
#include <stdexcept>

#include "net_test_support.h"
#include "util/result.h"

namespace tern::net {
namespace {

using namespace std::chrono_literals;

TEST(Runtime, NextWorkerIsRoundRobin) {
  Runtime rt(3, 1);
  ASSERT_EQ(rt.workerCount(), 3u);
  asio::io_context* a = &rt.nextWorker();
  asio::io_context* b = &rt.nextWorker();
  asio::io_context* c = &rt.nextWorker();
  EXPECT_NE(a, b);
  EXPECT_NE(b, c);
  EXPECT_NE(a, c);
  EXPECT_EQ(&rt.nextWorker(), a);
  EXPECT_EQ(&rt.nextWorker(), b);
  EXPECT_EQ(&rt.worker(0), a);
}

TEST(Runtime, EachWorkerHasItsOwnThreadAndRunBlocksUntilStop) {
  Runtime rt(3, 1);
  auto runner = std::async(std::launch::async, [&] { rt.run(); });
  std::vector<std::promise<std::thread::id>> ids(3);
  for (size_t i = 0; i < 3; ++i) {
    asio::post(rt.worker(i), [&ids, i] { ids[i].set_value(std::this_thread::get_id()); });
  }
  std::set<std::thread::id> seen;
  for (auto& p : ids) {
    auto f = p.get_future();
    ASSERT_EQ(f.wait_for(5s), std::future_status::ready);
    seen.insert(f.get());
  }
  EXPECT_EQ(seen.size(), 3u);
  EXPECT_EQ(seen.count(std::this_thread::get_id()), 0u);
  // Idle workers keep running (work guards) until stop().
  EXPECT_EQ(runner.wait_for(100ms), std::future_status::timeout);
  rt.stop();
  EXPECT_EQ(runner.wait_for(5s), std::future_status::ready);
}

TEST(Runtime, OffloadRunsOnThePoolAndResumesOnTheCallersThread) {
  Runtime rt(2, 2);
  rt.start();
  struct Seen {
    std::thread::id before, inPool, after;
    int value = 0;
  };
  std::promise<Seen> done;
  asio::co_spawn(
      rt.worker(1),
      [&]() -> asio::awaitable<void> {
        Seen s;
        s.before = std::this_thread::get_id();
        auto r = co_await offload(rt.blocking(), [] { return std::make_pair(std::this_thread::get_id(), 42); });
        s.after = std::this_thread::get_id();
        s.inPool = r.first;
        s.value = r.second;
        done.set_value(s);
      },
      asio::detached);
  auto f = done.get_future();
  auto s = testing::waitFor(f);
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(s->value, 42);
  EXPECT_NE(s->inPool, s->before);
  EXPECT_EQ(s->after, s->before);
  rt.stop();
  rt.join();
}

TEST(Runtime, OffloadPropagatesExceptions) {
  Runtime rt(1, 1);
  rt.start();
  std::promise<std::string> done;
  asio::co_spawn(
      rt.worker(0),
      [&]() -> asio::awaitable<void> {
        try {
          co_await offload(rt.blocking(), []() -> int { throw std::runtime_error("disk on fire"); });
          done.set_value("no exception");
        } catch (const std::runtime_error& e) {
          done.set_value(std::string("caught: ") + e.what());
        }
      },
      asio::detached);
  auto f = done.get_future();
  EXPECT_EQ(testing::waitFor(f), std::optional<std::string>("caught: disk on fire"));
  rt.stop();
  rt.join();
}

// Store and auth code return Result (not default-constructible) or nothing at all.
TEST(Runtime, OffloadReturnsResultsAndVoid) {
  Runtime rt(1, 1);
  rt.start();
  std::promise<std::string> done;
  asio::co_spawn(
      rt.worker(0),
      [&]() -> asio::awaitable<void> {
        auto ok = co_await offload(rt.blocking(), []() -> tern::Result<int, std::string> { return 7; });
        auto bad = co_await offload(rt.blocking(), []() -> tern::Result<int, std::string> {
          return tern::unexpected(std::string("no such mailbox"));
        });
        std::atomic<bool> ran{false};
        co_await offload(rt.blocking(), [&ran] { ran = true; });
        done.set_value(std::to_string(ok.ok() ? *ok : -1) + " " + (bad.ok() ? "ok" : bad.error()) + " " +
                       (ran ? "ran" : "not run"));
      },
      asio::detached);
  auto f = done.get_future();
  EXPECT_EQ(testing::waitFor(f), std::optional<std::string>("7 no such mailbox ran"));
  rt.stop();
  rt.join();
}

TEST(Runtime, BlockingPoolIsBounded) {
  Runtime rt(1, 2);
  std::atomic<int> running{0}, maxRunning{0}, finished{0};
  for (int i = 0; i < 6; ++i) {
    asio::post(rt.blocking(), [&] {
      int now = ++running;
      int prev = maxRunning.load();
      while (now > prev && !maxRunning.compare_exchange_weak(prev, now)) {
      }
      std::this_thread::sleep_for(50ms);
      --running;
      ++finished;
    });
  }
  auto deadline = std::chrono::steady_clock::now() + 5s;
  while (finished < 6 && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(10ms);
  EXPECT_EQ(finished.load(), 6);
  EXPECT_EQ(maxRunning.load(), 2);
}

}  // namespace
}  // namespace tern::net
