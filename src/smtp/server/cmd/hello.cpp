// EHLO, HELO, LHLO, STARTTLS, and the simple verbs RSET, NOOP, QUIT, VRFY, HELP.
// Arguments were validated by the parser; VRFY never says whether an address exists.
#include "smtp/server/session.h"
#include "util/log.h"

namespace tern::smtp::server {

asio::awaitable<void> Session::cmdEhlo(const Ehlo& c) {
  resetTransaction();  // RFC 5321 4.1.4: EHLO also resets the transaction
  heloDomain_ = c.domain;
  greeted_ = true;
  ehlo_ = true;
  reply(replies::ehlo(ctx_->settings.hostname, c.domain,
                      ehloExtensions(service_, stream_->isTls(), ctx_->settings.tlsAvailable, account_.has_value(),
                                     ctx_->settings.maxMessageSize)));
  co_return;
}

asio::awaitable<void> Session::cmdHelo(const Helo& c) {
  resetTransaction();
  heloDomain_ = c.domain;
  greeted_ = true;
  ehlo_ = false;
  reply(replies::helo(ctx_->settings.hostname));
  co_return;
}

asio::awaitable<void> Session::cmdStartTls() {
  if (!ctx_->settings.tlsAvailable) {
    reply(replies::notImplemented());
    co_return;
  }
  reply(replies::readyToStartTls());
  const bool flowing = co_await flush();
  if (!flowing) co_return;
  // Anything pipelined after STARTTLS was sent in plaintext and is thrown away (CVE-2011-0411).
  in_.clear();
  lineReader_.reset();
  auto ec = co_await stream_->startTls(std::chrono::duration_cast<std::chrono::milliseconds>(
      ctx_->settings.tlsHandshakeTimeout));
  if (ec) {
    log::info("smtp") << logPrefix_ << "TLS handshake failed: " << ec.message();
    closing_ = true;
    co_return;
  }
  // RFC 3207 4.2: forget everything learnt before TLS; the client must EHLO again.
  greeted_ = false;
  ehlo_ = false;
  heloDomain_.clear();
  account_.reset();
  resetTransaction();
}

void Session::cmdRset() {
  resetTransaction();
  reply(replies::resetOk());
}

void Session::cmdNoop() { reply(replies::ok()); }

void Session::cmdQuit() {
  reply(replies::closing(ctx_->settings.hostname));
  closing_ = true;  // the loop ends; its final flush sends the 221
}

void Session::cmdVrfy() { reply(replies::vrfyCannotVerify()); }

void Session::cmdHelp() { reply(replies::help()); }

}  // namespace tern::smtp::server
