// The outbound SMTP client: connect, greeting, EHLO/HELO, STARTTLS, AUTH, then transactions with
// PIPELINING (RFC 2920) when offered. Everything the peer sends is untrusted: replies go through
// ReplyParser (line length and line count limits) and every read has the RFC 5321 4.5.3.2 timeout.
#include "smtp/client/client.h"

#include <openssl/crypto.h>

#include <algorithm>
#include <array>
#include <cctype>

#include "net/connect.h"
#include "net/stream.h"
#include "smtp/protocol/reply_parser.h"
#include "util/log.h"
#include "util/strings.h"

namespace tern::smtp::client {
namespace {

using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

constexpr size_t kChunk = 64 * 1024;          // bytes per DATA write: a big message is never copied whole
constexpr auto kQuitTimeout = std::chrono::seconds(5);
constexpr size_t kMaxAuthMechanisms = 32;

milliseconds ms(std::chrono::seconds s) { return std::chrono::duration_cast<milliseconds>(s); }

std::string upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

std::vector<std::string_view> words(std::string_view s) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && s[i] == ' ') ++i;
    size_t j = i;
    while (j < s.size() && s[j] != ' ') ++j;
    if (j > i) out.push_back(s.substr(i, j - i));
    i = j;
  }
  return out;
}

Reply synth(int code, std::string_view enhanced, std::string text) {
  return Reply{code, std::string(enhanced), {std::move(text)}};
}

// "250 2.1.5 Ok" for error details and logs (the text is already free of controls).
std::string summary(const Reply& r) {
  std::string s = std::to_string(r.code);
  if (!r.enhanced.empty()) s += " " + r.enhanced;
  if (!r.lines.empty()) s += " " + r.lines.front();
  return log::escape(s, 300);
}

bool positive(const Reply& r) { return r.code >= 200 && r.code < 300; }

// Wipes a string holding credentials before it is freed.
void wipe(std::string& s) {
  if (!s.empty()) OPENSSL_cleanse(s.data(), s.size());
  s.clear();
}

ConnectFailure failure(std::string detail, std::optional<Reply> reply = std::nullopt) {
  return ConnectFailure{std::move(detail), std::move(reply)};
}

class ClientConnection final : public Connection {
 public:
  ClientConnection(std::unique_ptr<net::Stream> stream, std::string address, std::string hostName,
                   const ClientSettings& settings)
      : stream_(std::move(stream)),
        address_(std::move(address)),
        hostName_(std::move(hostName)),
        settings_(settings) {}

  asio::awaitable<SendResult> send(const Envelope& envelope, std::string_view prefix,
                                   std::string_view message) override;
  asio::awaitable<bool> reset() override;
  asio::awaitable<void> quit() override;

  bool usable() const override { return usable_; }
  const Capabilities& capabilities() const override { return caps_; }
  const std::string& peerAddress() const override { return address_; }
  const std::string& peerGreeting() const override { return greeting_; }
  std::string tlsVersion() const override { return stream_->tlsVersion(); }
  std::string tlsCipher() const override { return stream_->tlsCipher(); }
  bool certificateVerified() const override { return verified_; }

  // --- connection set-up, used by connect() ---
  // Greeting, EHLO/HELO, STARTTLS, AUTH. `retryPlain` is set when opportunistic TLS failed in a way
  // that left the connection unusable, so a plaintext retry on a new connection makes sense.
  asio::awaitable<std::optional<ConnectFailure>> open(bool allowStartTls, bool& retryPlain);

 private:
  std::string where() const { return hostName_ + "[" + address_ + "]"; }
  void fail(std::string detail) {
    usable_ = false;
    if (error_.empty()) error_ = std::move(detail);
  }
  // Reads one reply within `timeout` (the whole reply, however it trickles in); nullopt after a
  // connection error, a timeout or a broken reply (error_ says which; the connection is unusable).
  asio::awaitable<std::optional<Reply>> readReply(milliseconds timeout);
  asio::awaitable<bool> write(std::string_view data, milliseconds timeout);
  asio::awaitable<std::optional<Reply>> command(std::string_view line, milliseconds timeout);
  asio::awaitable<std::optional<ConnectFailure>> hello();
  asio::awaitable<std::optional<ConnectFailure>> startTls(bool& retryPlain, bool& stayPlain);
  asio::awaitable<std::optional<ConnectFailure>> authenticate();
  asio::awaitable<bool> sendBody(std::string_view prefix, std::string_view message);

