// Tests for Authenticator: lookup rules, the success cache, equal treatment of unknown users, and the
// failure throttle (driven by a manual clock).
#include "auth/authenticator.h"

#include <gtest/gtest.h>

#include "fake_directory.h"
#include "test_support.h"

namespace tern::auth {
namespace {

using namespace std::chrono_literals;
using Kind = Authenticator::Outcome::Kind;

class AuthenticatorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_.putAccount("alice@example.test", makeCredentials("alice-pw", test::kCheapArgon2));
    dir_.putAccount("bob@example.test", makeCredentials("bob-pw", test::kCheapArgon2));
  }

  std::unique_ptr<Authenticator> make(AuthLimits limits = {}) {
    auto a = std::make_unique<Authenticator>(dir_, limits, test::kCheapArgon2);
    a->setClock(clock_.fn());
    return a;
  }

  test::FakeDirectory dir_;
  test::ManualClock clock_;
};

TEST_F(AuthenticatorTest, CorrectPasswordSucceedsWithCaseInsensitiveLogin) {
  auto auth = make();
  for (const char* login : {"alice@example.test", "Alice@Example.TEST"}) {
    auto out = auth->verifyPassword(login, "alice-pw", "192.0.2.1");
    ASSERT_EQ(out.kind, Kind::Ok) << login;
    ASSERT_TRUE(out.account);
    EXPECT_EQ(out.account->address, "alice@example.test");
    EXPECT_EQ(out.delay, 0ms);
  }
}

TEST_F(AuthenticatorTest, WrongPasswordFails) {
  auto auth = make();
  auto out = auth->verifyPassword("alice@example.test", "bob-pw", "192.0.2.1");
  EXPECT_EQ(out.kind, Kind::Failed);
  EXPECT_FALSE(out.account);
  EXPECT_EQ(out.delay, AuthLimits{}.baseDelay);
}

TEST_F(AuthenticatorTest, UnknownUserAndWrongPasswordLookAlike) {
  auto auth = make();
  const uint64_t before = auth->argon2Verifications();
  auto wrong = auth->verifyPassword("alice@example.test", "nope", "192.0.2.1");
  EXPECT_EQ(auth->argon2Verifications(), before + 1);
  auto unknown = auth->verifyPassword("nobody@example.test", "nope", "192.0.2.2");
  EXPECT_EQ(auth->argon2Verifications(), before + 2);  // the dummy hash is verified too
  EXPECT_EQ(wrong.kind, unknown.kind);
  EXPECT_EQ(wrong.delay, unknown.delay);
  EXPECT_EQ(wrong.account.has_value(), unknown.account.has_value());
  // Unknown users are throttled by name exactly like real ones.
  AuthLimits limits;
  limits.maxFailuresPerAccount = 2;
  auto strict = make(limits);
  for (const char* user : {"alice@example.test", "nobody@example.test"}) {
    std::vector<Kind> kinds;
    std::vector<std::chrono::milliseconds> delays;
    for (int i = 0; i < 3; ++i) {
      auto out = strict->verifyPassword(user, "nope", std::string("198.51.100.") + user[0]);
      kinds.push_back(out.kind);
      delays.push_back(out.delay);
    }
    EXPECT_EQ(kinds, (std::vector<Kind>{Kind::Failed, Kind::Failed, Kind::Throttled})) << user;
    EXPECT_EQ(delays, (std::vector<std::chrono::milliseconds>{250ms, 500ms, 8000ms})) << user;
  }
}

TEST_F(AuthenticatorTest, EmptyAndOverlongLoginsFailLikeUnknownUsers) {
  auto auth = make();
  const uint64_t before = auth->argon2Verifications();
  EXPECT_EQ(auth->verifyPassword("", "x", "192.0.2.1").kind, Kind::Failed);
  EXPECT_EQ(auth->verifyPassword(std::string(5000, 'a'), "x", "192.0.2.1").kind, Kind::Failed);
  EXPECT_EQ(auth->argon2Verifications(), before + 2);
}

TEST_F(AuthenticatorTest, AliasWithOneTargetCanLogIn) {
  ASSERT_TRUE(dir_.addAlias("postmaster@example.test", {"alice@example.test"}).ok());
  ASSERT_TRUE(dir_.addAlias("team@example.test", {"alice@example.test", "bob@example.test"}).ok());
  ASSERT_TRUE(dir_.addAlias("@example.test", {"bob@example.test"}).ok());  // catch-all
  auto auth = make();
  auto viaAlias = auth->verifyPassword("Postmaster@example.test", "alice-pw", "192.0.2.1");
  ASSERT_EQ(viaAlias.kind, Kind::Ok);
  EXPECT_EQ(viaAlias.account->address, "alice@example.test");
  EXPECT_EQ(auth->verifyPassword("team@example.test", "alice-pw", "192.0.2.1").kind, Kind::Failed);
  // The catch-all resolves anything@example.test to bob, but is not a login name.
  EXPECT_EQ(auth->verifyPassword("whatever@example.test", "bob-pw", "192.0.2.1").kind, Kind::Failed);
}

