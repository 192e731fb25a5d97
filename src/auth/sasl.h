// SASL mechanisms as pure-ish state machines over raw (already base64-decoded) client responses:
// PLAIN (RFC 4616), LOGIN, SCRAM-SHA-256 (RFC 5802, 7677). The protocol session does the base64 and
// the continuation framing; step() may block (it verifies credentials), so run it on the pool.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "auth/authenticator.h"

namespace tern::auth {

class SaslMechanism {
 public:
  struct Step {
    enum class Kind { Challenge, Success, Failure, Throttled } kind = Kind::Failure;
    std::string data;                        // Challenge: raw bytes to send; Success: final server data (SCRAM);
                                             // Failure: SCRAM's server-error ("e=invalid-proof"), may be ignored
    std::optional<store::Account> account;   // Success
    std::chrono::milliseconds delay{0};      // Failure: wait before answering
    bool malformed = false;                  // Failure because the client's message was not valid syntax
  };
  virtual ~SaslMechanism() = default;
  // First call: the initial response (SASL-IR) or nullopt when the client sent none.
  virtual Step step(std::optional<std::string_view> response) = 0;
};

// Names offered, in order of preference.
std::vector<std::string> saslMechanisms();
// nullptr for an unknown mechanism. `remoteIp` feeds the throttle.
std::unique_ptr<SaslMechanism> makeSaslMechanism(std::string_view name, Authenticator& auth,
                                                 std::string remoteIp);

struct SaslOptions {
  std::string scramServerNonce;  // tests only (RFC vectors): fixed server nonce; empty means random
};
std::unique_ptr<SaslMechanism> makeSaslMechanism(std::string_view name, Authenticator& auth,
                                                 std::string remoteIp, const SaslOptions& options);

}  // namespace tern::auth