  std::unique_ptr<net::Stream> stream_;
  std::string address_;
  std::string hostName_;
  ClientSettings settings_;
  ReplyParser parser_;
  std::string pending_;  // received bytes not yet parsed (pipelined replies)
  std::array<char, 16384> buf_{};
  Capabilities caps_;
  std::string greeting_;
  std::string error_;    // why the connection became unusable
  bool usable_ = true;
  bool verified_ = false;
};

asio::awaitable<std::optional<Reply>> ClientConnection::readReply(milliseconds timeout) {
  if (!usable_) co_return std::nullopt;
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    if (!pending_.empty()) {
      std::string_view v(pending_);
      auto status = parser_.feed(v);
      pending_.erase(0, pending_.size() - v.size());
      if (status == ReplyParser::Status::Reply) {
        Reply r = parser_.reply();
        if (r.code == 421) fail(where() + " is closing the connection: " + summary(r));
        co_return r;
      }
      if (status == ReplyParser::Status::Error) {
        fail(where() + " sent a bad reply: " + std::string(parser_.errorText()));
        co_return std::nullopt;
      }
    }
    const auto now = Clock::now();
    if (now >= deadline) {
      fail("timeout waiting for a reply from " + where());
      co_return std::nullopt;
    }
    auto left = std::chrono::duration_cast<milliseconds>(deadline - now) + milliseconds(1);
    auto [ec, n] = co_await stream_->readSome(asio::buffer(buf_), left);
    if (ec) {
      if (ec == asio::error::timed_out) fail("timeout waiting for a reply from " + where());
      else if (ec == asio::error::eof) fail(where() + " closed the connection");
      else fail("reading from " + where() + ": " + ec.message());
      co_return std::nullopt;
    }
    pending_.append(buf_.data(), n);
  }
}

asio::awaitable<bool> ClientConnection::write(std::string_view data, milliseconds timeout) {
  if (!usable_) co_return false;
  stream_->setWriteTimeout(timeout);
  auto ec = co_await stream_->write(data);
  if (ec) {
    fail("writing to " + where() + ": " + (ec == asio::error::timed_out ? std::string("timeout") : ec.message()));
    co_return false;
  }
  co_return true;
}

asio::awaitable<std::optional<Reply>> ClientConnection::command(std::string_view line, milliseconds timeout) {
  const bool written = co_await write(line, timeout);
  if (!written) co_return std::nullopt;
  co_return co_await readReply(timeout);
}

asio::awaitable<std::optional<ConnectFailure>> ClientConnection::hello() {
  const auto t = ms(settings_.timeouts.ehlo);
  auto r = co_await command("EHLO " + settings_.heloName + "\r\n", t);
  if (!r) co_return failure(error_);
  if (r->code == 250) {
    caps_ = parseCapabilities(*r);
    co_return std::nullopt;
  }
  // RFC 5321 3.2: a server that does not know EHLO answers 500/502; try HELO then.
  if (r->code >= 500) {
    auto h = co_await command("HELO " + settings_.heloName + "\r\n", t);
    if (!h) co_return failure(error_);
    if (h->code == 250) {
      caps_ = Capabilities{};
      co_return std::nullopt;
    }
    co_return failure(where() + " refused HELO: " + summary(*h), *h);
  }
  co_return failure(where() + " refused EHLO: " + summary(*r), *r);
}

