// The SMTP/LMTP session loop: framing, parsing, the command gate and dispatch, the error budget and
// the timeouts. Untrusted bytes arrive here; every check runs in the same order before any handler:
// line length and bare CR/LF (LineReader), syntax (parseCommand), state and authorisation (gate).
#include "smtp/server/session.h"

#include "smtp/protocol/parser.h"
#include "util/log.h"

namespace tern::smtp::server {

namespace {
constexpr size_t kReadChunk = 16 * 1024;
}

asio::awaitable<void> runSession(std::shared_ptr<SmtpContext> ctx, Service service,
                                 std::shared_ptr<net::Stream> stream) {
  auto session = std::make_shared<Session>(std::move(ctx), service, std::move(stream));
  co_await session->run();
}

Reply storeErrorReply(const store::Error& error) {
  switch (error.code) {
    case store::Errc::NotFound: return replies::mailboxUnavailable();
    case store::Errc::OverQuota: return replies::mailboxFull();
    case store::Errc::Invalid: return Reply{554, "5.3.0", {"Message refused by the store"}};
    case store::Errc::Unavailable: return replies::insufficientStorage();
    case store::Errc::AlreadyExists:
    case store::Errc::HasChildren:
    case store::Errc::Conflict:
    case store::Errc::Internal: return replies::localError();
  }
  return replies::localError();
}

Session::Session(std::shared_ptr<SmtpContext> ctx, Service service, std::shared_ptr<net::Stream> stream)
    : ctx_(std::move(ctx)),
      service_(service),
      stream_(std::move(stream)),
      id_(ctx_->nextSessionId++),
      lineReader_(ctx_->settings.maxLineLength) {
  logPrefix_ = "session=" + std::to_string(id_) + " ip=" + stream_->remoteAddress() + " ";
  ++ctx_->activeSessions;
}

Session::~Session() { --ctx_->activeSessions; }

void Session::reply(const Reply& r) {
  if (r.code >= 400) ++errors_;
  appendReply(out_, r);
}

asio::awaitable<bool> Session::flush() {
  if (out_.empty() || broken_) co_return !broken_;
  std::string data;
  data.swap(out_);
  auto ec = co_await stream_->write(data);
  if (ec) {
    broken_ = true;
    closing_ = true;
  }
  co_return !broken_;
}

asio::awaitable<bool> Session::readMore(std::chrono::milliseconds timeout) {
  char* room = in_.prepare(kReadChunk);
  auto [ec, n] = co_await stream_->readSome(asio::buffer(room, kReadChunk), timeout);
  in_.commit(n);
  if (ec) {
    if (ec == asio::error::timed_out) {
      reply(replies::timeout(ctx_->settings.hostname));
      co_await flush();
    }
    closing_ = true;
    co_return false;
  }
  co_return true;
}

std::chrono::milliseconds Session::timeLeft(std::chrono::steady_clock::time_point deadline) const {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
  return std::max(left, std::chrono::milliseconds(1));
}

asio::awaitable<std::optional<std::string>> Session::readLine() {
  // The whole line within the command timeout: a client dripping a byte at a time gains nothing.
  const auto deadline = std::chrono::steady_clock::now() + ctx_->settings.commandTimeout;
  for (;;) {
    std::string_view avail = pending();
    auto status = lineReader_.feed(avail);
    in_.consumeUntil(avail);
    if (status == LineReader::Status::Line) co_return lineReader_.line();
    if (status != LineReader::Status::NeedMore) co_return std::nullopt;
    const bool flowing = co_await readMore(timeLeft(deadline));
    if (!flowing) co_return std::nullopt;
  }
}

GateState Session::gateState() const {
  GateState g;
  g.service = service_;
  g.tls = stream_->isTls();
  g.greeted = greeted_;
  g.authenticated = account_.has_value();
  g.inTransaction = txn_.has_value();
  g.hasRecipients = txn_ && !txn_->recipients.empty();
  g.inBdat = inBdat_;
  return g;
}

void Session::resetTransaction() {
  txn_.reset();
  inBdat_ = false;
}

asio::awaitable<void> Session::run() {
  const auto& s = ctx_->settings;
  log::info("smtp") << logPrefix_ << "connect port=" << stream_->localPort();
  reply(replies::greeting(s.hostname, service_ == Service::Lmtp));
  // Each command line must arrive whole within the command timeout (RFC 5321 4.5.3.2.7), counted from
  // when the server became ready for it, not per read: a byte a second does not keep a session alive.
  auto lineDeadline = std::chrono::steady_clock::now() + s.commandTimeout;
  bool lineHandled = false;
  for (;;) {
    if (closing_) break;
    if (lineHandled) {
      lineDeadline = std::chrono::steady_clock::now() + s.commandTimeout;
      lineHandled = false;
    }
    if (errors_ >= s.maxErrors) {
      appendReply(out_, replies::tooManyErrors(s.hostname));
      co_await flush();
      break;
    }
    std::string_view avail = pending();
    auto status = lineReader_.feed(avail);
    in_.consumeUntil(avail);
    if (status == LineReader::Status::NeedMore) {
      // Pipelining (RFC 2920): replies are sent when the client's input is exhausted.
      const bool flowing = co_await flush();
      if (!flowing) break;
      const bool more = co_await readMore(timeLeft(lineDeadline));
      if (!more) break;
      continue;
    }
    lineHandled = true;
    if (status == LineReader::Status::TooLong) {
      reply(replies::lineTooLong());
      continue;
    }
    if (status == LineReader::Status::BareLineEnding) {
      reply(replies::bareLineEnding());
      continue;
    }
    ParserOptions po;
    po.smtputf8 = txn_ && txn_->params.smtputf8;
    auto parsed = parseCommand(lineReader_.line(), po);
    if (!parsed) {
      reply(parsed.error().reply());
      if (parsed.error().desync) {
        co_await flush();
        break;
      }
      continue;
    }
    co_await dispatch(*parsed);
  }
  co_await flush();
  co_await stream_->close();
  log::info("smtp") << logPrefix_ << "disconnect messages=" << messages_ << " errors=" << errors_;
}

asio::awaitable<void> Session::dispatch(Command& cmd) {
  auto refusal = gate(cmd, gateState());
  if (refusal) {
    reply(*refusal);
    // A refused BDAT is still followed by its octets: read and drop them to stay in step.
    if (auto* b = std::get_if<Bdat>(&cmd)) co_await cmdBdat(*b, true);
    co_return;
  }
  if (auto* c = std::get_if<Ehlo>(&cmd)) co_await cmdEhlo(*c);
  else if (auto* c = std::get_if<Helo>(&cmd)) co_await cmdHelo(*c);
  else if (auto* c = std::get_if<Mail>(&cmd)) co_await cmdMail(*c);
  else if (auto* c = std::get_if<Rcpt>(&cmd)) co_await cmdRcpt(*c);
  else if (std::holds_alternative<Data>(cmd)) co_await cmdData();
  else if (auto* c = std::get_if<Bdat>(&cmd)) co_await cmdBdat(*c, false);
  else if (std::holds_alternative<Rset>(cmd)) cmdRset();
  else if (std::holds_alternative<Noop>(cmd)) cmdNoop();
  else if (std::holds_alternative<Quit>(cmd)) cmdQuit();
  else if (std::holds_alternative<Vrfy>(cmd)) cmdVrfy();
  else if (std::holds_alternative<Help>(cmd)) cmdHelp();
  else if (std::holds_alternative<StartTls>(cmd)) co_await cmdStartTls();
  else if (auto* c = std::get_if<Auth>(&cmd)) co_await cmdAuth(*c);
}

}  // namespace tern::smtp::server
