// Client connection over TCP, plain or TLS (implicit or STARTTLS). Carries untrusted bytes but does
// not interpret them; every read and write is bounded in time, and errors are returned, never thrown.
#include "net/stream.h"

#include <cerrno>
#include <csignal>
#include <mutex>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

namespace tern::net {
namespace {

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

// The error of a failed OpenSSL call that is not a WANT_READ/WANT_WRITE.
std::error_code sslFailure(int sslError) {
  if (sslError == SSL_ERROR_ZERO_RETURN) return asio::error::eof;  // close_notify
  const unsigned long e = ERR_peek_last_error();
  if (sslError == SSL_ERROR_SYSCALL && e == 0) {
    const int err = errno;
    ERR_clear_error();
    if (err == 0) return asio::error::eof;  // the peer closed TCP
    return std::error_code(err, asio::error::get_system_category());
  }
  ERR_clear_error();
  // A peer that drops TCP without close_notify is an ordinary end of stream (see normalise()).
  if (ERR_GET_REASON(e) == SSL_R_UNEXPECTED_EOF_WHILE_READING) return asio::error::eof;
  if (e == 0) return asio::error::eof;
  return std::error_code(static_cast<int>(e), asio::error::get_ssl_category());
}

}  // namespace

Stream::Stream(asio::ip::tcp::socket socket, std::shared_ptr<asio::ssl::context> tls)
    : socket_(std::move(socket)),
      tlsContext_(std::move(tls)),
      readWait_(socket_.get_executor()),
      writeWait_(socket_.get_executor()) {
  std::error_code ec;
  auto remote = socket_.remote_endpoint(ec);
  if (!ec) {
    remoteAddress_ = displayAddress(remote.address());
    remotePort_ = remote.port();
  }
  auto local = socket_.local_endpoint(ec);
  if (!ec) localPort_ = local.port();
  // Plaintext reads and writes are tried directly first (see readSome/write), which needs calls
  // that return would_block instead of waiting.
  socket_.non_blocking(true, ec);
}

Stream::~Stream() {
  if (ssl_) SSL_free(ssl_);  // its socket BIO does not own the descriptor
  std::error_code ec;
  socket_.close(ec);
}

std::error_code Stream::newSsl(bool server) {
  // OpenSSL's socket BIO writes with write(), not send(MSG_NOSIGNAL) as asio does: a peer that reset
  // the connection must give EPIPE, not kill the server with SIGPIPE.
  static std::once_flag sigpipeIgnored;
  std::call_once(sigpipeIgnored, [] { ::signal(SIGPIPE, SIG_IGN); });
  ssl_ = SSL_new(tlsContext_->native_handle());
  if (!ssl_) return asio::error::no_memory;
  std::error_code ec;
  socket_.non_blocking(true, ec);
  if (ec) return ec;
  if (SSL_set_fd(ssl_, static_cast<int>(socket_.native_handle())) != 1) return asio::error::no_memory;
  // Record buffers only while a record is in flight: an idle connection costs its SSL state alone.
  SSL_set_mode(ssl_, SSL_MODE_RELEASE_BUFFERS | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  if (server)
    SSL_set_accept_state(ssl_);
  else
    SSL_set_connect_state(ssl_);
  return {};
}

// One OpenSSL operation to completion: call it, and when it wants the socket readable or writable,
// wait for that through `waiter`, until `deadline`, and call it again. A read and a write may
// run at once on one connection (IDLE): OpenSSL allows interleaved calls from one thread.
asio::awaitable<std::pair<std::error_code, size_t>> Stream::sslRun(SslOp op, void* data, size_t size,
                                                                   DeadlineWait& waiter,
                                                                   std::chrono::steady_clock::time_point deadline) {
  using Result = std::pair<std::error_code, size_t>;
  for (;;) {
    if (closed_ && op != SslOp::Shutdown) co_return Result{asio::error::operation_aborted, 0};
    ERR_clear_error();
    errno = 0;
    size_t n = 0;
    int r = 0;
    switch (op) {
      case SslOp::Read: r = SSL_read_ex(ssl_, data, size, &n); break;
      case SslOp::Write: r = SSL_write_ex(ssl_, data, size, &n); break;
      case SslOp::Handshake: r = SSL_do_handshake(ssl_); break;
      case SslOp::Shutdown: r = SSL_shutdown(ssl_); break;
    }
    if (r == 1) co_return Result{std::error_code{}, n};
    // SSL_shutdown: 0 means our close_notify went out; call again to wait for the peer's.
    if (op == SslOp::Shutdown && r == 0) continue;
    const int err = SSL_get_error(ssl_, r);
    asio::socket_base::wait_type wait;
    if (err == SSL_ERROR_WANT_READ)
      wait = asio::socket_base::wait_read;
    else if (err == SSL_ERROR_WANT_WRITE)
      wait = asio::socket_base::wait_write;
    else
      co_return Result{sslFailure(err), 0};
    auto [ec, timedOut] = co_await waiter.wait(socket_, wait, deadline);
    if (timedOut) co_return Result{asio::error::timed_out, 0};
    if (ec) co_return Result{ec, 0};
  }
}

asio::awaitable<std::pair<std::error_code, size_t>> Stream::readSome(asio::mutable_buffer buffer,
                                                                    std::chrono::milliseconds timeout) {
  if (closed_) co_return std::pair<std::error_code, size_t>{asio::error::bad_descriptor, 0};
  if (buffer.size() == 0) co_return std::pair<std::error_code, size_t>{std::error_code{}, 0};
  std::error_code ec;
  size_t n = 0;
  bool timedOut = false;
  if (ssl_ && handshakeDone_) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    std::tie(ec, n) = co_await sslRun(SslOp::Read, buffer.data(), buffer.size(), readWait_, deadline);
    if (n > 0) co_return std::pair<std::error_code, size_t>{std::error_code{}, n};
    co_return std::pair<std::error_code, size_t>{ec, 0};
  } else {
    // Read directly; wait for readability only when nothing is there. Bytes already waiting (a
    // pipelined command, the rest of a message) are then taken without a timer armed and cancelled
    // and two handlers through the scheduler; and unlike async_read_some, the wait is not preceded
    // by a second failing read.
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      n = socket_.receive(buffer, 0, ec);
      if (ec != asio::error::would_block && ec != asio::error::try_again) break;
      n = 0;
      std::tie(ec, timedOut) = co_await readWait_.wait(socket_, asio::socket_base::wait_read, deadline);
      if (ec || timedOut) break;
    }
    if (!ec && !timedOut && n == 0) ec = asio::error::eof;
  }
  if (n > 0) co_return std::pair<std::error_code, size_t>{std::error_code{}, n};
  if (timedOut) co_return std::pair<std::error_code, size_t>{asio::error::timed_out, 0};
  co_return std::pair<std::error_code, size_t>{normalise(ec), n};
}