asio::awaitable<std::optional<ConnectFailure>> ClientConnection::startTls(bool& retryPlain, bool& stayPlain) {
  const bool opportunistic = settings_.tls == TlsPolicy::Opportunistic;
  auto r = co_await command("STARTTLS\r\n", ms(settings_.timeouts.ehlo));
  if (!r) {
    retryPlain = opportunistic;
    co_return failure("STARTTLS: " + error_);
  }
  if (r->code != 220) {
    if (opportunistic && usable_) {
      // A refused STARTTLS leaves the plaintext session as it was (RFC 3207 4): carry on.
      log::info("smtp-client") << where() << " refused STARTTLS (" << summary(*r) << "), continuing in plaintext";
      stayPlain = true;
      co_return std::nullopt;
    }
    co_return failure(where() + " refused STARTTLS: " + summary(*r));
  }
  // Bytes the peer sent after its 220 came in plaintext: an injection attempt, thrown away.
  pending_.clear();
  parser_.reset();
  const bool verify = settings_.tls == TlsPolicy::Verified;
  auto ec = co_await stream_->startTlsClient(hostName_, verify, ms(settings_.timeouts.connect));
  if (ec) {
    fail("TLS handshake with " + where() + " failed: " + ec.message());
    retryPlain = opportunistic;
    co_return failure(error_);
  }
  verified_ = stream_->peerCertificateVerified();
  // RFC 3207 4.2: forget what was learnt before TLS and ask again.
  co_return co_await hello();
}

asio::awaitable<std::optional<ConnectFailure>> ClientConnection::authenticate() {
  const auto t = ms(settings_.timeouts.ehlo);
  const auto& mechs = caps_.authMechanisms;
  const bool plain = std::find(mechs.begin(), mechs.end(), "PLAIN") != mechs.end();
  const bool login = std::find(mechs.begin(), mechs.end(), "LOGIN") != mechs.end();
  if (!plain && !login) co_return failure(where() + " offers no AUTH mechanism we support (PLAIN, LOGIN)");
  std::optional<Reply> r;
  if (plain) {
    // RFC 4616: authzid NUL authcid NUL passwd, sent as the initial response (RFC 4954 4).
    std::string raw;
    raw.push_back('\0');
    raw += *settings_.username;
    raw.push_back('\0');
    raw += *settings_.password;
    std::string line = "AUTH PLAIN " + base64Encode(raw) + "\r\n";
    wipe(raw);
    r = co_await command(line, t);
    wipe(line);
  } else {
    r = co_await command("AUTH LOGIN\r\n", t);
    for (int step = 0; step < 2 && r && r->code == 334; ++step) {
      std::string line = base64Encode(step == 0 ? *settings_.username : *settings_.password) + "\r\n";
      r = co_await command(line, t);
      wipe(line);
    }
  }
  if (!r) co_return failure("AUTH: " + error_);
  if (r->code == 334) {
    // A challenge we have no answer for: cancel the exchange (RFC 4954 4) and give up.
    co_await write("*\r\n", t);
    co_return failure(where() + " sent an unexpected AUTH challenge");
  }
  // 235 per RFC 4954; any 2xx is success, as in Postfix (smtp-sink, for one, answers 250).
  if (!positive(*r)) co_return failure(where() + " refused AUTH: " + summary(*r), *r);
  co_return std::nullopt;
}

asio::awaitable<std::optional<ConnectFailure>> ClientConnection::open(bool allowStartTls, bool& retryPlain) {
  if (settings_.implicitTls) {
    if (!settings_.tlsContext) co_return failure("implicit TLS needs a TLS context");
    auto ec = co_await stream_->startTlsClient(hostName_, settings_.tls == TlsPolicy::Verified,
                                               ms(settings_.timeouts.connect));
    if (ec) co_return failure("TLS handshake with " + where() + " failed: " + ec.message());
    verified_ = stream_->peerCertificateVerified();
  }
  auto greeting = co_await readReply(ms(settings_.timeouts.greeting));
  if (!greeting) co_return failure("greeting: " + error_);
  greeting_ = greeting->lines.empty() ? std::string() : greeting->lines.front();
  if (greeting->code != 220) co_return failure(where() + " refused the connection: " + summary(*greeting), *greeting);

  auto e = co_await hello();
  if (e) co_return e;

  const bool required = settings_.tls == TlsPolicy::Required || settings_.tls == TlsPolicy::Verified;
  if (!stream_->isTls() && settings_.tls != TlsPolicy::None) {
    if (required && !settings_.tlsContext) co_return failure("TLS required but no TLS client context configured");
    if (required && !caps_.startTls) co_return failure(where() + " does not offer STARTTLS (TLS required)");
    if (caps_.startTls && settings_.tlsContext && allowStartTls) {
      bool stayPlain = false;
      auto t = co_await startTls(retryPlain, stayPlain);
      if (t) co_return t;
    }
  }

  if (settings_.username && settings_.password) {
    // Credentials never travel in plaintext; TlsPolicy::None exists for tests and local relays only.
    if (!stream_->isTls() && settings_.tls != TlsPolicy::None) {
      co_return failure("AUTH needs TLS, and the connection to " + where() + " is not encrypted");
    }
    auto a = co_await authenticate();
    if (a) co_return a;
  }
  co_return std::nullopt;
}

