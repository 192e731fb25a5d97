// A minimal asynchronous IMAP client connection (plain, STARTTLS or implicit TLS) for load generation.
// Reads server bytes (the server under test is trusted only as far as framing: lines are capped at
// 1 MiB, literals are skipped without buffering, and every operation has a deadline).
#pragma once

#include <asio.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/ssl.hpp>

#include <chrono>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace tern::bench {

using asio::ip::tcp;
using Clock = std::chrono::steady_clock;
constexpr auto kTok = asio::experimental::as_tuple(asio::use_awaitable);

enum class Security { Plain, StartTls, Tls };

struct Reply {
  bool ok = false;          // tagged OK
  bool ioError = false;     // the connection failed (closed, reset, timed out)
  std::string tagged;       // the tagged line (without CRLF)
  int64_t exists = -1;      // last "* n EXISTS"
  uint64_t fetches = 0;     // "* n FETCH" responses
  uint64_t bytes = 0;       // bytes read for this reply, literals included
  std::vector<std::string> untagged;  // only when collecting
};

// An IMAP quoted string (for ASCII names and passwords).
inline std::string quoted(const std::string& s) {
  std::string out = "\"";
  for (char ch : s) {
    if (ch == '"' || ch == '\\') out += '\\';
    out += ch;
  }
  return out + "\"";
}

inline double since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

inline std::shared_ptr<asio::ssl::context> clientTlsContext() {
  auto ctx = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_client);
  ctx->set_verify_mode(asio::ssl::verify_none);  // the servers use throw-away self-signed certificates
  return ctx;
}

class ImapConn {
 public:
  ImapConn(asio::any_io_executor ex, asio::ssl::context& tls, size_t bufferSize = 16 * 1024) : stream_(ex, tls) {
    buf_.resize(bufferSize);
  }

  // Operations not finished by this point are failed by closing the socket (see expired()).
  void setDeadline(Clock::time_point t) { deadline_ = t; }
  void clearDeadline() { deadline_ = Clock::time_point::max(); }
  bool expired(Clock::time_point now) const { return now > deadline_; }
  void close() {
    asio::error_code ec;
    stream_.next_layer().close(ec);
  }
  bool literalPlus() const { return literalPlus_; }

  // Connects, does the TLS handshake or STARTTLS as asked, reads the greeting.
  asio::awaitable<bool> connect(const tcp::endpoint& ep, Security sec) {
    [[maybe_unused]] auto [ec] = co_await stream_.next_layer().async_connect(ep, kTok);
    if (ec) co_return false;
    asio::error_code ignored;
    stream_.next_layer().set_option(tcp::no_delay(true), ignored);
    if (sec == Security::Tls) {
      bool hs = co_await handshake();
      if (!hs) co_return false;
    }
    Reply greeting;
    bool got = co_await readLine(greeting, nullptr);
    if (!got || greeting.tagged.rfind("* OK", 0) != 0) co_return false;
    noteCapabilities(greeting.tagged);
    if (sec == Security::StartTls) {
      Reply r = co_await command("STARTTLS");
      if (!r.ok) co_return false;
      bool hs = co_await handshake();
      if (!hs) co_return false;
    }
    co_return true;
  }

  // Sends `tag text` and reads until the tagged completion.
  asio::awaitable<Reply> command(std::string_view text, bool collect = false) {
    std::string tag = nextTag();
    out_.clear();
    out_.append(tag).append(" ").append(text).append("\r\n");
    Reply r;
    bool sent = co_await write(out_);
    if (!sent) {
      r.ioError = true;
      co_return r;
    }
    co_await readUntilTagged(tag, r, collect);
    co_return r;
  }

