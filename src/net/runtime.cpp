// Worker threads (one io_context each, connections pinned to one worker) and the bounded blocking pool.
// Handles no network bytes itself.
#include "net/runtime.h"

#include <pthread.h>

#include <string>

namespace tern::net {

void nameBlockingThread() {
  thread_local bool named = false;
  if (named) return;
  named = true;
  ::pthread_setname_np(::pthread_self(), "tern-pool");
}

Runtime::Runtime(size_t workers, size_t blockingThreads) : blocking_(blockingThreads == 0 ? 1 : blockingThreads) {
  if (workers == 0) workers = 1;
  workers_.reserve(workers);
  guards_.reserve(workers);
  for (size_t i = 0; i < workers; ++i) {
    // Concurrency hint 1: each context is run by exactly one thread, so Asio can skip its locking.
    workers_.push_back(std::make_unique<asio::io_context>(1));
    // Creates the context's reactor (epoll, eventfd, timerfd) now: created lazily on first use it
    // could fail later, at the worst moment, when descriptors run out under load.
    asio::steady_timer warmUp(*workers_.back());
    guards_.push_back(asio::make_work_guard(*workers_.back()));
  }
}

Runtime::~Runtime() {
  stop();
  join();
  blocking_.stop();
  blocking_.join();
}

asio::io_context& Runtime::nextWorker() {
  return *workers_[next_.fetch_add(1, std::memory_order_relaxed) % workers_.size()];
}

void Runtime::start() {
  std::lock_guard lock(mu_);
  if (!threads_.empty() || stopped_) return;
  running_ = true;
  for (size_t i = 0; i < workers_.size(); ++i) {
    threads_.emplace_back([ctx = workers_[i].get(), name = "tern-worker-" + std::to_string(i)] {
      ::pthread_setname_np(::pthread_self(), name.c_str());  // shows in top -H, perf, gdb
      ctx->run();
    });
  }
}

void Runtime::join() {
  std::vector<std::thread> threads;
  {
    std::lock_guard lock(mu_);
    threads.swap(threads_);
  }
  for (auto& t : threads) {
    if (t.joinable()) t.join();
  }
  running_ = false;
}

void Runtime::run() {
  start();
  join();
}

void Runtime::stop() {
  std::lock_guard lock(mu_);
  stopped_ = true;
  for (auto& g : guards_) g.reset();
  for (auto& io : workers_) io->stop();
}

}  // namespace tern::net