asio::awaitable<bool> ClientConnection::sendBody(std::string_view prefix, std::string_view message) {
  const auto t = ms(settings_.timeouts.dataBlock);
  std::string out;
  out.reserve(kChunk + 8);
  bool lineStart = true;
  const std::array<std::string_view, 2> parts{prefix, message};
  for (std::string_view part : parts) {
    size_t pos = 0;
    while (pos < part.size()) {
      // RFC 5321 4.5.2: a line starting with "." gets one more.
      if (lineStart && part[pos] == '.') out.push_back('.');
      size_t nl = part.find('\n', pos);
      size_t end = nl == std::string_view::npos ? part.size() : nl + 1;
      size_t room = kChunk > out.size() ? kChunk - out.size() : 1;
      size_t take = std::min(end - pos, room);
      out.append(part.substr(pos, take));
      pos += take;
      lineStart = part[pos - 1] == '\n';
      if (out.size() >= kChunk) {
        const bool ok = co_await write(out, t);
        if (!ok) co_return false;
        out.clear();
      }
    }
  }
  // The message must end in CRLF before the terminating "." line.
  std::string_view tailSource = !message.empty() ? message : prefix;
  if (!tailSource.empty()) {
    if (tailSource.back() == '\r') out += "\n";
    else if (tailSource.back() != '\n') out += "\r\n";
  }
  out += ".\r\n";
  co_return co_await write(out, t);
}

