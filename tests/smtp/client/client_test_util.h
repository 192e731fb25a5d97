// Helpers for the SMTP client tests: running a client coroutine to completion, a scripted TCP server
// on loopback (hostile peers), and Postfix's smtp-sink as a foreign server. Loopback only; every
// wait is bounded.
#pragma once

#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <asio.hpp>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <future>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "smtp/client/client.h"

extern char** environ;

namespace tern::smtp::client::testing {

using ConnectResult = tern::Result<std::unique_ptr<Connection>, ConnectFailure>;

template <class T>
asio::awaitable<void> storeResult(asio::awaitable<T> aw, std::optional<T>* out) {
  out->emplace(co_await std::move(aw));
}

// Runs `io` until `fut` is ready, not until it runs out of work: a connection's idle deadline timer
// (net::DeadlineWait) stays set between waits and would hold run() until it fires.
template <class F>
void runUntilReady(asio::io_context& io, F& fut) {
  io.restart();
  while (fut.wait_for(std::chrono::seconds(0)) != std::future_status::ready) {
    if (io.run_one() == 0) break;  // no work left: the future is set or never will be (get() says)
  }
}

// Runs one awaitable on `io` to completion and returns its value (T need not be default-constructible).
template <class T>
T run(asio::io_context& io, asio::awaitable<T> aw) {
  std::optional<T> out;
  auto fut = asio::co_spawn(io, storeResult(std::move(aw), &out), asio::use_future);
  runUntilReady(io, fut);
  fut.get();
  return std::move(*out);
}
inline void run(asio::io_context& io, asio::awaitable<void> aw) {
  auto fut = asio::co_spawn(io, std::move(aw), asio::use_future);
  runUntilReady(io, fut);
  fut.get();
}

// Short timeouts so that a failing test fails fast.
inline Timeouts shortTimeouts() {
  Timeouts t;
  for (auto* s : {&t.connect, &t.greeting, &t.ehlo, &t.mail, &t.rcpt, &t.dataInit, &t.dataBlock,
                  &t.dataTermination}) {
    *s = std::chrono::seconds(5);
  }
  return t;
}

inline ClientSettings plainSettings() {
  ClientSettings s;
  s.heloName = "client.test";
  s.tls = TlsPolicy::None;
  s.timeouts = shortTimeouts();
  return s;
}

inline std::shared_ptr<asio::ssl::context> clientTlsContext() {
  auto ctx = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_client);
  ctx->set_default_verify_paths();
  return ctx;
}

inline ConnectResult connectTo(asio::io_context& io, uint16_t port, const ClientSettings& settings,
                               std::vector<std::string> addresses = {"127.0.0.1"},
                               std::string hostName = "localhost") {
  return run(io, connect(io.get_executor(), addresses, port, hostName, settings));
}

inline Envelope envelope(std::string sender, std::vector<std::string> recipients) {
  Envelope e;
  e.sender = std::move(sender);
  for (auto& r : recipients) e.recipients.push_back(EnvelopeRecipient{std::move(r), "", ""});
  return e;
}

// A TCP server on 127.0.0.1 that runs one script per accepted connection, in order, on its own thread.
// Scripts use blocking I/O with a receive timeout, so a test can never hang on them.
class ScriptServer {
 public:
  using Script = std::function<void(asio::ip::tcp::socket&)>;
  explicit ScriptServer(std::vector<Script> scripts)
      : acceptor_(io_, asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)) {
    port_ = acceptor_.local_endpoint().port();
    thread_ = std::thread([this, scripts = std::move(scripts)] {
      for (const auto& script : scripts) {
        asio::ip::tcp::socket sock(io_);
        std::error_code ec;
        acceptor_.accept(sock, ec);
        if (ec) return;
        timeval tv{5, 0};
        ::setsockopt(sock.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        ::setsockopt(sock.native_handle(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
        ++accepted_;
        script(sock);
      }
    });
  }
  ~ScriptServer() {
    ::shutdown(acceptor_.native_handle(), SHUT_RDWR);  // wakes a blocking accept
    thread_.join();
  }
  uint16_t port() const { return port_; }
  int accepted() const { return accepted_; }

  // One line without its CRLF; "" on error or EOF (also sets eof when given).
  static std::string readLine(asio::ip::tcp::socket& s, bool* eof = nullptr) {
    std::string line;
    for (size_t i = 0; i < 100000; ++i) {
      char c;
      std::error_code ec;
      size_t n = asio::read(s, asio::buffer(&c, 1), ec);
      if (ec || n == 0) {
        if (eof) *eof = true;
        return line;
      }
      if (c == '\n') {
        if (!line.empty() && line.back() == '\r') line.pop_back();
        return line;
      }
      line += c;
    }
    return line;
  }
  static bool send(asio::ip::tcp::socket& s, std::string_view data) {
    std::error_code ec;
    asio::write(s, asio::buffer(data), ec);
    return !ec;
  }

 private:
  asio::io_context io_;
  asio::ip::tcp::acceptor acceptor_;
  uint16_t port_ = 0;
  std::atomic<int> accepted_{0};
  std::thread thread_;
};

// Postfix's smtp-sink on a free loopback port, capturing each transaction into a file (-d).
class SmtpSink {
 public:
  static constexpr const char* kPath = "/usr/sbin/smtp-sink";
  static bool available() { return ::access(kPath, X_OK) == 0; }

  explicit SmtpSink(std::vector<std::string> options) {
    char tmpl[] = "/tmp/tern-sink-XXXXXX";
    dir_ = ::mkdtemp(tmpl);
    ::chmod(dir_.c_str(), 0777);  // smtp-sink drops to nobody when started as root
    {
      asio::io_context io;
      asio::ip::tcp::acceptor a(io, asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
      port_ = a.local_endpoint().port();
    }
    std::vector<std::string> args = {kPath};
    if (::geteuid() == 0) {
      args.push_back("-u");
      args.push_back("nobody");
    }
    args.push_back("-d");
    args.push_back(dir_ + "/msg.");
    args.insert(args.end(), options.begin(), options.end());
    args.push_back("127.0.0.1:" + std::to_string(port_));
    args.push_back("10");
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    if (::posix_spawn(&pid_, kPath, nullptr, nullptr, argv.data(), environ) != 0) pid_ = -1;
    // Ready when it accepts connections (bounded wait).
    for (int i = 0; i < 100 && pid_ > 0; ++i) {
      asio::io_context io;
      asio::ip::tcp::socket s(io);
      std::error_code ec;
      s.connect(asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), port_), ec);
      if (!ec) {
        // Read the greeting and leave politely so this probe is not a half-open session.
        ScriptServer::readLine(s);
        ScriptServer::send(s, "QUIT\r\n");
        ScriptServer::readLine(s);
        ready_ = true;
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(30));
    }
  }
  ~SmtpSink() {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      ::waitpid(pid_, nullptr, 0);
    }
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  bool ready() const { return ready_; }
  uint16_t port() const { return port_; }

  // Captured transactions, one string each (smtp-sink writes LF line endings, dots unstuffed).
  std::vector<std::string> dumps() const {
    std::vector<std::string> out;
    for (int i = 0; i < 50; ++i) {
      out.clear();
      for (const auto& e : std::filesystem::directory_iterator(dir_)) {
        std::ifstream f(e.path(), std::ios::binary);
        std::stringstream ss;
        ss << f.rdbuf();
        out.push_back(ss.str());
      }
      if (!out.empty()) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return out;
  }

 private:
  std::string dir_;
  uint16_t port_ = 0;
  pid_t pid_ = -1;
  bool ready_ = false;
};

}  // namespace tern::smtp::client::testing