  // APPEND of one or more messages (MULTIAPPEND when more than one), with LITERAL+ when offered.
  asio::awaitable<Reply> append(std::string_view mailbox, const std::vector<std::string_view>& messages,
                                std::string_view flags = {}) {
    std::string tag = nextTag();
    Reply r;
    std::string head = tag + " APPEND " + std::string(mailbox);
    for (size_t i = 0; i < messages.size(); ++i) {
      out_.clear();
      if (i == 0) out_ = head;
      if (!flags.empty()) out_.append(" (").append(flags).append(")");
      out_.append(" {").append(std::to_string(messages[i].size())).append(literalPlus_ ? "+}\r\n" : "}\r\n");
      if (literalPlus_) {
        out_.append(messages[i]);
        if (i + 1 == messages.size()) out_.append("\r\n");
        bool sent = co_await write(out_);
        if (!sent) {
          r.ioError = true;
          co_return r;
        }
        continue;
      }
      bool sent = co_await write(out_);
      if (!sent) {
        r.ioError = true;
        co_return r;
      }
      // Wait for the continuation; a tagged reply here means the server refused the literal.
      for (int guard = 0; guard < 1000; ++guard) {
        Reply line;
        bool got = co_await readLine(line, nullptr);
        if (!got) {
          r.ioError = true;
          co_return r;
        }
        if (line.tagged.rfind("+", 0) == 0) break;
        if (line.tagged.rfind(tag + " ", 0) == 0) {
          r.tagged = line.tagged;
          r.ok = r.tagged.compare(tag.size() + 1, 2, "OK") == 0;
          co_return r;
        }
      }
      out_.assign(messages[i]);
      if (i + 1 == messages.size()) out_.append("\r\n");
      sent = co_await write(out_);
      if (!sent) {
        r.ioError = true;
        co_return r;
      }
    }
    co_await readUntilTagged(tag, r, false);
    co_return r;
  }

  // IDLE: sends the command and waits for the continuation.
  asio::awaitable<bool> startIdle() {
    idleTag_ = nextTag();
    out_ = idleTag_ + " IDLE\r\n";
    bool sent = co_await write(out_);
    if (!sent) co_return false;
    for (int guard = 0; guard < 1000; ++guard) {
      Reply line;
      bool got = co_await readLine(line, nullptr);
      if (!got) co_return false;
      if (line.tagged.rfind("+", 0) == 0) co_return true;
      if (line.tagged.rfind(idleTag_ + " ", 0) == 0) co_return false;
    }
    co_return false;
  }
  // Waits (under the deadline) for an untagged "* n EXISTS" with n > `known`; returns n or -1.
  asio::awaitable<int64_t> waitExists(int64_t known) {
    for (int guard = 0; guard < 100000; ++guard) {
      Reply line;
      bool got = co_await readLine(line, nullptr);
      if (!got) co_return -1;
      if (line.exists > known) co_return line.exists;
    }
    co_return -1;
  }
  asio::awaitable<Reply> stopIdle() {
    Reply r;
    bool sent = co_await write("DONE\r\n");
    if (!sent) {
      r.ioError = true;
      co_return r;
    }
    co_await readUntilTagged(idleTag_, r, false);
    co_return r;
  }

 private:
  asio::awaitable<bool> handshake() {
    [[maybe_unused]] auto [ec] = co_await stream_.async_handshake(asio::ssl::stream_base::client, kTok);
    if (ec) co_return false;
    tls_ = true;
    co_return true;
  }

  std::string nextTag() { return "a" + std::to_string(++tagSeq_); }

  void noteCapabilities(std::string_view line) {
    if (line.find("LITERAL+") != std::string_view::npos) literalPlus_ = true;
  }

  asio::awaitable<bool> write(std::string_view data) {
    asio::error_code ec;
    if (tls_) {
      auto [e, n] = co_await asio::async_write(stream_, asio::buffer(data), kTok);
      ec = e;
    } else {
      auto [e, n] = co_await asio::async_write(stream_.next_layer(), asio::buffer(data), kTok);
      ec = e;
    }
    co_return !ec;
  }

  asio::awaitable<size_t> readSome() {
    if (end_ == buf_.size()) {
      if (begin_ > 0) {
        std::memmove(buf_.data(), buf_.data() + begin_, end_ - begin_);
        end_ -= begin_;
        begin_ = 0;
      } else if (buf_.size() < (1u << 20)) {
        buf_.resize(buf_.size() * 2);
      } else {
        co_return 0;  // a line longer than 1 MiB: give up on this connection
      }
    }
    auto b = asio::buffer(buf_.data() + end_, buf_.size() - end_);
    size_t n = 0;
    if (tls_) {
      auto [ec, got] = co_await stream_.async_read_some(b, kTok);
      n = ec ? 0 : got;
    } else {
      auto [ec, got] = co_await stream_.next_layer().async_read_some(b, kTok);
      n = ec ? 0 : got;
    }
    end_ += n;
    co_return n;
  }

  // Skips `n` literal bytes without keeping them.
  asio::awaitable<bool> skip(uint64_t n, Reply& r) {
    r.bytes += n;
    for (int guard = 0; guard < 1000000 && n > 0; ++guard) {
      size_t have = end_ - begin_;
      if (have >= n) {
        begin_ += n;
        co_return true;
      }
      n -= have;
      begin_ = end_ = 0;
      size_t got = co_await readSome();
      if (got == 0) co_return false;
    }
    co_return n == 0;
  }

