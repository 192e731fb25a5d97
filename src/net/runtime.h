// Threads of the server: one Asio io_context per worker thread (a connection lives on one worker for
// its whole life, so session state is touched by one thread only) and a bounded blocking pool for
// work that may block (fsync, SQLite, Argon2). offload() runs a function on the pool and resumes the
// calling coroutine on its own executor.
#pragma once

#include <asio.hpp>
#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <type_traits>
#include <vector>

namespace tern::net {

class Runtime {
 public:
  Runtime(size_t workers, size_t blockingThreads);
  ~Runtime();
  Runtime(const Runtime&) = delete;
  Runtime& operator=(const Runtime&) = delete;

  // Round-robin choice of a worker for a new connection.
  asio::io_context& nextWorker();
  asio::io_context& worker(size_t i) { return *workers_[i]; }
  size_t workerCount() const { return workers_.size(); }
  asio::thread_pool& blocking() { return blocking_; }

  // Runs the workers on their threads and blocks until stop().
  void run();
  // Stops every worker (pending handlers are abandoned); a stopped Runtime cannot be restarted.
  void stop();
  // run() in two steps, for callers (tests, the app) that keep their own thread: start() launches
  // the worker threads and returns; join() waits for them to end after stop().
  void start();
  void join();
  bool running() const { return running_; }

 private:
  std::vector<std::unique_ptr<asio::io_context>> workers_;
  std::vector<asio::executor_work_guard<asio::io_context::executor_type>> guards_;
  std::vector<std::thread> threads_;
  asio::thread_pool blocking_;
  std::atomic<size_t> next_{0};
  std::mutex mu_;  // guards threads_ and stopped_
  bool stopped_ = false;
  std::atomic<bool> running_{false};
};

// Calls start(done) and resumes the awaiting coroutine on `ex` once done() has been called, from
// any thread: for operations that report completion through a callback instead of blocking one.
template <class Start>
asio::awaitable<void> whenCalledBack(asio::any_io_executor ex, Start start) {
  co_await asio::async_initiate<const asio::use_awaitable_t<>&, void()>(
      [&](auto handler) {
        auto resume = std::make_shared<decltype(handler)>(std::move(handler));
        start(std::function<void()>([resume, ex] { asio::post(ex, [resume]() mutable { std::move (*resume)(); }); }));
      },
      asio::use_awaitable);
}

// Names the calling pool thread "tern-pool" once (for top -H, perf, gdb).
void nameBlockingThread();

// Runs f() on the pool; the awaiting coroutine resumes on its own executor with the result.
// Exceptions thrown by f propagate to the awaiter (store/auth code returns Result instead).
template <class F>
asio::awaitable<std::invoke_result_t<F>> offload(asio::thread_pool& pool, F f) {
  using R = std::invoke_result_t<F>;
  if constexpr (std::is_void_v<R>) {
    co_await asio::co_spawn(
        pool.get_executor(), [f = std::move(f)]() mutable -> asio::awaitable<void> {
          nameBlockingThread();
          f();
          co_return;
        },
        asio::use_awaitable);
  } else {
    // co_spawn's completion needs a default-constructible value; Result<T> is not, so wrap it.
    auto r = co_await asio::co_spawn(
        pool.get_executor(),
        [f = std::move(f)]() mutable -> asio::awaitable<std::optional<R>> {
          nameBlockingThread();
          co_return std::optional<R>(f());
        },
        asio::use_awaitable);
    co_return std::move(*r);
  }
}

}  // namespace tern::net
