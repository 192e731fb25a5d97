// Outbound TCP: connects to one textual IP address and port within a time limit and wraps the socket
// in a Stream (for the SMTP client). No untrusted input beyond the address text, which is parsed.
#pragma once

#include <asio.hpp>
#include <asio/ssl.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string_view>
#include <system_error>
#include <utility>

#include "net/stream.h"

namespace tern::net {

// Connects to `ip` ("192.0.2.1", "2001:db8::1"; no names: DNS is the caller's job) on `port`.
// Errors: asio::error::invalid_argument for an unparsable address, timed_out, or the socket error.
// `tls` is the client context a later startTlsClient() uses (may be null).
asio::awaitable<std::pair<std::error_code, std::unique_ptr<Stream>>> connectTcp(
    asio::any_io_executor executor, std::string_view ip, uint16_t port, std::chrono::milliseconds timeout,
    std::shared_ptr<asio::ssl::context> tls);

}  // namespace tern::net