  // One response line (literals skipped, their headers kept): into r.tagged; counts EXISTS/FETCH
  // into `acc` when given.
  asio::awaitable<bool> readLine(Reply& line, Reply* acc) {
    line.tagged.clear();
    for (int guard = 0; guard < 100000; ++guard) {
      char* start = buf_.data() + begin_;
      size_t have = end_ - begin_;
      char* crlf = have >= 2 ? static_cast<char*>(memmem(start, have, "\r\n", 2)) : nullptr;
      if (!crlf) {
        size_t got = co_await readSome();
        if (got == 0) co_return false;
        continue;
      }
      size_t len = size_t(crlf - start);
      std::string_view piece(start, len);
      begin_ += len + 2;
      line.bytes += len + 2;
      if (line.tagged.size() < 4096) line.tagged.append(piece.substr(0, 4096 - line.tagged.size()));
      // A literal announced at the end of the line: skip it, then the line continues.
      uint64_t literal = 0;
      if (len >= 3 && piece.back() == '}') {
        size_t open = piece.rfind('{');
        if (open != std::string_view::npos) {
          bool digits = open + 1 < len - 1;
          for (size_t i = open + 1; i + 1 < len; ++i) {
            if (piece[i] < '0' || piece[i] > '9') digits = false;
            else literal = literal * 10 + uint64_t(piece[i] - '0');
          }
          if (digits) {
            bool skipped = co_await skip(literal, line);
            if (!skipped) co_return false;
            continue;
          }
        }
      }
      noteUntagged(line.tagged, line);
      if (acc) {
        acc->bytes += line.bytes;
        if (line.exists >= 0) acc->exists = line.exists;
        acc->fetches += line.fetches;
      }
      co_return true;
    }
    co_return false;
  }

  static void noteUntagged(std::string_view l, Reply& r) {
    if (l.size() < 4 || l[0] != '*' || l[1] != ' ') return;
    size_t i = 2;
    int64_t n = 0;
    bool digits = false;
    while (i < l.size() && l[i] >= '0' && l[i] <= '9') n = n * 10 + (l[i++] - '0'), digits = true;
    if (!digits || i >= l.size() || l[i] != ' ') return;
    std::string_view rest = l.substr(i + 1);
    if (rest.rfind("EXISTS", 0) == 0) r.exists = n;
    else if (rest.rfind("FETCH", 0) == 0) ++r.fetches;
  }

  asio::awaitable<void> readUntilTagged(const std::string& tag, Reply& r, bool collect) {
    for (uint64_t guard = 0; guard < 100000000; ++guard) {
      Reply line;
      bool got = co_await readLine(line, &r);
      if (!got) {
        r.ioError = true;
        co_return;
      }
      if (line.tagged.size() > tag.size() && line.tagged.compare(0, tag.size(), tag) == 0 &&
          line.tagged[tag.size()] == ' ') {
        r.tagged = std::move(line.tagged);
        r.ok = r.tagged.compare(tag.size() + 1, 2, "OK") == 0;
        noteCapabilities(r.tagged);
        co_return;
      }
      if (line.tagged.rfind("* CAPABILITY", 0) == 0) noteCapabilities(line.tagged);
      if (collect) r.untagged.push_back(std::move(line.tagged));
    }
    r.ioError = true;
  }

  asio::ssl::stream<tcp::socket> stream_;
  bool tls_ = false;
  bool literalPlus_ = false;
  std::vector<char> buf_;
  size_t begin_ = 0, end_ = 0;
  uint64_t tagSeq_ = 0;
  std::string out_;
  std::string idleTag_;
  Clock::time_point deadline_ = Clock::time_point::max();
};

// Closes connections whose current operation ran past its deadline (runs until `until`).
template <class Registry>
asio::awaitable<void> watchdog(Registry& conns, Clock::time_point until) {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  for (int guard = 0; guard < 10000000; ++guard) {
    timer.expires_after(std::chrono::milliseconds(250));
    [[maybe_unused]] auto [ec] = co_await timer.async_wait(kTok);
    auto now = Clock::now();
    for (ImapConn* c : conns)
      if (c->expired(now)) {
        c->close();
        c->clearDeadline();
      }
    if (now > until) co_return;
  }
}

}  // namespace tern::bench
