// SASL PLAIN, LOGIN and SCRAM-SHA-256 server mechanisms over decoded client responses.
// Untrusted input: every client message is parsed strictly (NUL-separated fields, SCRAM attribute
// syntax, strict base64); the session's line limit bounds their size, user names are capped again here.
#include "auth/sasl.h"

#include "auth/crypto.h"
#include "util/strings.h"

namespace tern::auth {

namespace {

using Step = SaslMechanism::Step;
using Kind = Step::Kind;

constexpr size_t kMaxUserLength = 320;
constexpr size_t kServerNonceBytes = 18;  // 24 base64 characters

Step malformed() {
  Step s;
  s.kind = Kind::Failure;
  s.malformed = true;
  return s;
}

Step challenge(std::string data) {
  Step s;
  s.kind = Kind::Challenge;
  s.data = std::move(data);
  return s;
}

Step fromOutcome(Authenticator::Outcome outcome) {
  Step s;
  s.delay = outcome.delay;
  switch (outcome.kind) {
    case Authenticator::Outcome::Kind::Ok:
      s.kind = Kind::Success;
      s.account = std::move(outcome.account);
      break;
    case Authenticator::Outcome::Kind::Failed:
      s.kind = Kind::Failure;
      break;
    case Authenticator::Outcome::Kind::Throttled:
      s.kind = Kind::Throttled;
      break;
  }
  return s;
}

// RFC 4616: message = [authzid] UTF8NUL authcid UTF8NUL passwd
class Plain final : public SaslMechanism {
 public:
  Plain(Authenticator& auth, std::string ip) : auth_(auth), ip_(std::move(ip)) {}

  Step step(std::optional<std::string_view> response) override {
    if (done_) return malformed();
    if (!response) {
      if (challenged_) return malformed();
      challenged_ = true;
      return challenge("");
    }
    done_ = true;
    const std::string_view msg = *response;
    const size_t nul1 = msg.find('\0');
    if (nul1 == std::string_view::npos) return malformed();
    const size_t nul2 = msg.find('\0', nul1 + 1);
    if (nul2 == std::string_view::npos || msg.find('\0', nul2 + 1) != std::string_view::npos) return malformed();
    const std::string_view authzid = msg.substr(0, nul1);
    const std::string_view authcid = msg.substr(nul1 + 1, nul2 - nul1 - 1);
    const std::string_view password = msg.substr(nul2 + 1);
    if (authcid.empty() || authcid.size() > kMaxUserLength) return malformed();
    // We offer no proxy authorization: acting as someone else is refused outright.
    if (!authzid.empty() && !iequals(authzid, authcid)) return Step{};
    return fromOutcome(auth_.verifyPassword(authcid, password, ip_));
  }

 private:
  Authenticator& auth_;
  std::string ip_;
  bool challenged_ = false;
  bool done_ = false;
};

// The non-standard but widespread LOGIN mechanism (draft-murchison-sasl-login).
class Login final : public SaslMechanism {
 public:
  Login(Authenticator& auth, std::string ip) : auth_(auth), ip_(std::move(ip)) {}

  Step step(std::optional<std::string_view> response) override {
    switch (state_) {
      case State::Start:
        if (!response) {
          state_ = State::WantUser;
          return challenge("Username:");
        }
        [[fallthrough]];  // an initial response carries the user name
      case State::WantUser:
        if (!response || response->empty() || response->size() > kMaxUserLength ||
            response->find('\0') != std::string_view::npos) {
          state_ = State::Done;
          return malformed();
        }
        user_ = std::string(*response);
        state_ = State::WantPassword;
        return challenge("Password:");
      case State::WantPassword:
        state_ = State::Done;
        if (!response) return malformed();
        return fromOutcome(auth_.verifyPassword(user_, *response, ip_));
      case State::Done:
        break;
    }
    return malformed();
  }