asio::awaitable<std::error_code> Stream::waitReadable(std::chrono::milliseconds timeout) {
  if (closed_) co_return asio::error::bad_descriptor;
  if (ssl_ && handshakeDone_ && SSL_has_pending(ssl_)) co_return std::error_code{};
  auto [ec, timedOut] = co_await readWait_.wait(socket_, asio::socket_base::wait_read,
                                                std::chrono::steady_clock::now() + timeout);
  if (timedOut) co_return asio::error::timed_out;
  co_return ec;
}

asio::awaitable<std::error_code> Stream::write(std::string_view data) {
  if (closed_) co_return asio::error::bad_descriptor;
  if (data.empty()) co_return std::error_code{};
  const auto deadline = std::chrono::steady_clock::now() + writeTimeout_;
  if (ssl_ && handshakeDone_) {
    auto [ec, n] = co_await sslRun(SslOp::Write, const_cast<char*>(data.data()), data.size(), writeWait_, deadline);
    if (!ec && n == data.size()) co_return std::error_code{};
    co_return ec ? ec : asio::error::broken_pipe;
  }
  // A reply almost always fits the socket's send buffer: one send, no timer, no suspension. Only a
  // peer that does not read makes it wait, bounded by the write timeout.
  for (;;) {
    std::error_code ec;
    const size_t n = socket_.send(asio::buffer(data.data(), data.size()), 0, ec);
    if (!ec) {
      data.remove_prefix(n);
      if (data.empty()) co_return std::error_code{};
      continue;
    }
    if (ec != asio::error::would_block && ec != asio::error::try_again) co_return normalise(ec);
    auto [waitEc, timedOut] = co_await writeWait_.wait(socket_, asio::socket_base::wait_write, deadline);
    if (timedOut) co_return asio::error::timed_out;
    if (waitEc) co_return normalise(waitEc);
  }
}

