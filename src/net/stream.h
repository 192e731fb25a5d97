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

#include "net/deadline_wait.h"

namespace tern::net {

class Stream {
 public:
  Stream(asio::ip::tcp::socket socket, std::shared_ptr<asio::ssl::context> tls);
  ~Stream();

  // Reads what is available (at least one byte). asio::error::timed_out when nothing came within
  // `timeout`; asio::error::eof when the peer closed.
  asio::awaitable<std::pair<std::error_code, size_t>> readSome(asio::mutable_buffer buffer,
                                                              std::chrono::milliseconds timeout);
  // Waits until a read would find data (or the peer closed), without a buffer: an idle connection
  // then holds no read buffer. Same errors as readSome. A false wake-up is possible (a partial TLS
  // record): readSome then simply waits on.
  asio::awaitable<std::error_code> waitReadable(std::chrono::milliseconds timeout);
  // Writes all of data.
  asio::awaitable<std::error_code> write(std::string_view data);
  // Server-side TLS handshake on the connection (implicit TLS right after accept, or STARTTLS).
  asio::awaitable<std::error_code> startTls(std::chrono::milliseconds timeout);
  // Client-side TLS handshake (implicit TLS after connect, or after the peer's 220 to STARTTLS).
  // `serverName` goes into SNI (unless it is an IP literal) and is the name the certificate is checked
  // against. verify=true: a chain or name failure fails the handshake (SSL_VERIFY_PEER); false: the
  // handshake proceeds and the outcome is only recorded (peerCertificateVerified()).
  asio::awaitable<std::error_code> startTlsClient(std::string_view serverName, bool verify,
                                                  std::chrono::milliseconds timeout);
  // After a client handshake: the peer's chain verified against the context's trust store and its
  // certificate matches serverName.
  bool peerCertificateVerified() const { return peerVerified_; }
  // Graceful close: TLS close_notify when in TLS (bounded in time), then socket shutdown and close.
  asio::awaitable<void> close();

  bool isTls() const { return ssl_ != nullptr && handshakeDone_; }
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
  // OpenSSL runs directly on the non-blocking socket (no asio::ssl::stream, whose two 17 KiB staging
  // buffers and BIO pair per connection would dominate an idle session's memory); with
  // SSL_MODE_RELEASE_BUFFERS an idle TLS connection keeps no record buffers either.
  enum class SslOp { Read, Write, Handshake, Shutdown };
  asio::awaitable<std::pair<std::error_code, size_t>> sslRun(SslOp op, void* data, size_t size,
                                                             DeadlineWait& waiter,
                                                             std::chrono::steady_clock::time_point deadline);
  std::error_code newSsl(bool server);

  asio::ip::tcp::socket socket_;
  std::shared_ptr<asio::ssl::context> tlsContext_;
  SSL* ssl_ = nullptr;
  bool handshakeDone_ = false;
  std::string remoteAddress_;
  uint16_t remotePort_ = 0;
  uint16_t localPort_ = 0;
  // One per direction, because a read and a write may be outstanding together.
  DeadlineWait readWait_;
  DeadlineWait writeWait_;
  std::chrono::milliseconds writeTimeout_{std::chrono::minutes(5)};
  bool closed_ = false;
  bool peerVerified_ = false;
};

}  // namespace tern::net