 private:
  enum class State { Start, WantUser, WantPassword, Done };
  Authenticator& auth_;
  std::string ip_;
  State state_ = State::Start;
  std::string user_;
};

// RFC 5802 saslname: "=2C" and "=3D" stand for ',' and '='; any other '=' is invalid.
std::optional<std::string> decodeSaslName(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == ',') return std::nullopt;
    if (s[i] != '=') {
      out.push_back(s[i]);
      continue;
    }
    const std::string_view esc = s.substr(i + 1, 2);
    if (esc == "2C") {
      out.push_back(',');
    } else if (esc == "3D") {
      out.push_back('=');
    } else {
      return std::nullopt;
    }
    i += 2;
  }
  return out;
}

bool isPrintableNonce(std::string_view s) {
  if (s.empty()) return false;
  for (unsigned char c : s) {
    if (c < 0x21 || c > 0x7e || c == ',') return false;
  }
  return true;
}

// RFC 5802 / RFC 7677, without channel binding (we do not offer SCRAM-SHA-256-PLUS).
class ScramSha256 final : public SaslMechanism {
 public:
  ScramSha256(Authenticator& auth, std::string ip, std::string fixedNonce)
      : auth_(auth), ip_(std::move(ip)), fixedNonce_(std::move(fixedNonce)) {}

  Step step(std::optional<std::string_view> response) override {
    switch (state_) {
      case State::Start:
        if (!response) {
          state_ = State::WantFirst;
          return challenge("");
        }
        [[fallthrough]];
      case State::WantFirst:
        state_ = State::Done;
        if (!response) return malformed();
        return clientFirst(*response);
      case State::WantFinal:
        state_ = State::Done;
        if (!response) return malformed();
        return clientFinal(*response);
      case State::Done:
        break;
    }
    return malformed();
  }

 private:
  enum class State { Start, WantFirst, WantFinal, Done };

  static Step failure(std::string error, bool isMalformed = false) {
    Step s;
    s.kind = Kind::Failure;
    s.data = std::move(error);
    s.malformed = isMalformed;
    return s;
  }

  Step clientFirst(std::string_view msg) {
    // gs2-header = gs2-cbind-flag "," [authzid] ","
    if (msg.starts_with("p=")) return failure("e=channel-binding-not-supported");
    // "y": the client could bind but believes we cannot, which is true, so it is accepted.
    if (!msg.starts_with("n,") && !msg.starts_with("y,")) return failure("e=other-error", true);
    const size_t authzEnd = msg.find(',', 2);
    if (authzEnd == std::string_view::npos) return failure("e=other-error", true);
    std::optional<std::string> authzid;
    const std::string_view authzField = msg.substr(2, authzEnd - 2);
    if (!authzField.empty()) {
      if (!authzField.starts_with("a=")) return failure("e=other-error", true);
      authzid = decodeSaslName(authzField.substr(2));
      if (!authzid) return failure("e=invalid-encoding", true);
    }
    gs2Header_ = std::string(msg.substr(0, authzEnd + 1));
    bare_ = std::string(msg.substr(authzEnd + 1));

    // client-first-message-bare = [reserved-mext ","] username "," nonce ["," extensions]
    std::string_view rest = bare_;
    if (rest.starts_with("m=")) return failure("e=extensions-not-supported");
    if (!rest.starts_with("n=")) return failure("e=other-error", true);
    const size_t userEnd = rest.find(',');
    if (userEnd == std::string_view::npos) return failure("e=other-error", true);
    auto user = decodeSaslName(rest.substr(2, userEnd - 2));
    if (!user || user->empty() || user->size() > kMaxUserLength) return failure("e=invalid-username-encoding", true);
    rest.remove_prefix(userEnd + 1);
    if (!rest.starts_with("r=")) return failure("e=other-error", true);
    const size_t nonceEnd = rest.find(',');
    const std::string_view clientNonce = rest.substr(2, nonceEnd == std::string_view::npos ? rest.npos : nonceEnd - 2);
    if (!isPrintableNonce(clientNonce)) return failure("e=other-error", true);
    if (authzid && !iequals(*authzid, *user)) return failure("e=invalid-proof");  // no proxy authorization
    user_ = std::move(*user);

    if (auth_.isThrottled(user_, ip_)) {
      Step s;
      s.kind = Kind::Throttled;
      return s;
    }
    creds_ = auth_.scramLookup(user_);
    const std::string serverNonce =
        fixedNonce_.empty() ? base64Encode(crypto::randomBytes(kServerNonceBytes)) : fixedNonce_;
    nonce_ = std::string(clientNonce) + serverNonce;
    serverFirst_ = "r=" + nonce_ + ",s=" + base64Encode(creds_.credentials.salt) +
                   ",i=" + std::to_string(creds_.credentials.iterations);
    state_ = State::WantFinal;
    return challenge(serverFirst_);
  }