TEST_F(AuthenticatorTest, ThrottleDelaysGrowThenRefuseUntilWindowPasses) {
  AuthLimits limits;
  limits.maxFailuresPerAccount = 5;
  limits.baseDelay = 100ms;
  limits.maxDelay = 500ms;
  limits.failureWindow = 60s;
  auto auth = make(limits);
  std::vector<std::chrono::milliseconds> delays;
  for (int i = 0; i < 5; ++i) {
    auto out = auth->verifyPassword("alice@example.test", "wrong", "192.0.2.1");
    ASSERT_EQ(out.kind, Kind::Failed);
    delays.push_back(out.delay);
    clock_.now += 1s;
  }
  EXPECT_EQ(delays, (std::vector<std::chrono::milliseconds>{100ms, 200ms, 400ms, 500ms, 500ms}));
  // Over the limit even the right password is refused, without running Argon2.
  const uint64_t before = auth->argon2Verifications();
  auto refused = auth->verifyPassword("alice@example.test", "alice-pw", "192.0.2.9");
  EXPECT_EQ(refused.kind, Kind::Throttled);
  EXPECT_EQ(auth->argon2Verifications(), before);
  EXPECT_TRUE(auth->isThrottled("ALICE@example.test", "203.0.113.1"));
  // Other accounts are unaffected.
  EXPECT_EQ(auth->verifyPassword("bob@example.test", "bob-pw", "192.0.2.9").kind, Kind::Ok);

  // Sliding window: the first failure (t=0) expires at t=60s, so one slot frees up.
  clock_.now += 55s;  // now t=60s
  EXPECT_FALSE(auth->isThrottled("alice@example.test", "192.0.2.9"));
  EXPECT_EQ(auth->verifyPassword("alice@example.test", "wrong", "192.0.2.9").kind, Kind::Failed);
  EXPECT_TRUE(auth->isThrottled("alice@example.test", "192.0.2.9"));
  clock_.now += 2min;
  EXPECT_EQ(auth->verifyPassword("alice@example.test", "alice-pw", "192.0.2.9").kind, Kind::Ok);
}

TEST_F(AuthenticatorTest, ThrottlePerIpAcrossAccounts) {
  AuthLimits limits;
  limits.maxFailuresPerIp = 3;
  auto auth = make(limits);
  for (const char* user : {"alice@example.test", "bob@example.test", "carol@example.test"}) {
    EXPECT_EQ(auth->verifyPassword(user, "spray", "192.0.2.1").kind, Kind::Failed);
  }
  EXPECT_EQ(auth->verifyPassword("bob@example.test", "bob-pw", "192.0.2.1").kind, Kind::Throttled);
  EXPECT_EQ(auth->verifyPassword("bob@example.test", "bob-pw", "192.0.2.2").kind, Kind::Ok);
}

TEST_F(AuthenticatorTest, SuccessResetsAccountButNotIp) {
  AuthLimits limits;
  limits.maxFailuresPerIp = 4;
  limits.maxFailuresPerAccount = 3;
  auto auth = make(limits);
  EXPECT_EQ(auth->verifyPassword("alice@example.test", "x", "192.0.2.1").kind, Kind::Failed);
  EXPECT_EQ(auth->verifyPassword("alice@example.test", "x", "192.0.2.1").kind, Kind::Failed);
  EXPECT_EQ(auth->verifyPassword("alice@example.test", "alice-pw", "192.0.2.1").kind, Kind::Ok);
  // The account starts over: two more failures from another IP do not reach its limit of 3.
  EXPECT_EQ(auth->verifyPassword("alice@example.test", "x", "192.0.2.2").kind, Kind::Failed);
  EXPECT_EQ(auth->verifyPassword("alice@example.test", "x", "192.0.2.2").kind, Kind::Failed);
  EXPECT_FALSE(auth->isThrottled("alice@example.test", "192.0.2.3"));
  // The first IP still holds its two failures: two more reach its limit of 4.
  EXPECT_EQ(auth->verifyPassword("bob@example.test", "x", "192.0.2.1").kind, Kind::Failed);
  EXPECT_EQ(auth->verifyPassword("carol@example.test", "x", "192.0.2.1").kind, Kind::Failed);
  EXPECT_TRUE(auth->isThrottled("dave@example.test", "192.0.2.1"));
}

TEST_F(AuthenticatorTest, CacheHitSkipsArgon2) {
  auto auth = make();
  ASSERT_EQ(auth->verifyPassword("alice@example.test", "alice-pw", "192.0.2.1").kind, Kind::Ok);
  const uint64_t after = auth->argon2Verifications();
  for (int i = 0; i < 3; ++i) {
    auto out = auth->verifyPassword("ALICE@example.test", "alice-pw", "192.0.2.1");
    ASSERT_EQ(out.kind, Kind::Ok);
    EXPECT_EQ(out.account->address, "alice@example.test");
  }
  EXPECT_EQ(auth->argon2Verifications(), after);
  // A different password for the same user is never answered from the cache.
  EXPECT_EQ(auth->verifyPassword("alice@example.test", "alice-pw2", "192.0.2.1").kind, Kind::Failed);
  EXPECT_EQ(auth->argon2Verifications(), after + 1);
}

