// Waits for a socket to become readable or writable, bounded by a deadline, with one long-lived
// timer instead of a timer armed and cancelled around every wait.
#pragma once

#include <asio.hpp>
#include <chrono>
#include <memory>
#include <system_error>
#include <utility>

namespace tern::net {

// A connection waits for its socket many times a second, each time with a deadline minutes away
// that is almost never reached. Racing a fresh timer against each wait meant a timer-queue insert and
// removal, a cancellation and a second handler through the scheduler per wait. Here the timer is
// moved only when a wait needs an earlier deadline than the one it is set for; when it fires early
// (the wait it was set for is over, a later one runs) it is set again for the current deadline.
// One wait at a time per DeadlineWait; a connection keeps one for reads and one for writes.
class DeadlineWait {
 public:
  using Clock = std::chrono::steady_clock;

  explicit DeadlineWait(const asio::any_io_executor& executor);
  ~DeadlineWait();
  DeadlineWait(const DeadlineWait&) = delete;
  DeadlineWait& operator=(const DeadlineWait&) = delete;

  // Until `socket` is ready for `type`, an error, or the deadline. Returns the wait's error and
  // whether the deadline ended it (then the error is meaningless).
  asio::awaitable<std::pair<std::error_code, bool>> wait(asio::ip::tcp::socket& socket,
                                                         asio::socket_base::wait_type type,
                                                         Clock::time_point deadline);
  // Stops the timer (the connection is closing).
  void cancel();

 private:
  struct State;
  static void arm(const std::shared_ptr<State>& state);
  // Shared with the timer's handler, which may run after the owner is gone.
  std::shared_ptr<State> state_;
};

}  // namespace tern::net