  Step clientFinal(std::string_view msg) {
    // client-final-message = "c=" base64 "," "r=" nonce ["," extensions] "," "p=" base64
    const size_t proofAt = msg.rfind(",p=");
    if (proofAt == std::string_view::npos) return failure("e=other-error", true);
    const std::string_view withoutProof = msg.substr(0, proofAt);
    auto proof = base64Decode(msg.substr(proofAt + 3));
    if (!proof) return failure("e=invalid-encoding", true);

    if (!withoutProof.starts_with("c=")) return failure("e=other-error", true);
    const size_t cbEnd = withoutProof.find(',');
    if (cbEnd == std::string_view::npos) return failure("e=other-error", true);
    auto binding = base64Decode(withoutProof.substr(2, cbEnd - 2));
    if (!binding) return failure("e=invalid-encoding", true);
    if (*binding != gs2Header_) return failure("e=channel-bindings-dont-match");
    std::string_view rest = withoutProof.substr(cbEnd + 1);
    if (!rest.starts_with("r=")) return failure("e=other-error", true);
    const size_t nonceEnd = rest.find(',');
    const std::string_view nonce = rest.substr(2, nonceEnd == std::string_view::npos ? rest.npos : nonceEnd - 2);
    if (nonce != nonce_) return failure("e=other-error");

    const std::string authMessage = bare_ + "," + serverFirst_ + "," + std::string(withoutProof);
    const auto& c = creds_.credentials;
    const std::string signature = crypto::hmacSha256(c.storedKey, authMessage);
    bool ok = false;
    if (proof->size() == signature.size()) {
      std::string clientKey(signature.size(), '\0');
      for (size_t i = 0; i < signature.size(); ++i) clientKey[i] = static_cast<char>((*proof)[i] ^ signature[i]);
      ok = crypto::constantTimeEquals(crypto::sha256(clientKey), c.storedKey);
    }
    if (!ok || !creds_.account) {
      Step s = failure("e=invalid-proof");
      s.delay = auth_.recordFailure(user_, ip_);
      return s;
    }
    auth_.recordSuccess(user_, ip_);
    Step s;
    s.kind = Kind::Success;
    s.data = "v=" + base64Encode(crypto::hmacSha256(c.serverKey, authMessage));
    s.account = std::move(creds_.account);
    return s;
  }

  Authenticator& auth_;
  std::string ip_;
  std::string fixedNonce_;
  State state_ = State::Start;
  std::string gs2Header_;
  std::string bare_;
  std::string user_;
  std::string nonce_;
  std::string serverFirst_;
  Authenticator::ScramLookup creds_;
};

}  // namespace

std::vector<std::string> saslMechanisms() { return {"PLAIN", "LOGIN", "SCRAM-SHA-256"}; }

std::unique_ptr<SaslMechanism> makeSaslMechanism(std::string_view name, Authenticator& auth,
                                                 std::string remoteIp) {
  return makeSaslMechanism(name, auth, std::move(remoteIp), SaslOptions{});
}

std::unique_ptr<SaslMechanism> makeSaslMechanism(std::string_view name, Authenticator& auth,
                                                 std::string remoteIp, const SaslOptions& options) {
  if (iequals(name, "PLAIN")) return std::make_unique<Plain>(auth, std::move(remoteIp));
  if (iequals(name, "LOGIN")) return std::make_unique<Login>(auth, std::move(remoteIp));
  if (iequals(name, "SCRAM-SHA-256")) {
    return std::make_unique<ScramSha256>(auth, std::move(remoteIp), options.scramServerNonce);
  }
  return nullptr;
}

}  // namespace tern::auth
