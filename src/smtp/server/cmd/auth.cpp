// AUTH (RFC 4954) on submission, over TLS only: PLAIN, LOGIN, SCRAM-SHA-256 through the shared SASL
// mechanisms and Authenticator (same accounts, throttle and credential checks as IMAP). Client
// responses are untrusted base64 lines bounded by the line length limit; credentials are never logged.
#include "auth/sasl.h"
#include "smtp/server/session.h"
#include "util/log.h"
#include "util/strings.h"

namespace tern::smtp::server {

asio::awaitable<void> Session::cmdAuth(const Auth& c) {
  auto mech = auth::makeSaslMechanism(c.mechanism, ctx_->auth, stream_->remoteAddress());
  if (!mech) {
    reply(Reply{504, "5.5.4", {"Unrecognized authentication type"}});
    co_return;
  }
  std::optional<std::string> response;
  if (c.initialResponse) {
    if (*c.initialResponse == "=") {
      response = std::string();
    } else {
      response = base64Decode(*c.initialResponse);
      if (!response) {
        reply(Reply{501, "5.5.2", {"Invalid base64 data"}});
        co_return;
      }
    }
  }
  for (int round = 0; round < 10; ++round) {
    auth::SaslMechanism::Step step = co_await blocking([&] {
      return mech->step(response ? std::optional<std::string_view>(*response) : std::nullopt);
    });
    using Kind = auth::SaslMechanism::Step::Kind;
    if (step.kind == Kind::Success) {
      if (!step.data.empty()) {
        // SCRAM server-final: RFC 4954 allows it in the 235 only as "additional data"; send it as a
        // 334 challenge and expect an empty response, which every SCRAM client handles.
        reply(replies::authChallenge(base64Encode(step.data)));
        const bool flowing = co_await flush();
        if (!flowing) co_return;
        auto line = co_await readLine();
        if (!line) {
          closing_ = true;
          co_return;
        }
        if (!line->empty()) {
          reply(Reply{501, "5.7.0", {"Authentication cancelled"}});
          co_return;
        }
      }
      account_ = *step.account;
      log::info("smtp") << logPrefix_ << "authenticated as " << account_->address;
      reply(replies::authSuccess());
      co_return;
    }
    if (step.kind == Kind::Failure || step.kind == Kind::Throttled) {
      if (step.delay.count() > 0) {
        asio::steady_timer t(stream_->executor());
        t.expires_after(step.delay);
        co_await t.async_wait(asio::experimental::as_tuple(asio::use_awaitable));
      }
      log::info("smtp") << logPrefix_ << "authentication failed" << (step.kind == Kind::Throttled ? " (throttled)" : "");
      if (step.malformed) reply(Reply{501, "5.5.2", {"Malformed authentication data"}});
      else if (step.kind == Kind::Throttled) reply(Reply{454, "4.7.0", {"Temporary authentication failure"}});
      else reply(replies::authFailed());
      co_return;
    }
    reply(replies::authChallenge(base64Encode(step.data)));
    const bool flowing = co_await flush();
    if (!flowing) co_return;
    auto line = co_await readLine();
    if (!line) {
      closing_ = true;
      co_return;
    }
    if (*line == "*") {
      reply(Reply{501, "5.0.0", {"Authentication cancelled"}});
      co_return;
    }
    response = base64Decode(*line);
    if (!response) {
      reply(Reply{501, "5.5.2", {"Invalid base64 data"}});
      co_return;
    }
  }
  reply(Reply{501, "5.5.2", {"Authentication exchange too long"}});
}

}  // namespace tern::smtp::server
