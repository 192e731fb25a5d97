// Commands valid in any state or before login: CAPABILITY, NOOP, LOGOUT, STARTTLS, LOGIN,
// AUTHENTICATE, ENABLE, ID, NAMESPACE. Credentials are checked on the blocking pool; failures wait out
// the throttle's delay before answering and are logged without the password.
#include <asio/experimental/as_tuple.hpp>

#include "auth/sasl.h"
#include "imap/protocol/response.h"
#include "imap/server/session.h"
#include "util/log.h"
#include "util/strings.h"

namespace tern::imap::server {

asio::awaitable<void> Session::cmdCapability(const std::string& tag) {
  send("* CAPABILITY " + capabilities() + "\r\n");
  ok(tag, "CAPABILITY completed");
  co_return;
}

asio::awaitable<void> Session::cmdNoop(const std::string& tag) {
  ok(tag, "NOOP completed");
  co_return;
}

asio::awaitable<void> Session::cmdCheck(const std::string& tag) {
  ok(tag, "CHECK completed");
  co_return;
}

asio::awaitable<void> Session::cmdLogout(const std::string& tag) {
  send("* BYE Tern logging out\r\n");
  ok(tag, "LOGOUT completed");
  state_ = SessionState::Logout;
  co_return;
}

asio::awaitable<void> Session::cmdStartTls(const std::string& tag) {
  if (stream_->isTls()) {
    bad(tag, "", "Already in TLS");
    co_return;
  }
  if (!ctx_->settings.tlsAvailable) {
    no(tag, "", "TLS not available");
    co_return;
  }
  ok(tag, "Begin TLS negotiation now");
  emitTagged();
  const bool flowing = co_await flush();
  if (!flowing) co_return;
  // Anything the client pipelined after STARTTLS arrived in plaintext: throw it away (RFC 9051 6.2.1).
  in_.clear();
  reader_.reset();
  auto ec = co_await stream_->startTls(std::chrono::seconds(30));
  if (ec) {
    log::info("imap") << logPrefix_ << "TLS handshake failed: " << ec.message();
    closing_ = true;
    co_return;
  }
  log::debug("imap") << logPrefix_ << "STARTTLS " << stream_->tlsVersion() << " " << stream_->tlsCipher();
}

asio::awaitable<void> Session::finishLogin(const std::string& tag, const store::Account& account) {
  account_ = account;
  state_ = SessionState::Authenticated;
  reader_ = CommandReader(ctx_->settings.reader);  // between commands: nothing partial is lost
  log::info("imap") << logPrefix_ << "login user=" << account.address << " ip=" << stream_->remoteAddress()
                    << (stream_->isTls() ? " tls" : "");
  ok(tag, "Logged in", "CAPABILITY " + capabilities());
  co_return;
}

asio::awaitable<void> Session::authFailed(const std::string& tag, std::chrono::milliseconds delay, bool throttled) {
  if (delay.count() > 0) {
    asio::steady_timer t(co_await asio::this_coro::executor);
    t.expires_after(delay);
    co_await t.async_wait(asio::experimental::as_tuple(asio::use_awaitable));
  }
  log::info("imap") << logPrefix_ << "auth failed ip=" << stream_->remoteAddress() << (throttled ? " throttled" : "");
  if (throttled)
    no(tag, "UNAVAILABLE", "Too many failed logins; try again later");
  else
    no(tag, "AUTHENTICATIONFAILED", "Authentication failed");
}

asio::awaitable<void> Session::cmdLogin(const std::string& tag, const Login& c) {
  if (!plaintextAuthAllowed()) {
    no(tag, "PRIVACYREQUIRED", "Use STARTTLS first");
    co_return;
  }
  std::string ip = stream_->remoteAddress();
  auto outcome = co_await blocking([&] { return ctx_->auth.verifyPassword(c.user, c.password, ip); });
  if (outcome.kind == auth::Authenticator::Outcome::Kind::Ok && outcome.account) {
    co_await finishLogin(tag, *outcome.account);
  } else {
    co_await authFailed(tag, outcome.delay, outcome.kind == auth::Authenticator::Outcome::Kind::Throttled);
  }
}

asio::awaitable<void> Session::cmdAuthenticate(const std::string& tag, const Authenticate& c) {
  if (!plaintextAuthAllowed()) {
    no(tag, "PRIVACYREQUIRED", "Use STARTTLS first");
    co_return;
  }
  auto mech = auth::makeSaslMechanism(c.mechanism, ctx_->auth, stream_->remoteAddress());
  if (!mech) {
    no(tag, "CANNOT", "Unsupported authentication mechanism");
    co_return;
  }
  std::optional<std::string> response;
  if (c.initialResponse) {
    if (*c.initialResponse == "=") {
      response = std::string();
    } else {
      response = base64Decode(*c.initialResponse);
      if (!response) {
        bad(tag, "", "Invalid base64 in initial response");
        co_return;
      }
    }
  }
  for (int round = 0; round < 10; ++round) {
    auth::SaslMechanism::Step step = co_await blocking([&] {
      return mech->step(response ? std::optional<std::string_view>(*response) : std::nullopt);
    });
    switch (step.kind) {
      case auth::SaslMechanism::Step::Kind::Success:
        if (!step.data.empty()) {
          // SCRAM's server-final message goes in the success response code-less text? RFC 9051 allows
          // data with the tagged OK only via a continuation; send it as one and expect an empty reply.
          send("+ " + base64Encode(step.data) + "\r\n");
          const bool flowing = co_await flush();
          if (!flowing) co_return;
          auto line = co_await readLine(std::chrono::seconds(60));
          if (!line) co_return;
          if (!line->empty()) {
            bad(tag, "", "Authentication exchange cancelled");
            co_return;
          }
        }
        co_await finishLogin(tag, *step.account);
        co_return;
      case auth::SaslMechanism::Step::Kind::Failure:
        if (step.malformed) {
          bad(tag, "", "Malformed authentication message");
          co_return;
        }
        co_await authFailed(tag, step.delay, false);
        co_return;
      case auth::SaslMechanism::Step::Kind::Throttled:
        co_await authFailed(tag, step.delay, true);
        co_return;
      case auth::SaslMechanism::Step::Kind::Challenge: {
        send("+ " + base64Encode(step.data) + "\r\n");
        const bool flowing = co_await flush();
        if (!flowing) co_return;
        auto line = co_await readLine(std::chrono::seconds(60));
        if (!line) co_return;
        if (*line == "*") {
          bad(tag, "", "Authentication cancelled");
          co_return;
        }
        response = base64Decode(*line);
        if (!response) {
          bad(tag, "", "Invalid base64");
          co_return;
        }
        break;
      }
    }
  }
  bad(tag, "", "Authentication exchange too long");
}

asio::awaitable<void> Session::cmdEnable(const std::string& tag, const Enable& c) {
  std::string enabled;
  for (const auto& cap : c.capabilities) {
    if (iequals(cap, "IMAP4REV2") && !rev2_) {
      rev2_ = true;
      enabled += " IMAP4rev2";
    } else if (iequals(cap, "UTF8=ACCEPT") && !utf8Accept_) {
      utf8Accept_ = true;
      enabled += " UTF8=ACCEPT";
    }
  }
  send("* ENABLED" + enabled + "\r\n");
  ok(tag, "ENABLE completed");
  co_return;
}

asio::awaitable<void> Session::cmdId(const std::string& tag, const Id& c) {
  std::string client;
  for (const auto& [k, v] : c.fields)
    if (v && (iequals(k, "name") || iequals(k, "version"))) client += " " + k + "=" + log::escape(*v, 60);
  if (!client.empty()) log::info("imap") << logPrefix_ << "client" << client;
  send("* ID (\"name\" \"Tern\" \"vendor\" \"Tern\" \"version\" \"0.1.0\")\r\n");
  ok(tag, "ID completed");
  co_return;
}

asio::awaitable<void> Session::cmdNamespace(const std::string& tag) {
  send("* NAMESPACE ((\"\" \"/\")) NIL NIL\r\n");
  ok(tag, "NAMESPACE completed");
  co_return;
}

}  // namespace tern::imap::server
