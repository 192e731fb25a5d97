// Helpers for the network tests: temporary directories, running client coroutines with a deadline,
// and small client-side read/write helpers. Loopback only; every wait is bounded.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <asio.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/ssl.hpp>
#include <chrono>
#include <filesystem>
#include <future>
#include <optional>
#include <string>

namespace tern::net::testing {

using namespace std::chrono_literals;
constexpr auto kTuple = asio::experimental::as_tuple(asio::use_awaitable);

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "tern-net-XXXXXX").string();
    path_ = ::mkdtemp(tmpl.data()) ? tmpl : std::string();
  }
  ~TempDir() {
    std::error_code ec;
    if (!path_.empty()) std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// Runs a client coroutine on `io` for at most `limit`. nullopt (and a test failure) on timeout, so a
// server bug cannot hang the suite.
template <class T>
std::optional<T> runClient(asio::io_context& io, asio::awaitable<T> task, std::chrono::milliseconds limit = 5s) {
  struct State {
    std::optional<T> value;
    std::exception_ptr error;
    bool done = false;
  };
  auto state = std::make_shared<State>();
  asio::co_spawn(io, std::move(task), [state](std::exception_ptr e, T v) {
    state->done = true;
    state->error = e;
    if (!e) state->value = std::move(v);
  });
  io.restart();
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (!state->done && std::chrono::steady_clock::now() < deadline) io.run_one_until(deadline);
  if (!state->done) {
    ADD_FAILURE() << "client did not finish in time";
    return std::nullopt;
  }
  if (state->error) {
    try {
      std::rethrow_exception(state->error);
    } catch (const std::exception& ex) {
      ADD_FAILURE() << "client threw: " << ex.what();
    }
    return std::nullopt;
  }
  return state->value;
}

// Waits for a future set by server-side code, bounded.
template <class T>
std::optional<T> waitFor(std::future<T>& f, std::chrono::milliseconds limit = 5s) {
  if (f.wait_for(limit) != std::future_status::ready) return std::nullopt;
  return f.get();
}

// Reads from a client stream until `want` bytes arrived or the peer closed/failed; returns the bytes.
template <class S>
asio::awaitable<std::string> readExactly(S& s, size_t want) {
  std::string out;
  char buf[4096];
  while (out.size() < want) {
    auto [ec, n] = co_await s.async_read_some(asio::buffer(buf, std::min(sizeof buf, want - out.size())), kTuple);
    if (ec) break;
    out.append(buf, n);
  }
  co_return out;
}

// Reads until EOF (or error); returns everything read and the final error.
template <class S>
asio::awaitable<std::pair<std::string, std::error_code>> readToEnd(S& s) {
  std::string out;
  char buf[4096];
  for (;;) {
    auto [ec, n] = co_await s.async_read_some(asio::buffer(buf), kTuple);
    out.append(buf, n);
    if (ec) co_return std::pair{out, ec};
  }
}

inline asio::ssl::context clientTlsContext() {
  asio::ssl::context ctx(asio::ssl::context::tls_client);
  ctx.set_verify_mode(asio::ssl::verify_none);  // a self-signed test certificate
  return ctx;
}

}  // namespace tern::net::testing