asio::awaitable<SendResult> ClientConnection::send(const Envelope& envelope, std::string_view prefix,
                                                   std::string_view message) {
  SendResult res;
  const size_t n = envelope.recipients.size();
  auto everyone = [&res, n](const Reply& r) {
    res.transactionFailure = r;
    res.recipientReplies.assign(n, r);
  };
  if (!usable_) {
    everyone(synth(451, "4.4.2", "connection not usable: " + error_));
    co_return res;
  }
  if (n == 0) {
    res.transactionFailure = synth(554, "5.5.1", "no recipients");
    co_return res;
  }
  const uint64_t size = uint64_t(prefix.size()) + message.size();
  if (caps_.maxSize && *caps_.maxSize > 0 && size > *caps_.maxSize) {
    everyone(synth(552, "5.3.4", "message size " + std::to_string(size) + " exceeds the limit of " + where() +
                                     " (" + std::to_string(*caps_.maxSize) + ")"));
    co_return res;
  }
  if (envelope.smtpUtf8 && !caps_.smtpUtf8) {
    everyone(synth(553, "5.6.7", where() + " does not support SMTPUTF8"));
    co_return res;
  }
  if (envelope.eightBit && !caps_.eightBitMime) {
    everyone(synth(554, "5.6.3", where() + " does not support 8BITMIME; conversion not supported"));
    co_return res;
  }

  std::string mail = "MAIL FROM:<" + envelope.sender + ">";
  if (caps_.maxSize) mail += " SIZE=" + std::to_string(size);
  if (envelope.eightBit) mail += " BODY=8BITMIME";
  if (envelope.smtpUtf8) mail += " SMTPUTF8";
  if (caps_.dsn && !envelope.ret.empty()) mail += " RET=" + envelope.ret;
  if (caps_.dsn && !envelope.envid.empty()) mail += " ENVID=" + envelope.envid;
  mail += "\r\n";
  std::vector<std::string> rcpts;
  rcpts.reserve(n);
  for (const auto& r : envelope.recipients) {
    std::string line = "RCPT TO:<" + r.address + ">";
    if (caps_.dsn && !r.notify.empty()) line += " NOTIFY=" + r.notify;
    if (caps_.dsn && !r.orcpt.empty()) line += " ORCPT=" + r.orcpt;
    rcpts.push_back(line + "\r\n");
  }

  res.recipientReplies.assign(n, Reply{});
  std::vector<bool> answered(n, false);  // holds a final reply (RCPT refused, or the DATA outcome)
  auto lost = [&res, &answered, n, this]() {
    Reply r = synth(451, "4.4.2", error_.empty() ? "connection lost" : error_);
    res.transactionFailure = r;
    for (size_t i = 0; i < n; ++i) {
      if (!answered[i]) res.recipientReplies[i] = r;
    }
  };
  const bool pipelining = caps_.pipelining;
  std::optional<Reply> mailReply;
  std::optional<Reply> dataReply;
  std::vector<size_t> accepted;

  if (pipelining) {
    // RFC 2920 3.1: MAIL, every RCPT and DATA in one write; the replies come back in order.
    std::string batch = mail;
    for (const auto& r : rcpts) batch += r;
    batch += "DATA\r\n";
    const bool written = co_await write(batch, ms(settings_.timeouts.mail));
    if (written) mailReply = co_await readReply(ms(settings_.timeouts.mail));
    for (size_t i = 0; i < n && mailReply; ++i) {
      auto r = co_await readReply(ms(settings_.timeouts.rcpt));
      if (!r) break;
      res.recipientReplies[i] = *r;
      if (positive(*r)) accepted.push_back(i);
      else answered[i] = true;
    }
    if (usable_) dataReply = co_await readReply(ms(settings_.timeouts.dataInit));
    if (!dataReply) {
      lost();
      co_await stream_->close();
      co_return res;
    }
    const bool mailOk = positive(*mailReply);
    if (!mailOk || accepted.empty()) {
      if (dataReply->code == 354) {
        // A server that accepted DATA without a transaction: end it with an empty message.
        const bool ok = co_await write(".\r\n", ms(settings_.timeouts.dataBlock));
        if (ok) co_await readReply(ms(settings_.timeouts.dataTermination));
      }
      if (!mailOk) everyone(*mailReply);
      else res.transactionFailure = res.recipientReplies.front();
      co_return res;
    }
  } else {
    mailReply = co_await command(mail, ms(settings_.timeouts.mail));
    if (!mailReply) {
      lost();
      co_await stream_->close();
      co_return res;
    }
    if (!positive(*mailReply)) {
      everyone(*mailReply);
      co_return res;
    }
    for (size_t i = 0; i < n; ++i) {
      auto r = co_await command(rcpts[i], ms(settings_.timeouts.rcpt));
      if (!r) {
        lost();
        co_await stream_->close();
        co_return res;
      }
      res.recipientReplies[i] = *r;
      if (positive(*r)) accepted.push_back(i);
      else answered[i] = true;
    }
    if (accepted.empty()) {
      res.transactionFailure = res.recipientReplies.front();
      co_return res;
    }
    dataReply = co_await command("DATA\r\n", ms(settings_.timeouts.dataInit));
    if (!dataReply) {
      lost();
      co_await stream_->close();
      co_return res;
    }
  }

  if (dataReply->code != 354) {
    res.transactionFailure = *dataReply;
    for (size_t i : accepted) res.recipientReplies[i] = *dataReply;
    co_return res;
  }
  const bool sent = co_await sendBody(prefix, message);
  std::optional<Reply> final;
  if (sent) final = co_await readReply(ms(settings_.timeouts.dataTermination));
  if (!final) {
    lost();
    co_await stream_->close();
    co_return res;
  }
  for (size_t i : accepted) res.recipientReplies[i] = *final;
  if (!positive(*final)) res.transactionFailure = *final;
  co_return res;
}

asio::awaitable<bool> ClientConnection::reset() {
  if (!usable_) co_return false;
  auto r = co_await command("RSET\r\n", ms(settings_.timeouts.mail));
  if (!r) co_return false;
  if (!positive(*r)) {
    fail(where() + " refused RSET: " + summary(*r));
    co_return false;
  }
  co_return true;
}

asio::awaitable<void> ClientConnection::quit() {
  if (usable_) {
    const auto t = std::min(ms(settings_.timeouts.ehlo), milliseconds(kQuitTimeout));
    auto r = co_await command("QUIT\r\n", t);
    (void)r;  // 221 or not, the connection ends here
  }
  usable_ = false;
  if (error_.empty()) error_ = "connection closed (QUIT)";
  co_await stream_->close();
}