asio::awaitable<std::error_code> Stream::startTls(std::chrono::milliseconds timeout) {
  if (!tlsContext_) co_return asio::error::operation_not_supported;
  if (ssl_) co_return asio::error::already_started;
  if (closed_) co_return asio::error::bad_descriptor;
  if (auto ec = newSsl(true)) co_return ec;
  DeadlineWait waiter(socket_.get_executor());
  auto [ec, n] = co_await sslRun(SslOp::Handshake, nullptr, 0, waiter, std::chrono::steady_clock::now() + timeout);
  (void)n;
  if (ec) co_return ec;
  handshakeDone_ = true;
  co_return std::error_code{};
}

asio::awaitable<std::error_code> Stream::startTlsClient(std::string_view serverName, bool verify,
                                                        std::chrono::milliseconds timeout) {
  if (!tlsContext_) co_return asio::error::operation_not_supported;
  if (ssl_) co_return asio::error::already_started;
  if (closed_) co_return asio::error::bad_descriptor;
  if (auto ec = newSsl(false)) co_return ec;
  SSL* ssl = ssl_;
  const std::string name(serverName);
  std::error_code parseEc;
  const bool isIp = !name.empty() && (asio::ip::make_address(name, parseEc), !parseEc);
  if (!name.empty()) {
    // RFC 6066 3: SNI carries host names only, never address literals.
    if (!isIp) SSL_set_tlsext_host_name(ssl, name.c_str());
    X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
    if (isIp) {
      X509_VERIFY_PARAM_set1_ip_asc(param, name.c_str());
    } else {
      X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
      SSL_set1_host(ssl, name.c_str());
    }
  }
  // Without VERIFY_PEER OpenSSL still checks chain and name and records the result, which is read below.
  SSL_set_verify(ssl, verify ? SSL_VERIFY_PEER : SSL_VERIFY_NONE, nullptr);
  DeadlineWait waiter(socket_.get_executor());
  auto [ec, n] = co_await sslRun(SslOp::Handshake, nullptr, 0, waiter, std::chrono::steady_clock::now() + timeout);
  (void)n;
  if (ec) co_return ec;
  handshakeDone_ = true;
  X509* peer = SSL_get0_peer_certificate(ssl);
  peerVerified_ = peer != nullptr && !name.empty() && SSL_get_verify_result(ssl) == X509_V_OK;
  co_return std::error_code{};
}

asio::awaitable<void> Stream::close() {
  if (closed_) co_return;
  closed_ = true;
  if (ssl_ && handshakeDone_) {
    // close_notify, and a short wait for the peer's: a peer that never answers costs one second.
    DeadlineWait waiter(socket_.get_executor());
    auto [ec, n] =
        co_await sslRun(SslOp::Shutdown, nullptr, 0, waiter, std::chrono::steady_clock::now() + kShutdownTimeout);
    (void)ec;
    (void)n;
  }
  std::error_code ignored;
  socket_.shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
  socket_.close(ignored);
  readWait_.cancel();
  writeWait_.cancel();
}

std::string Stream::tlsVersion() const {
  if (!isTls()) return {};
  return SSL_get_version(ssl_);
}

std::string Stream::tlsCipher() const {
  if (!isTls()) return {};
  const char* name = SSL_get_cipher_name(ssl_);
  return name ? name : "";
}

}  // namespace tern::net
