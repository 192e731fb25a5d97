// Tests for the SASL mechanisms: the RFC 7677 SCRAM-SHA-256 exchange byte for byte, SCRAM syntax
// errors, PLAIN (RFC 4616) and LOGIN, over a fake directory.
#include "auth/sasl.h"

#include <gtest/gtest.h>

#include "auth/crypto.h"
#include "fake_directory.h"
#include "test_support.h"
#include "util/log.h"
#include "util/strings.h"

namespace tern::auth {
namespace {

using namespace std::chrono_literals;
using Kind = SaslMechanism::Step::Kind;

// RFC 7677 section 3 (user "user", password "pencil").
constexpr std::string_view kRfcClientFirst = "n,,n=user,r=rOprNGfwEbeRWgbNEkqO";
constexpr std::string_view kRfcServerFirst =
    "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096";
constexpr std::string_view kRfcClientFinal =
    "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=";
constexpr std::string_view kRfcServerFinal = "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=";
constexpr std::string_view kRfcServerNonce = "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0";

class SaslTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store::Credentials user;
    user.passwordHash = hashPassword("pencil", test::kCheapArgon2);
    setScramKeys(user, "pencil", base64Decode("W22ZaJ0SNY7soEsUEjb6gQ==").value(), 4096);
    dir_.putAccount("user", user);
    dir_.putAccount("alice@example.test", makeCredentials("alice-pw", test::kCheapArgon2));
    dir_.putAccount("a,b=c@example.test", makeCredentials("odd-pw", test::kCheapArgon2));
    auth_ = std::make_unique<Authenticator>(dir_, AuthLimits{}, test::kCheapArgon2);
  }

  std::unique_ptr<SaslMechanism> mech(std::string_view name, std::string nonce = {},
                                      std::string ip = "192.0.2.1") {
    return makeSaslMechanism(name, *auth_, std::move(ip), SaslOptions{std::move(nonce)});
  }

  test::FakeDirectory dir_;
  std::unique_ptr<Authenticator> auth_;
};

// A SCRAM client (RFC 5802 section 3) for exchanges other than the RFC's fixed one.
std::string clientFinalFor(std::string_view password, std::string_view clientFirstBare,
                           std::string_view serverFirst, std::string_view gs2Header = "n,,") {
  std::string nonce, salt;
  uint32_t iterations = 0;
  for (size_t pos = 0; pos < serverFirst.size();) {
    size_t end = serverFirst.find(',', pos);
    if (end == std::string_view::npos) end = serverFirst.size();
    const std::string_view attr = serverFirst.substr(pos, end - pos);
    if (attr.starts_with("r=")) nonce = attr.substr(2);
    if (attr.starts_with("s=")) salt = base64Decode(attr.substr(2)).value();
    if (attr.starts_with("i=")) iterations = static_cast<uint32_t>(parseUnsigned(attr.substr(2)).value());
    pos = end + 1;
  }
  const std::string salted = crypto::pbkdf2Sha256(password, salt, iterations);
  const std::string clientKey = crypto::hmacSha256(salted, "Client Key");
  const std::string withoutProof = "c=" + base64Encode(gs2Header) + ",r=" + nonce;
  const std::string authMessage =
      std::string(clientFirstBare) + "," + std::string(serverFirst) + "," + withoutProof;
  std::string proof = crypto::hmacSha256(crypto::sha256(clientKey), authMessage);
  for (size_t i = 0; i < proof.size(); ++i) proof[i] = static_cast<char>(proof[i] ^ clientKey[i]);
  return withoutProof + ",p=" + base64Encode(proof);
}

TEST_F(SaslTest, MechanismList) {
  EXPECT_EQ(saslMechanisms(), (std::vector<std::string>{"PLAIN", "LOGIN", "SCRAM-SHA-256"}));
  for (const auto& name : saslMechanisms()) EXPECT_NE(mech(name), nullptr) << name;
  EXPECT_NE(mech("scram-sha-256"), nullptr);
  EXPECT_EQ(mech("CRAM-MD5"), nullptr);
  EXPECT_EQ(mech("SCRAM-SHA-256-PLUS"), nullptr);
}

