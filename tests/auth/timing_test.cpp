// Timing properties of authentication: with the production Argon2 cost, a wrong password for a real
// account and any password for an unknown user take the same time (the dummy hash costs the same);
// and the constant-time comparison used for SCRAM proofs gives the right answers.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <string>
#include <vector>

#include "auth/authenticator.h"
#include "auth/crypto.h"
#include "fake_directory.h"

namespace tern::auth {
namespace {

using Clock = std::chrono::steady_clock;
using Kind = Authenticator::Outcome::Kind;

double medianOf(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
}

// A security property, not a performance claim: the bounds are wide (0.7..1.4) so that a busy
// machine does not make the test flaky, yet an unknown user answered without an Argon2 run (or with a
// cheaper dummy hash) is far outside them: that path is 1000x faster.
TEST(AuthTiming, UnknownUserCostsTheSameAsWrongPassword) {
  test::FakeDirectory dir;
  // Production parameters on both sides: what `tern user add` stores and what the server's dummy uses.
  dir.putAccount("alice@example.test", makeCredentials("alice-pw"));
  AuthLimits limits;
  limits.maxFailuresPerIp = 1000000;       // the throttle must not turn either path into a refusal
  limits.maxFailuresPerAccount = 1000000;
  Authenticator auth(dir, limits);

  constexpr int kRounds = 12;
  std::vector<double> wrong, unknown;
  for (int i = 0; i < kRounds; ++i) {
    for (int j = 0; j < 2; ++j) {
      const bool doWrong = (i + j) % 2 == 0;  // alternate which goes first
      const std::string ip = "192.0.2." + std::to_string(i * 2 + j + 1);
      const std::string user = doWrong ? "alice@example.test" : "nobody" + std::to_string(i) + "@example.test";
      const auto t0 = Clock::now();
      auto out = auth.verifyPassword(user, "not-the-password", ip);
      const double dt = std::chrono::duration<double>(Clock::now() - t0).count();
      ASSERT_EQ(out.kind, Kind::Failed) << user;
      EXPECT_FALSE(out.account);
      (doWrong ? wrong : unknown).push_back(dt);
    }
  }
  const double mw = medianOf(wrong), mu = medianOf(unknown);
  RecordProperty("median_wrong_ms", std::to_string(mw * 1000));
  RecordProperty("median_unknown_ms", std::to_string(mu * 1000));
  EXPECT_GT(mw / mu, 0.7) << "wrong password " << mw * 1000 << " ms, unknown user " << mu * 1000 << " ms";
  EXPECT_LT(mw / mu, 1.4) << "wrong password " << mw * 1000 << " ms, unknown user " << mu * 1000 << " ms";
}

TEST(AuthTiming, ThrottledAnswerIsTheSameForKnownAndUnknownUsers) {
  test::FakeDirectory dir;
  dir.putAccount("alice@example.test", makeCredentials("alice-pw", Argon2Params{1, 64, 1}));
  AuthLimits limits;
  limits.maxFailuresPerIp = 2;
  Authenticator auth(dir, limits, Argon2Params{1, 64, 1});
  for (int i = 0; i < 2; ++i) (void)auth.verifyPassword("x@example.test", "nope", "192.0.2.1");
  const uint64_t runs = auth.argon2Verifications();
  auto known = auth.verifyPassword("alice@example.test", "alice-pw", "192.0.2.1");
  auto unknownUser = auth.verifyPassword("nobody@example.test", "nope", "192.0.2.1");
  EXPECT_EQ(known.kind, Kind::Throttled);
  EXPECT_EQ(unknownUser.kind, Kind::Throttled);
  EXPECT_EQ(known.delay, unknownUser.delay);
  EXPECT_FALSE(known.account);
  // A refusal does no Argon2 work for either, so it cannot be used to probe accounts by time.
  EXPECT_EQ(auth.argon2Verifications(), runs);
}

TEST(ConstantTimeEquals, Answers) {
  struct Case {
    std::string a, b;
    bool equal;
  };
  const std::string k32(32, '\x5a');
  std::string firstDiffers = k32, lastDiffers = k32;
  firstDiffers.front() = '\x5b';
  lastDiffers.back() = '\x00';
  const std::vector<Case> cases = {
      {"", "", true},
      {k32, k32, true},
      {k32, firstDiffers, false},
      {k32, lastDiffers, false},
      {k32, k32.substr(0, 31), false},      // a prefix is not equal
      {std::string("a\0b", 3), std::string("a\0c", 3), false},  // embedded NUL compared, not a C string
      {std::string("a\0b", 3), std::string("a\0b", 3), true},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(crypto::constantTimeEquals(c.a, c.b), c.equal) << c.a.size() << "/" << c.b.size();
    EXPECT_EQ(crypto::constantTimeEquals(c.b, c.a), c.equal);
  }
}

}  // namespace
}  // namespace tern::auth
