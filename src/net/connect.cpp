// Outbound TCP connect with a time limit. The address is parsed, never resolved; the connect is
// cancelled when the timer fires first, so an unreachable peer costs at most `timeout`.
#include "net/connect.h"

#include <asio/experimental/deferred.hpp>
#include <asio/experimental/parallel_group.hpp>
#include <string>

namespace tern::net {

asio::awaitable<std::pair<std::error_code, std::unique_ptr<Stream>>> connectTcp(
    asio::any_io_executor executor, std::string_view ip, uint16_t port, std::chrono::milliseconds timeout,
    std::shared_ptr<asio::ssl::context> tls) {
  using Out = std::pair<std::error_code, std::unique_ptr<Stream>>;
  std::error_code ec;
  auto address = asio::ip::make_address(std::string(ip), ec);
  if (ec) co_return Out{asio::error::invalid_argument, nullptr};
  asio::ip::tcp::socket socket(executor);
  asio::steady_timer timer(executor);
  timer.expires_after(timeout);
  using asio::experimental::deferred;
  auto [order, connectEc, timerEc] =
      co_await asio::experimental::make_parallel_group(
          socket.async_connect(asio::ip::tcp::endpoint(address, port), deferred), timer.async_wait(deferred))
          .async_wait(asio::experimental::wait_for_one(), asio::use_awaitable);
  (void)timerEc;
  if (order[0] == 1) co_return Out{asio::error::timed_out, nullptr};
  if (connectEc) co_return Out{connectEc, nullptr};
  socket.set_option(asio::ip::tcp::no_delay(true), ec);
  co_return Out{std::error_code{}, std::make_unique<Stream>(std::move(socket), std::move(tls))};
}

}  // namespace tern::net