TEST_F(SaslTest, ScramSha256Rfc7677Vector) {
  auto m = mech("SCRAM-SHA-256", std::string(kRfcServerNonce));
  auto first = m->step(kRfcClientFirst);
  ASSERT_EQ(first.kind, Kind::Challenge);
  EXPECT_EQ(first.data, kRfcServerFirst);
  auto final = m->step(kRfcClientFinal);
  ASSERT_EQ(final.kind, Kind::Success);
  EXPECT_EQ(final.data, kRfcServerFinal);
  ASSERT_TRUE(final.account);
  EXPECT_EQ(final.account->address, "user");
  // The exchange is over.
  EXPECT_EQ(m->step("x").kind, Kind::Failure);
}

TEST_F(SaslTest, ScramWithoutInitialResponseSendsEmptyChallenge) {
  auto m = mech("SCRAM-SHA-256", std::string(kRfcServerNonce));
  auto empty = m->step(std::nullopt);
  ASSERT_EQ(empty.kind, Kind::Challenge);
  EXPECT_EQ(empty.data, "");
  EXPECT_EQ(m->step(kRfcClientFirst).data, kRfcServerFirst);
  EXPECT_EQ(m->step(kRfcClientFinal).kind, Kind::Success);
}

TEST_F(SaslTest, ScramWrongProofFailsWithDelay) {
  auto m = mech("SCRAM-SHA-256", std::string(kRfcServerNonce));
  ASSERT_EQ(m->step(kRfcClientFirst).kind, Kind::Challenge);
  std::string tampered(kRfcClientFinal);
  tampered[tampered.size() - 3] = tampered[tampered.size() - 3] == 'V' ? 'W' : 'V';
  auto out = m->step(tampered);
  EXPECT_EQ(out.kind, Kind::Failure);
  EXPECT_FALSE(out.malformed);
  EXPECT_EQ(out.data, "e=invalid-proof");
  EXPECT_EQ(out.delay, AuthLimits{}.baseDelay);
  EXPECT_FALSE(out.account);
}

TEST_F(SaslTest, ScramFreshNoncesAndSaslnameDecoding) {
  // "a,b=c@example.test" travels as a=2Cb=3Dc...; the server nonce is random and extends the client's.
  const std::string bare = "n=a=2Cb=3Dc@example.test,r=clientnonce123";
  auto m = mech("SCRAM-SHA-256");
  auto first = m->step("n,," + bare);
  ASSERT_EQ(first.kind, Kind::Challenge);
  ASSERT_TRUE(first.data.starts_with("r=clientnonce123"));
  EXPECT_GT(first.data.find(",s="), std::string("r=clientnonce123").size() + 16);
  auto out = m->step(clientFinalFor("odd-pw", bare, first.data));
  ASSERT_EQ(out.kind, Kind::Success);
  EXPECT_EQ(out.account->address, "a,b=c@example.test");

  auto m2 = mech("SCRAM-SHA-256");
  auto first2 = m2->step("n,," + bare);
  EXPECT_NE(first2.data, first.data);  // a new server nonce each time
}

TEST_F(SaslTest, ScramAcceptsYFlagAndMatchingAuthzid) {
  for (const std::string gs2 : {"y,,", "n,a=alice@example.test,"}) {
    const std::string bare = "n=alice@example.test,r=abc";
    auto m = mech("SCRAM-SHA-256");
    auto first = m->step(gs2 + bare);
    ASSERT_EQ(first.kind, Kind::Challenge) << gs2;
    EXPECT_EQ(m->step(clientFinalFor("alice-pw", bare, first.data, gs2)).kind, Kind::Success) << gs2;
  }
}

