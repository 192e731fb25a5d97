// Client connection over TCP, plain or TLS (implicit or STARTTLS). Carries untrusted bytes but does
// not interpret them; every read and write is bounded in time, and errors are returned, never thrown.
#include "net/stream.h"

#include <asio/experimental/as_tuple.hpp>
#include <asio/experimental/deferred.hpp>
#include <asio/experimental/parallel_group.hpp>
#include <openssl/ssl.h>

namespace tern::net {
namespace {

using asio::experimental::deferred;
using asio::experimental::make_parallel_group;
using asio::experimental::wait_for_one;

constexpr auto kShutdownTimeout = std::chrono::seconds(1);

std::string displayAddress(const asio::ip::address& a) {
  if (a.is_v6() && a.to_v6().is_v4_mapped()) {
    return asio::ip::make_address_v4(asio::ip::v4_mapped, a.to_v6()).to_string();
  }
  return a.to_string();
}

// A peer that drops TCP without close_notify is an ordinary end of stream for line protocols, whose
// framing (not the TLS record layer) says where a message ends.
std::error_code normalise(std::error_code ec) {
  if (ec == asio::ssl::error::stream_truncated) return asio::error::eof;
  return ec;
}

// Runs `op` against a timer; the operation is cancelled when the timer fires first. Returns the
// operation's (error, bytes) and whether the timer won.
template <class Op>
asio::awaitable<std::tuple<std::error_code, size_t, bool>> raceTimer(Op op, asio::steady_timer& timer,
                                                                     std::chrono::milliseconds timeout) {
  timer.expires_after(timeout);
  auto [order, ec, n, timerEc] =
      co_await make_parallel_group(std::move(op), timer.async_wait(deferred)).async_wait(wait_for_one(), asio::use_awaitable);
  (void)timerEc;
  co_return std::tuple<std::error_code, size_t, bool>{ec, n, order[0] == 1};
}

// Same, for operations that complete with an error code only (handshake, shutdown).
template <class Op>
asio::awaitable<std::pair<std::error_code, bool>> raceTimerNoBytes(Op op, asio::steady_timer& timer,
                                                                   std::chrono::milliseconds timeout) {
  timer.expires_after(timeout);
  auto [order, ec, timerEc] =
      co_await make_parallel_group(std::move(op), timer.async_wait(deferred)).async_wait(wait_for_one(), asio::use_awaitable);
  (void)timerEc;
  co_return std::pair<std::error_code, bool>{ec, order[0] == 1};
}

}  // namespace

Stream::Stream(asio::ip::tcp::socket socket, std::shared_ptr<asio::ssl::context> tls)
    : socket_(std::move(socket)),
      tlsContext_(std::move(tls)),
      readTimer_(socket_.get_executor()),
      writeTimer_(socket_.get_executor()) {
  std::error_code ec;
  auto remote = socket_.remote_endpoint(ec);
  if (!ec) {
    remoteAddress_ = displayAddress(remote.address());
    remotePort_ = remote.port();
  }
  auto local = socket_.local_endpoint(ec);
  if (!ec) localPort_ = local.port();
}

Stream::~Stream() {
  tls_.reset();  // references socket_
  std::error_code ec;
  socket_.close(ec);
}

asio::awaitable<std::pair<std::error_code, size_t>> Stream::readSome(asio::mutable_buffer buffer,
                                                                    std::chrono::milliseconds timeout) {
  if (closed_) co_return std::pair<std::error_code, size_t>{asio::error::bad_descriptor, 0};
  if (buffer.size() == 0) co_return std::pair<std::error_code, size_t>{std::error_code{}, 0};
  std::error_code ec;
  size_t n = 0;
  bool timedOut = false;
  if (tls_ && handshakeDone_) {
    std::tie(ec, n, timedOut) = co_await raceTimer(tls_->async_read_some(buffer, deferred), readTimer_, timeout);
  } else {
    std::tie(ec, n, timedOut) = co_await raceTimer(socket_.async_read_some(buffer, deferred), readTimer_, timeout);
  }
  // Bytes that arrived as the timer fired are still data, never dropped.
  if (n > 0) co_return std::pair<std::error_code, size_t>{std::error_code{}, n};
  if (timedOut) co_return std::pair<std::error_code, size_t>{asio::error::timed_out, 0};
  co_return std::pair<std::error_code, size_t>{normalise(ec), n};
}

asio::awaitable<std::error_code> Stream::write(std::string_view data) {
  if (closed_) co_return asio::error::bad_descriptor;
  if (data.empty()) co_return std::error_code{};
  std::error_code ec;
  size_t n = 0;
  bool timedOut = false;
  auto buf = asio::buffer(data.data(), data.size());
  if (tls_ && handshakeDone_) {
    std::tie(ec, n, timedOut) = co_await raceTimer(asio::async_write(*tls_, buf, deferred), writeTimer_, writeTimeout_);
  } else {
    std::tie(ec, n, timedOut) = co_await raceTimer(asio::async_write(socket_, buf, deferred), writeTimer_, writeTimeout_);
  }
  if (n == data.size()) co_return std::error_code{};
  if (timedOut) co_return asio::error::timed_out;
  co_return normalise(ec ? ec : asio::error::broken_pipe);
}

asio::awaitable<std::error_code> Stream::startTls(std::chrono::milliseconds timeout) {
  if (!tlsContext_) co_return asio::error::operation_not_supported;
  if (tls_) co_return asio::error::already_started;
  if (closed_) co_return asio::error::bad_descriptor;
  tls_ = std::make_unique<asio::ssl::stream<asio::ip::tcp::socket&>>(socket_, *tlsContext_);
  asio::steady_timer timer(socket_.get_executor());
  auto [ec, timedOut] =
      co_await raceTimerNoBytes(tls_->async_handshake(asio::ssl::stream_base::server, deferred), timer, timeout);
  if (timedOut && ec == asio::error::operation_aborted) co_return asio::error::timed_out;
  if (ec) co_return normalise(ec);
  handshakeDone_ = true;
  co_return std::error_code{};
}

asio::awaitable<void> Stream::close() {
  if (closed_) co_return;
  closed_ = true;
  if (tls_ && handshakeDone_) {
    // close_notify, and a short wait for the peer's: a peer that never answers costs one second.
    asio::steady_timer timer(socket_.get_executor());
    auto [ec, timedOut] = co_await raceTimerNoBytes(tls_->async_shutdown(deferred), timer, kShutdownTimeout);
    (void)ec;
    (void)timedOut;
  }
  std::error_code ignored;
  socket_.shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
  socket_.close(ignored);
  readTimer_.cancel();
  writeTimer_.cancel();
}

std::string Stream::tlsVersion() const {
  if (!isTls()) return {};
  return SSL_get_version(tls_->native_handle());
}

std::string Stream::tlsCipher() const {
  if (!isTls()) return {};
  const char* name = SSL_get_cipher_name(tls_->native_handle());
  return name ? name : "";
}

}  // namespace tern::net