asio::awaitable<tern::Result<std::unique_ptr<Connection>, ConnectFailure>> attempt(
    asio::any_io_executor executor, const std::string& address, uint16_t port, const std::string& hostName,
    const ClientSettings& settings, bool allowStartTls, bool& retryPlain) {
  auto [ec, stream] =
      co_await net::connectTcp(executor, address, port, ms(settings.timeouts.connect), settings.tlsContext);
  if (ec) {
    co_return tern::unexpected(failure("connect to " + address + ": " +
                                       (ec == asio::error::timed_out ? std::string("timeout") : ec.message())));
  }
  auto c = std::make_unique<ClientConnection>(std::move(stream), address, hostName, settings);
  auto e = co_await c->open(allowStartTls, retryPlain);
  if (e) {
    co_await c->quit();
    co_return tern::unexpected(std::move(*e));
  }
  co_return std::unique_ptr<Connection>(std::move(c));
}

}  // namespace

Capabilities parseCapabilities(const Reply& ehloReply) {
  Capabilities c;
  c.esmtp = true;
  for (size_t i = 1; i < ehloReply.lines.size(); ++i) {
    auto w = words(ehloReply.lines[i]);
    if (w.empty()) continue;
    std::string keyword = upper(w[0]);
    std::vector<std::string_view> params(w.begin() + 1, w.end());
    // Old servers say "AUTH=LOGIN PLAIN" (pre-RFC 4954 syntax).
    if (keyword.rfind("AUTH=", 0) == 0) {
      std::string_view first = std::string_view(w[0]).substr(5);
      if (!first.empty()) params.insert(params.begin(), first);
      keyword = "AUTH";
    }
    if (keyword == "PIPELINING") c.pipelining = true;
    else if (keyword == "STARTTLS") c.startTls = true;
    else if (keyword == "8BITMIME") c.eightBitMime = true;
    else if (keyword == "SMTPUTF8") c.smtpUtf8 = true;
    else if (keyword == "DSN") c.dsn = true;
    else if (keyword == "CHUNKING") c.chunking = true;
    else if (keyword == "SIZE") {
      uint64_t v = 0;
      bool valid = !params.empty() && !params[0].empty() && params[0].size() <= 19;
      if (valid) {
        for (char ch : params[0]) {
          if (ch < '0' || ch > '9') {
            valid = false;
            break;
          }
          v = v * 10 + static_cast<uint64_t>(ch - '0');
        }
      }
      c.maxSize = valid ? v : 0;  // RFC 1870: no number (or nonsense) means no fixed limit
    } else if (keyword == "AUTH") {
      for (auto p : params) {
        std::string m = upper(p);
        if (c.authMechanisms.size() < kMaxAuthMechanisms &&
            std::find(c.authMechanisms.begin(), c.authMechanisms.end(), m) == c.authMechanisms.end()) {
          c.authMechanisms.push_back(std::move(m));
        }
      }
    }
  }
  return c;
}

asio::awaitable<tern::Result<std::unique_ptr<Connection>, ConnectFailure>> connect(
    asio::any_io_executor executor, const std::vector<std::string>& addresses, uint16_t port,
    std::string hostName, const ClientSettings& settings) {
  const std::vector<std::string> addrs = addresses;
  const ClientSettings s = settings;
  std::optional<ConnectFailure> last;
  for (const auto& address : addrs) {
    bool retryPlain = false;
    auto r = co_await attempt(executor, address, port, hostName, s, true, retryPlain);
    if (!r.ok() && retryPlain) {
      // RFC 7435: opportunistic TLS that failed may fall back to plaintext; once, same address.
      log::info("smtp-client") << "TLS with " << hostName << "[" << address << "] failed ("
                               << r.error().detail << "), retrying without TLS";
      bool again = false;
      r = co_await attempt(executor, address, port, hostName, s, false, again);
    }
    if (r.ok() || r.error().permanent()) co_return std::move(r);
    last = r.error();
  }
  if (!last) last = failure("no addresses to connect to for " + hostName);
  co_return tern::unexpected(std::move(*last));
}

}  // namespace tern::smtp::client