TEST_F(SaslTest, ScramUnknownUserLooksLikeWrongPassword) {
  const std::string bareUnknown = "n=nobody@example.test,r=abc";
  const std::string bareKnown = "n=alice@example.test,r=abc";
  // Separate client IPs, so that the first failure does not raise the second one's delay.
  auto mu = mech("SCRAM-SHA-256", {}, "192.0.2.10");
  auto mk = mech("SCRAM-SHA-256", {}, "192.0.2.11");
  auto fu = mu->step("n,," + bareUnknown);
  auto fk = mk->step("n,," + bareKnown);
  ASSERT_EQ(fu.kind, Kind::Challenge);
  ASSERT_EQ(fk.kind, Kind::Challenge);
  EXPECT_EQ(fu.data.size(), fk.data.size());  // same salt length and iteration count
  EXPECT_NE(fu.data.find(",i=4096"), std::string::npos);
  auto ou = mu->step(clientFinalFor("guess", bareUnknown, fu.data));
  auto ok = mk->step(clientFinalFor("guess", bareKnown, fk.data));
  EXPECT_EQ(ou.kind, Kind::Failure);
  EXPECT_EQ(ou.kind, ok.kind);
  EXPECT_EQ(ou.data, ok.data);
  EXPECT_EQ(ou.delay, ok.delay);
  EXPECT_EQ(ou.malformed, ok.malformed);
  // The fake salt is stable for a name, as a real one would be.
  auto again = mech("SCRAM-SHA-256")->step("n,," + bareUnknown);
  EXPECT_EQ(again.data.substr(again.data.find(",s=")), fu.data.substr(fu.data.find(",s=")));
}

struct BadScram {
  std::string name;
  std::string first;
  bool malformed;
};

TEST_F(SaslTest, ScramRejectsBadClientFirst) {
  const std::vector<BadScram> cases = {
      {"channel binding requested", "p=tls-unique,,n=user,r=abc", false},
      {"unknown cbind flag", "x,,n=user,r=abc", true},
      {"missing gs2 header", "n=user,r=abc", true},
      {"bad authzid attr", "n,b=user,n=user,r=abc", true},
      {"authzid for someone else", "n,a=alice@example.test,n=user,r=abc", false},
      {"mandatory extension", "n,,m=ext,n=user,r=abc", false},
      {"no username", "n,,r=abc", true},
      {"empty username", "n,,n=,r=abc", true},
      {"bad saslname escape", "n,,n=us=2Xer,r=abc", true},
      {"dangling escape", "n,,n=user=,r=abc", true},
      {"no nonce", "n,,n=user", true},
      {"empty nonce", "n,,n=user,r=", true},
      {"nonce with control char", std::string("n,,n=user,r=a\x01z"), true},
      {"empty message", "", true},
  };
  for (const auto& c : cases) {
    auto out = mech("SCRAM-SHA-256")->step(c.first);
    EXPECT_EQ(out.kind, Kind::Failure) << c.name;
    EXPECT_EQ(out.malformed, c.malformed) << c.name;
  }
}

TEST_F(SaslTest, ScramRejectsBadClientFinal) {
  const std::string nonce = "rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0";
  const std::string proof = ",p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=";
  const std::vector<BadScram> cases = {
      {"wrong channel binding data", "c=eSws,r=" + nonce + proof, false},  // "y,,"
      {"nonce changed", "c=biws,r=" + nonce + "x" + proof, false},
      {"no proof", "c=biws,r=" + nonce, true},
      {"proof not base64", "c=biws,r=" + nonce + ",p=!!!", true},
      {"binding not base64", "c=b!ws,r=" + nonce + proof, true},
      {"missing c=", "r=" + nonce + proof, true},
      {"missing r=", "c=biws" + proof, true},
      {"short proof", "c=biws,r=" + nonce + ",p=AAAA", false},
  };
  for (const auto& c : cases) {
    auto m = mech("SCRAM-SHA-256", std::string(kRfcServerNonce));
    ASSERT_EQ(m->step(kRfcClientFirst).kind, Kind::Challenge);
    auto out = m->step(c.first);
    EXPECT_EQ(out.kind, Kind::Failure) << c.name;
    EXPECT_EQ(out.malformed, c.malformed) << c.name;
    EXPECT_FALSE(out.account) << c.name;
  }
}