TEST_F(AuthenticatorTest, FailuresAreNotCached) {
  auto auth = make();
  const uint64_t before = auth->argon2Verifications();
  EXPECT_EQ(auth->verifyPassword("alice@example.test", "bad", "192.0.2.1").kind, Kind::Failed);
  EXPECT_EQ(auth->verifyPassword("alice@example.test", "bad", "192.0.2.1").kind, Kind::Failed);
  EXPECT_EQ(auth->argon2Verifications(), before + 2);
}

TEST_F(AuthenticatorTest, CacheDroppedAfterCredentialsChange) {
  auto auth = make();
  ASSERT_EQ(auth->verifyPassword("alice@example.test", "alice-pw", "192.0.2.1").kind, Kind::Ok);
  // Changed by another process (the admin CLI): credentialsVersion goes up.
  dir_.putAccount("alice@example.test", makeCredentials("new-pw", test::kCheapArgon2));
  const uint64_t before = auth->argon2Verifications();
  EXPECT_EQ(auth->verifyPassword("alice@example.test", "alice-pw", "192.0.2.1").kind, Kind::Failed);
  EXPECT_EQ(auth->argon2Verifications(), before + 1);
  EXPECT_EQ(auth->verifyPassword("alice@example.test", "new-pw", "192.0.2.1").kind, Kind::Ok);
}

TEST_F(AuthenticatorTest, CacheExpiresAndCanBeInvalidated) {
  AuthLimits limits;
  limits.cacheTtl = 10s;
  auto auth = make(limits);
  ASSERT_EQ(auth->verifyPassword("alice@example.test", "alice-pw", "192.0.2.1").kind, Kind::Ok);
  uint64_t n = auth->argon2Verifications();
  clock_.now += 9s;
  ASSERT_EQ(auth->verifyPassword("alice@example.test", "alice-pw", "192.0.2.1").kind, Kind::Ok);
  EXPECT_EQ(auth->argon2Verifications(), n);
  clock_.now += 2s;  // 11 s after caching
  ASSERT_EQ(auth->verifyPassword("alice@example.test", "alice-pw", "192.0.2.1").kind, Kind::Ok);
  EXPECT_EQ(auth->argon2Verifications(), n + 1);
  auth->invalidateCache();
  ASSERT_EQ(auth->verifyPassword("alice@example.test", "alice-pw", "192.0.2.1").kind, Kind::Ok);
  EXPECT_EQ(auth->argon2Verifications(), n + 2);
}

TEST_F(AuthenticatorTest, DirectoryErrorIsTemporaryAndNotAFailure) {
  AuthLimits limits;
  limits.maxFailuresPerAccount = 1;
  auto auth = make(limits);
  dir_.failLookups = true;
  EXPECT_EQ(auth->verifyPassword("alice@example.test", "alice-pw", "192.0.2.1").kind, Kind::Throttled);
  dir_.failLookups = false;
  EXPECT_FALSE(auth->isThrottled("alice@example.test", "192.0.2.1"));
  EXPECT_EQ(auth->verifyPassword("alice@example.test", "alice-pw", "192.0.2.1").kind, Kind::Ok);
}

TEST_F(AuthenticatorTest, ScramLookupRealAndFake) {
  auto auth = make();
  auto real = auth->scramLookup("Alice@example.test");
  ASSERT_TRUE(real.account);
  const store::Credentials creds = dir_.findAccount("alice@example.test").value()->credentials;
  EXPECT_EQ(real.credentials.salt, creds.scramSalt);
  EXPECT_EQ(real.credentials.storedKey, creds.scramStoredKey);
  EXPECT_EQ(real.credentials.iterations, 4096u);

  auto fake1 = auth->scramLookup("nobody@example.test");
  auto fake2 = auth->scramLookup("NOBODY@example.test");
  auto other = auth->scramLookup("someone@example.test");
  EXPECT_FALSE(fake1.account);
  EXPECT_EQ(fake1.credentials.salt.size(), creds.scramSalt.size());
  EXPECT_EQ(fake1.credentials.iterations, 4096u);
  EXPECT_EQ(fake1.credentials.storedKey.size(), 32u);
  EXPECT_EQ(fake1.credentials.salt, fake2.credentials.salt);  // stable across probes
  EXPECT_NE(fake1.credentials.salt, other.credentials.salt);
  // A different process (secret) gives different fake salts.
  auto auth2 = make();
  EXPECT_NE(auth2->scramLookup("nobody@example.test").credentials.salt, fake1.credentials.salt);
}

}  // namespace
}  // namespace tern::auth
