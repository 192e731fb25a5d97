// Tests for Argon2id hashing/verification, SCRAM key derivation and random passwords.
#include "auth/password.h"

#include <gtest/gtest.h>

#include <cctype>
#include <set>

#include "test_support.h"

namespace tern::auth {
namespace {

using test::kCheapArgon2;

// Known-answer test from the Argon2 reference implementation (src/test.c, v=0x13, t=2, m=2^8, p=1).
TEST(PasswordTest, VerifiesReferenceArgon2idVector) {
  const std::string kHash = "$argon2id$v=19$m=256,t=2,p=1$c29tZXNhbHQ$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4";
  EXPECT_TRUE(verifyPassword(kHash, "password"));
  EXPECT_FALSE(verifyPassword(kHash, "Password"));
  EXPECT_FALSE(verifyPassword(kHash, "password "));
}

TEST(PasswordTest, HashRoundTripAndEncodedForm) {
  const std::string hash = hashPassword("correct horse", kCheapArgon2);
  EXPECT_EQ(hash.rfind("$argon2id$v=19$m=64,t=1,p=1$", 0), 0u) << hash;
  EXPECT_TRUE(verifyPassword(hash, "correct horse"));
  EXPECT_FALSE(verifyPassword(hash, "correct hors"));
  EXPECT_FALSE(verifyPassword(hash, ""));
  // A random salt per hash: the same password never hashes the same twice.
  EXPECT_NE(hash, hashPassword("correct horse", kCheapArgon2));
}

TEST(PasswordTest, BytesAreUsedAsGiven) {
  const std::string withNul("a\0b", 3);
  const std::string hash = hashPassword(withNul, kCheapArgon2);
  EXPECT_TRUE(verifyPassword(hash, withNul));
  EXPECT_FALSE(verifyPassword(hash, "a"));
  const std::string utf8 = "p\xC3\xA4ss";  // "päss", precomposed
  EXPECT_FALSE(verifyPassword(hashPassword(utf8, kCheapArgon2), "pa\xCC\x88ss"));  // decomposed
}

TEST(PasswordTest, MalformedHashesAreRejected) {
  const std::string good = hashPassword("pw", kCheapArgon2);
  for (const std::string& bad : {std::string(""), std::string("pw"), std::string("$argon2i$v=19$m=64,t=1,p=1$AAAA$AAAA"),
                                good.substr(0, good.size() - 5), std::string("$argon2id$garbage")}) {
    EXPECT_FALSE(verifyPassword(bad, "pw")) << bad;
  }
}

// verifyPassword decodes the encoded form itself (to give libargon2 an mmap-backed allocator): each
// field of the reference vector, broken one way at a time, must make it fail, never crash.
TEST(PasswordTest, EncodedFormFieldsAreChecked) {
  const std::string ok = "$argon2id$v=19$m=256,t=2,p=1$c29tZXNhbHQ$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4";
  ASSERT_TRUE(verifyPassword(ok, "password"));
  for (const std::string& bad : {
           std::string("$argon2id$v=16$m=256,t=2,p=1$c29tZXNhbHQ$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4"),
           std::string("$argon2id$m=256,t=2,p=1$c29tZXNhbHQ$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4"),
           std::string("$argon2id$v=19$m=256,t=3,p=1$c29tZXNhbHQ$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4"),
           std::string("$argon2id$v=19$m=256,p=1,t=2$c29tZXNhbHQ$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4"),
           std::string("$argon2id$v=19$m=-1,t=2,p=1$c29tZXNhbHQ$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4"),
           std::string("$argon2id$v=19$m=256,t=0,p=1$c29tZXNhbHQ$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4"),
           std::string("$argon2id$v=19$m=256,t=2,p=1$c29tZXNhbHR$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4"),
           std::string("$argon2id$v=19$m=256,t=2,p=1$c29tZX*hbHQ$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4"),
           std::string("$argon2id$v=19$m=256,t=2,p=1$c29tZXNhbHQ$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/5"),
           std::string("$argon2id$v=19$m=256,t=2,p=1$c29tZXNhbHQ$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi"),
           std::string("$argon2id$v=19$m=256,t=2,p=1$c29tZXNhbHQ$"),
           std::string("$argon2id$v=19$m=256,t=2,p=1$$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4"),
           std::string("$argon2id$v=19$m=256,t=2,p=1$c29tZXNhbHQ"),
       }) {
    EXPECT_FALSE(verifyPassword(bad, "password")) << bad;
  }
}

TEST(PasswordTest, MakeCredentialsFillsArgonAndScram) {
  const store::Credentials c = makeCredentials("s3cret", kCheapArgon2);
  EXPECT_TRUE(verifyPassword(c.passwordHash, "s3cret"));
  EXPECT_EQ(c.scramSalt.size(), 16u);
  EXPECT_EQ(c.scramIterations, 4096u);
  EXPECT_EQ(c.scramStoredKey.size(), 32u);
  EXPECT_EQ(c.scramServerKey.size(), 32u);
  EXPECT_NE(c.scramStoredKey, c.scramServerKey);
  // Same derivation for the same salt; a different password gives different keys.
  store::Credentials again;
  setScramKeys(again, "s3cret", c.scramSalt);
  EXPECT_EQ(again.scramStoredKey, c.scramStoredKey);
  EXPECT_EQ(again.scramServerKey, c.scramServerKey);
  store::Credentials other;
  setScramKeys(other, "s3cret!", c.scramSalt);
  EXPECT_NE(other.scramStoredKey, c.scramStoredKey);
}

TEST(PasswordTest, RandomPasswordsAreUrlSafeAndDistinct) {
  std::set<std::string> seen;
  for (int i = 0; i < 50; ++i) {
    const std::string p = randomPassword();
    ASSERT_EQ(p.size(), 20u);
    for (char c : p) {
      EXPECT_TRUE(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_') << p;
    }
    seen.insert(p);
  }
  EXPECT_EQ(seen.size(), 50u);
  EXPECT_EQ(randomPassword(7).size(), 7u);
}

}  // namespace
}  // namespace tern::auth