TEST_F(SaslTest, PlainSuccessAndFailure) {
  using namespace std::string_literals;
  auto ok = mech("PLAIN")->step("\0alice@example.test\0alice-pw"s);
  ASSERT_EQ(ok.kind, Kind::Success);
  EXPECT_EQ(ok.account->address, "alice@example.test");
  EXPECT_EQ(mech("PLAIN")->step("alice@example.test\0alice@example.test\0alice-pw"s).kind, Kind::Success);
  EXPECT_EQ(mech("PLAIN")->step("Alice@example.test\0alice@example.test\0alice-pw"s).kind, Kind::Success);

  auto bad = mech("PLAIN")->step("\0alice@example.test\0wrong"s);
  EXPECT_EQ(bad.kind, Kind::Failure);
  EXPECT_FALSE(bad.malformed);
  EXPECT_GT(bad.delay, 0ms);
  auto unknown = mech("PLAIN")->step("\0nobody@example.test\0wrong"s);
  EXPECT_EQ(unknown.kind, bad.kind);
  EXPECT_EQ(unknown.malformed, bad.malformed);

  // Proxy authorization is not offered.
  auto proxy = mech("PLAIN")->step("user\0alice@example.test\0alice-pw"s);
  EXPECT_EQ(proxy.kind, Kind::Failure);
  EXPECT_FALSE(proxy.account);
}

TEST_F(SaslTest, PlainWithoutInitialResponse) {
  using namespace std::string_literals;
  auto m = mech("PLAIN");
  auto c = m->step(std::nullopt);
  ASSERT_EQ(c.kind, Kind::Challenge);
  EXPECT_EQ(c.data, "");
  EXPECT_EQ(m->step("\0alice@example.test\0alice-pw"s).kind, Kind::Success);
  EXPECT_EQ(m->step("\0alice@example.test\0alice-pw"s).kind, Kind::Failure);  // already done
}

TEST_F(SaslTest, PlainMalformed) {
  using namespace std::string_literals;
  for (const std::string& msg : {""s, "alice@example.test"s, "\0alice@example.test"s,
                                "\0alice@example.test\0pw\0"s, "\0\0pw"s}) {
    auto out = mech("PLAIN")->step(msg);
    EXPECT_EQ(out.kind, Kind::Failure) << log::escape(msg);
    EXPECT_TRUE(out.malformed) << log::escape(msg);
  }
}

TEST_F(SaslTest, LoginSuccessAndFailure) {
  auto m = mech("LOGIN");
  auto u = m->step(std::nullopt);
  ASSERT_EQ(u.kind, Kind::Challenge);
  EXPECT_EQ(u.data, "Username:");
  auto p = m->step("alice@example.test");
  ASSERT_EQ(p.kind, Kind::Challenge);
  EXPECT_EQ(p.data, "Password:");
  auto done = m->step("alice-pw");
  ASSERT_EQ(done.kind, Kind::Success);
  EXPECT_EQ(done.account->address, "alice@example.test");

  // Initial response carries the user name.
  auto m2 = mech("LOGIN");
  EXPECT_EQ(m2->step("alice@example.test").data, "Password:");
  auto bad = m2->step("wrong");
  EXPECT_EQ(bad.kind, Kind::Failure);
  EXPECT_FALSE(bad.malformed);

  auto m3 = mech("LOGIN");
  m3->step(std::nullopt);
  auto empty = m3->step("");
  EXPECT_EQ(empty.kind, Kind::Failure);
  EXPECT_TRUE(empty.malformed);
}

TEST_F(SaslTest, ThrottledAcrossMechanisms) {
  using namespace std::string_literals;
  AuthLimits limits;
  limits.maxFailuresPerAccount = 2;
  auth_ = std::make_unique<Authenticator>(dir_, limits, test::kCheapArgon2);
  EXPECT_EQ(mech("PLAIN")->step("\0user\0x"s).kind, Kind::Failure);
  auto m = mech("LOGIN");
  m->step("user");
  EXPECT_EQ(m->step("y").kind, Kind::Failure);
  EXPECT_EQ(mech("PLAIN")->step("\0user\0pencil"s).kind, Kind::Throttled);
  EXPECT_EQ(mech("SCRAM-SHA-256", std::string(kRfcServerNonce))->step(kRfcClientFirst).kind, Kind::Throttled);
}

}  // namespace
}  // namespace tern::auth
