// One timer per direction of a connection, re-armed lazily (see deadline_wait.h).
#include "net/deadline_wait.h"

#include <asio/experimental/as_tuple.hpp>

namespace tern::net {

struct DeadlineWait::State {
  explicit State(const asio::any_io_executor& executor) : timer(executor) {}
  asio::steady_timer timer;
  asio::cancellation_signal signal;  // cancels the socket wait in flight
  Clock::time_point deadline;
  uint64_t generation = 0;  // a handler of an earlier setting of the timer ignores its wake-up
  bool armed = false;
  bool waiting = false;
  bool fired = false;
};

DeadlineWait::DeadlineWait(const asio::any_io_executor& executor) : state_(std::make_shared<State>(executor)) {}

DeadlineWait::~DeadlineWait() { cancel(); }

void DeadlineWait::cancel() {
  ++state_->generation;
  state_->armed = false;
  state_->timer.cancel();
}

void DeadlineWait::arm(const std::shared_ptr<State>& state) {
  const uint64_t generation = ++state->generation;
  state->armed = true;
  state->timer.expires_at(state->deadline);
  state->timer.async_wait([state, generation](std::error_code ec) {
    if (generation != state->generation) return;
    state->armed = false;
    if (ec || !state->waiting) return;  // cancelled, or idle: the next wait sets the timer again
    if (Clock::now() < state->deadline) {
      arm(state);  // set for an earlier wait; the one in flight ends later
      return;
    }
    state->fired = true;
    state->signal.emit(asio::cancellation_type::terminal);
  });
}

asio::awaitable<std::pair<std::error_code, bool>> DeadlineWait::wait(asio::ip::tcp::socket& socket,
                                                                     asio::socket_base::wait_type type,
                                                                     Clock::time_point deadline) {
  const std::shared_ptr<State> state = state_;  // the owner outlives its waits; this is cheap insurance
  State& s = *state;
  if (Clock::now() >= deadline) co_return std::pair<std::error_code, bool>{std::error_code{}, true};
  s.deadline = deadline;
  s.fired = false;
  if (!s.armed || s.timer.expiry() > deadline) arm(state);
  s.waiting = true;
  auto [ec] = co_await socket.async_wait(
      type, asio::bind_cancellation_slot(s.signal.slot(), asio::experimental::as_tuple(asio::use_awaitable)));
  s.waiting = false;
  if (s.fired) co_return std::pair<std::error_code, bool>{std::error_code{}, true};
  co_return std::pair<std::error_code, bool>{ec, false};
}

}  // namespace tern::net
