// A client connection, plain or TLS, that can be upgraded in place (STARTTLS). Errors come back as
// error codes, never exceptions. At most one read and one write may be outstanding at a time (they may
// overlap each other, as IDLE needs). TLS belongs here, not in the protocol sessions.
#pragma once

#include <asio.hpp>
#include <asio/ssl.hpp>
#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>

namespace tern::net {

class Stream {
 public:
  Stream(asio::ip::tcp::socket socket, std::shared_ptr<asio::ssl::context> tls);
  ~Stream();

  // Reads what is available (at least one byte). asio::error::timed_out when nothing came within
  // `timeout`; asio::error::eof when the peer closed.
  asio::awaitable<std::pair<std::error_code, size_t>> readSome(asio::mutable_buffer buffer,
                                                              std::chrono::milliseconds timeout);
  // Writes all of data.
  asio::awaitable<std::error_code> write(std::string_view data);
  // Server-side TLS handshake on the connection (implicit TLS right after accept, or STARTTLS).
  asio::awaitable<std::error_code> startTls(std::chrono::milliseconds timeout);
  // Graceful close: TLS close_notify when in TLS (bounded in time), then socket shutdown and close.
  asio::awaitable<void> close();

  bool isTls() const { return tls_ != nullptr && handshakeDone_; }
  std::string tlsVersion() const;  // "TLSv1.3", empty when plain
  std::string tlsCipher() const;
  const std::string& remoteAddress() const { return remoteAddress_; }  // "127.0.0.1" / "::1"
  uint16_t remotePort() const { return remotePort_; }
  uint16_t localPort() const { return localPort_; }
  asio::any_io_executor executor() { return socket_.get_executor(); }

  // Bounds each write() call (default 5 minutes): a peer that stops reading cannot pin a session.
  void setWriteTimeout(std::chrono::milliseconds timeout) { writeTimeout_ = timeout; }
  bool isOpen() const { return !closed_ && socket_.is_open(); }

 private:
  asio::ip::tcp::socket socket_;
  std::shared_ptr<asio::ssl::context> tlsContext_;
  std::unique_ptr<asio::ssl::stream<asio::ip::tcp::socket&>> tls_;
  bool handshakeDone_ = false;
  std::string remoteAddress_;
  uint16_t remotePort_ = 0;
  uint16_t localPort_ = 0;
  // One timer per direction, because a read and a write may be outstanding together.
  asio::steady_timer readTimer_;
  asio::steady_timer writeTimer_;
  std::chrono::milliseconds writeTimeout_{std::chrono::minutes(5)};
  bool closed_ = false;
};

}  // namespace tern::net
