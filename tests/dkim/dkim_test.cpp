// Signing against RFC 8463 Appendix A byte for byte (Ed25519 and RSA are deterministic), the shape
// of the DKIM-Signature field sign() writes, its refusals, and key loading and generation.
#include "dkim/dkim.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <string>

#include "util/strings.h"

namespace tern::dkim {
namespace {

// RFC 8463 A.1: the Ed25519 secret key is RFC 8032 7.1 test 1's seed. A PKCS#8 file holds it behind
// the fixed DER prefix of RFC 8410 (SEQUENCE, version 0, id-Ed25519, OCTET STRING of the seed).
std::string ed25519PemFromSeed(std::string_view seedBase64) {
  const std::string prefix("\x30\x2e\x02\x01\x00\x30\x05\x06\x03\x2b\x65\x70\x04\x22\x04\x20", 16);
  const auto seed = base64Decode(seedBase64);
  EXPECT_TRUE(seed.has_value());
  return "-----BEGIN PRIVATE KEY-----\n" + base64Encode(prefix + seed.value_or("")) + "\n-----END PRIVATE KEY-----\n";
}

// RFC 8463 A.1's RSA key (PKCS#1, 1024 bits); its public half is the p= of A.2's "test" record.
const char* const kRfc8463RsaPem =
    "-----BEGIN RSA PRIVATE KEY-----\n"
    "MIICXQIBAAKBgQDkHlOQoBTzWRiGs5V6NpP3idY6Wk08a5qhdR6wy5bdOKb2jLQi\n"
    "Y/J16JYi0Qvx/byYzCNb3W91y3FutACDfzwQ/BC/e/8uBsCR+yz1Lxj+PL6lHvqM\n"
    "KrM3rG4hstT5QjvHO9PzoxZyVYLzBfO2EeC3Ip3G+2kryOTIKT+l/K4w3QIDAQAB\n"
    "AoGAH0cxOhFZDgzXWhDhnAJDw5s4roOXN4OhjiXa8W7Y3rhX3FJqmJSPuC8N9vQm\n"
    "6SVbaLAE4SG5mLMueHlh4KXffEpuLEiNp9Ss3O4YfLiQpbRqE7Tm5SxKjvvQoZZe\n"
    "zHorimOaChRL2it47iuWxzxSiRMv4c+j70GiWdxXnxe4UoECQQDzJB/0U58W7RZy\n"
    "6enGVj2kWF732CoWFZWzi1FicudrBFoy63QwcowpoCazKtvZGMNlPWnC7x/6o8Gc\n"
    "uSe0ga2xAkEA8C7PipPm1/1fTRQvj1o/dDmZp243044ZNyxjg+/OPN0oWCbXIGxy\n"
    "WvmZbXriOWoSALJTjExEgraHEgnXssuk7QJBALl5ICsYMu6hMxO73gnfNayNgPxd\n"
    "WFV6Z7ULnKyV7HSVYF0hgYOHjeYe9gaMtiJYoo0zGN+L3AAtNP9huqkWlzECQE1a\n"
    "licIeVlo1e+qJ6Mgqr0Q7Aa7falZ448ccbSFYEPD6oFxiOl9Y9se9iYHZKKfIcst\n"
    "o7DUw1/hz2Ck4N5JrgUCQQCyKveNvjzkkd8HjYs0SwM0fPjK16//5qDZ2UiDGnOe\n"
    "uEzxBDAr518Z8VFbR41in3W4Y3yCDgQlLlcETrS+zYcL\n"
    "-----END RSA PRIVATE KEY-----\n";

// RFC 8463 A.3's message without its two DKIM-Signature fields.
const char* const kRfc8463Message =
    "From: Joe SixPack <joe@football.example.com>\r\n"
    "To: Suzie Q <suzie@shopping.example.net>\r\n"
    "Subject: Is dinner ready?\r\n"
    "Date: Fri, 11 Jul 2003 21:00:37 -0700 (PDT)\r\n"
    "Message-ID: <20030712040037.46341.5F8J@football.example.com>\r\n"
    "\r\n"
    "Hi.\r\n"
    "\r\n"
    "We lost the game.  Are you hungry yet?\r\n"
    "\r\n"
    "Joe.\r\n";

const std::vector<std::string> kRfc8463SignedHeaders = {"from", "to",         "subject", "date",
                                                        "message-id", "from", "subject", "date"};

TEST(Rfc8463, Ed25519SignatureByteForByte) {
  auto key = loadKeyFromPem(ed25519PemFromSeed("nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A="),
                            "football.example.com", "brisbane");
  ASSERT_TRUE(key.ok()) << key.error();
  EXPECT_EQ((*key)->algorithm(), Algorithm::Ed25519Sha256);
  // A.2's DNS record.
  EXPECT_EQ(txtRecord(**key).value(), "v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=");
  // A.3's first signature field as published, its b= value removed.
  const std::string field =
      "DKIM-Signature: v=1; a=ed25519-sha256; c=relaxed/relaxed;\r\n"
      " d=football.example.com; i=@football.example.com;\r\n"
      " q=dns/txt; s=brisbane; t=1528637909; h=from : to :\r\n"
      " subject : date : message-id : from : subject : date;\r\n"
      " bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=;\r\n"
      " b=";
  auto b = signatureValue(**key, kRfc8463Message, kRfc8463SignedHeaders, field);
  ASSERT_TRUE(b.ok()) << b.error();
  EXPECT_EQ(*b, "/gCrinpcQOoIfuHNQIbq4pgh9kyIK3AQUdt9OdqQehSwhEIug4D11BusFa3bT3FY5OsU7ZbnKELq+eXdp1Q1Dw==");
}

TEST(Rfc8463, RsaSignatureByteForByte) {
  auto key = loadKeyFromPem(kRfc8463RsaPem, "football.example.com", "test");
  ASSERT_TRUE(key.ok()) << key.error();
  EXPECT_EQ((*key)->algorithm(), Algorithm::RsaSha256);
  EXPECT_EQ(txtRecord(**key).value(),
            "v=DKIM1; k=rsa; p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDkHlOQoBTzWRiGs5V6NpP3idY6Wk08a5qhdR6wy5bdOKb2jLQiY/"
            "J16JYi0Qvx/byYzCNb3W91y3FutACDfzwQ/BC/e/8uBsCR+yz1Lxj+PL6lHvqMKrM3rG4hstT5QjvHO9PzoxZyVYLzBfO2EeC3Ip3G+"
            "2kryOTIKT+l/K4w3QIDAQAB");
  const std::string field =
      "DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed;\r\n"
      " d=football.example.com; i=@football.example.com;\r\n"
      " q=dns/txt; s=test; t=1528637909; h=from : to : subject :\r\n"
      " date : message-id : from : subject : date;\r\n"
      " bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=;\r\n"
      " b=";
  auto b = signatureValue(**key, kRfc8463Message, kRfc8463SignedHeaders, field);
  ASSERT_TRUE(b.ok()) << b.error();
  EXPECT_EQ(*b,
            "F45dVWDfMbQDGHJFlXUNB2HKfbCeLRyhDXgFpEL8GwpsRe0IeIixNTe3DhCVlUrSjV4BwcVcOF6+FF3Zo9Rpo1tFOeS9mPYQTnGdaSGsgeef"
            "Osk2JzdA+L10TeYt9BgDfQNZtKdN1WO//KgIqXP7OdEFE4LjFYNcUxZQ4FADY+8=");
}

TEST(Rfc8463, ChangedHeaderChangesSignature) {
  // The vector is not matched by accident: a different Subject gives a different b=.
  auto key = loadKeyFromPem(ed25519PemFromSeed("nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A="),
                            "football.example.com", "brisbane");
  ASSERT_TRUE(key.ok());
  std::string message = kRfc8463Message;
  message.replace(message.find("dinner"), 6, "lunch!");
  auto b = signatureValue(**key, message, kRfc8463SignedHeaders, "DKIM-Signature: v=1; b=");
  auto b0 = signatureValue(**key, kRfc8463Message, kRfc8463SignedHeaders, "DKIM-Signature: v=1; b=");
  ASSERT_TRUE(b.ok() && b0.ok());
  EXPECT_NE(*b, *b0);
}

// --- sign() ----------------------------------------------------------------------------------------

class SignTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto ed = loadKeyFromPem(ed25519PemFromSeed("nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A="), "Example.COM", "tern");
    ASSERT_TRUE(ed.ok());
    edKey_ = new std::shared_ptr<const SigningKey>(*ed);
  }
  static void TearDownTestSuite() { delete edKey_; }
  static const SigningKey& key() { return **edKey_; }
  static std::shared_ptr<const SigningKey>* edKey_;
};
std::shared_ptr<const SigningKey>* SignTest::edKey_ = nullptr;

// The value of tag `tag` in an unfolded signature field, whitespace removed.
std::string tagValue(const std::string& field, const std::string& tag) {
  std::string flat;
  for (char c : field) {
    if (c != '\r' && c != '\n' && c != ' ' && c != '\t') flat += c;
  }
  const size_t colon = flat.find(':');
  std::string rest = ";" + flat.substr(colon + 1);
  const size_t at = rest.find(";" + tag + "=");
  if (at == std::string::npos) return "<none>";
  const size_t start = at + tag.size() + 2;
  return rest.substr(start, rest.find(';', start) - start);
}

TEST_F(SignTest, FieldShape) {
  const std::string message =
      "Received: from x by y\r\n"
      "From: Alice <alice@example.com>\r\n"
      "To: bob@example.net\r\n"
      "Subject: hello\r\n"
      "To: carol@example.net\r\n"
      "X-Mailer: not signed\r\n"
      "Cc: dave@example.net\r\n"
      "Date: Mon, 1 Jan 2024 00:00:00 +0000\r\n"
      "Message-ID: <1@example.com>\r\n"
      "\r\n"
      "body\r\n";
  auto sig = sign(key(), message, 1700000000);
  ASSERT_TRUE(sig.ok()) << sig.error();
  const std::string& f = *sig;
  EXPECT_EQ(f.rfind("DKIM-Signature: v=1; a=ed25519-sha256; c=relaxed/relaxed;", 0), 0u) << f;
  EXPECT_EQ(tagValue(f, "d"), "example.com");  // lower-cased
  EXPECT_EQ(tagValue(f, "s"), "tern");
  ASSERT_GE(f.size(), 2u);
  EXPECT_EQ(f.substr(f.size() - 2), "\r\n");
  EXPECT_EQ(tagValue(f, "t"), "1700000000");
  // Default-list order, every instance, From oversigned; Received and X-Mailer not signed.
  EXPECT_EQ(tagValue(f, "h"), "from:subject:date:to:to:cc:message-id:from");
  EXPECT_EQ(tagValue(f, "bh"), bodyHash("body\r\n"));
  EXPECT_EQ(base64Decode(tagValue(f, "b")).value_or("").size(), 64u);  // an Ed25519 signature
  // Folded: no line longer than 78, every continuation line starts with WSP.
  size_t start = 0;
  bool first = true;
  while (start < f.size()) {
    const size_t end = f.find("\r\n", start);
    ASSERT_NE(end, std::string::npos);
    EXPECT_LE(end - start, 78u) << f.substr(start, end - start);
    if (!first) {
      EXPECT_EQ(f[start], ' ');
    }
    first = false;
    start = end + 2;
  }
  EXPECT_FALSE(first);
  EXPECT_NE(f.find("\r\n "), std::string::npos);  // it did fold
}

TEST_F(SignTest, SameInputSameSignatureAndTimestampMatters) {
  const std::string message = "From: a@example.com\r\n\r\nx\r\n";
  EXPECT_EQ(sign(key(), message, 1).value(), sign(key(), message, 1).value());  // Ed25519 is deterministic
  EXPECT_NE(sign(key(), message, 1).value(), sign(key(), message, 2).value());
}

TEST_F(SignTest, MessageWithoutBody) {
  auto sig = sign(key(), "From: a@example.com\r\nSubject: no body", 1);
  ASSERT_TRUE(sig.ok()) << sig.error();
  EXPECT_EQ(tagValue(*sig, "bh"), "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=");
  EXPECT_EQ(tagValue(*sig, "h"), "from:subject:from");
}

TEST_F(SignTest, NameWithSpaceBeforeColonIsNotSelected) {
  auto sig = sign(key(), "FROM: a@example.com\r\nsubject : obsolete syntax\r\nmessage-id: <x@y>\r\n\r\nbody\r\n", 1);
  ASSERT_TRUE(sig.ok()) << sig.error();
  EXPECT_EQ(tagValue(*sig, "h"), "from:message-id:from");
}

TEST_F(SignTest, Refusals) {
  EXPECT_FALSE(sign(key(), "Subject: no from\r\n\r\nbody\r\n", 1).ok());
  EXPECT_FALSE(sign(key(), "", 1).ok());
  EXPECT_FALSE(sign(key(), "\r\nbody\r\n", 1).ok());
  EXPECT_FALSE(sign(key(), "From: a@example.com\r\nno colon here\r\n\r\nbody\r\n", 1).ok());
  EXPECT_FALSE(sign(key(), " continuation first\r\nFrom: a@example.com\r\n\r\n", 1).ok());
  // Too many fields: kMaxHeaderFields is accepted, one more is not.
  std::string many = "From: a@example.com\r\n";
  for (size_t i = 1; i < kMaxHeaderFields; ++i) many += "X-N: " + std::to_string(i) + "\r\n";
  EXPECT_TRUE(sign(key(), many + "\r\nbody\r\n", 1).ok());
  EXPECT_FALSE(sign(key(), many + "X-N: one too many\r\n\r\nbody\r\n", 1).ok());
  // A header section over 1 MiB, in few fields (long folded lines).
  std::string big = "From: a@example.com\r\nX-Big: ";
  while (big.size() <= kMaxHeaderBytes) big += std::string(900, 'x') + "\r\n ";
  EXPECT_FALSE(sign(key(), big + "end\r\n\r\nbody\r\n", 1).ok());
}

TEST_F(SignTest, LargeBodyIsFine) {
  std::string message = "From: a@example.com\r\n\r\n";
  for (int i = 0; i < 20000; ++i) message += "line " + std::to_string(i) + " of a body that is large enough\r\n";
  auto sig = sign(key(), message, 1);
  ASSERT_TRUE(sig.ok()) << sig.error();
}

// --- keys ------------------------------------------------------------------------------------------

std::string pemOf(EVP_PKEY* pkey) {
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(bio, pkey, nullptr, nullptr, 0, nullptr, nullptr);
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio, &data);
  std::string out(data, static_cast<size_t>(len));
  BIO_free(bio);
  return out;
}

TEST(Keys, RefusesWhatIsNotAUsableKey) {
  EXPECT_FALSE(loadKeyFromPem("not a key", "example.com", "tern").ok());
  EXPECT_FALSE(loadKeyFromPem("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n", "example.com", "tern").ok());
  EVP_PKEY* ec = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
  ASSERT_NE(ec, nullptr);
  EXPECT_FALSE(loadKeyFromPem(pemOf(ec), "example.com", "tern").ok());  // DKIM has no ECDSA
  EVP_PKEY_free(ec);
  EVP_PKEY* small = EVP_RSA_gen(512);
  ASSERT_NE(small, nullptr);
  EXPECT_FALSE(loadKeyFromPem(pemOf(small), "example.com", "tern").ok());  // RFC 8301: at least 1024
  EVP_PKEY_free(small);
  EXPECT_FALSE(loadKey("/nonexistent/dir/key.pem", "example.com", "tern").ok());
}

TEST(Keys, RefusesNamesThatCouldInjectTags) {
  const std::string pem = ed25519PemFromSeed("nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A=");
  EXPECT_TRUE(loadKeyFromPem(pem, "mail.example.com", "s2024_a-1").ok());
  for (const char* d : {"", "exa mple.com", "example.com;", ".example.com", "example..com", "ex\r\nample"}) {
    EXPECT_FALSE(loadKeyFromPem(pem, d, "tern").ok()) << d;
    EXPECT_FALSE(generateKey(Algorithm::Ed25519Sha256, d, "tern").ok()) << d;
  }
  for (const char* s : {"", "s;x=1", "a b", "s\n"}) EXPECT_FALSE(loadKeyFromPem(pem, "example.com", s).ok()) << s;
  EXPECT_FALSE(generateKey(Algorithm::RsaSha256, "example.com", "tern", 512).ok());
  EXPECT_FALSE(generateKey(Algorithm::RsaSha256, "example.com", "tern", 8192).ok());
}

TEST(Keys, GenerateEd25519) {
  auto g = generateKey(Algorithm::Ed25519Sha256, "Example.com", "tern");
  ASSERT_TRUE(g.ok()) << g.error();
  EXPECT_EQ(g->dnsName, "tern._domainkey.example.com");
  EXPECT_EQ(g->privateKeyPem.rfind("-----BEGIN PRIVATE KEY-----\n", 0), 0u);
  const std::string prefix = "v=DKIM1; k=ed25519; p=";
  ASSERT_EQ(g->txtRecord.rfind(prefix, 0), 0u) << g->txtRecord;
  EXPECT_EQ(base64Decode(g->txtRecord.substr(prefix.size())).value_or("").size(), 32u);  // RFC 8463 3.4: raw key
  auto key = loadKeyFromPem(g->privateKeyPem, "example.com", "tern");
  ASSERT_TRUE(key.ok()) << key.error();
  EXPECT_EQ(txtRecord(**key).value(), g->txtRecord);
  // Two generations give two keys.
  EXPECT_NE(generateKey(Algorithm::Ed25519Sha256, "example.com", "tern")->txtRecord, g->txtRecord);
}

TEST(Keys, GenerateRsa) {
  auto g = generateKey(Algorithm::RsaSha256, "example.com", "sel");
  ASSERT_TRUE(g.ok()) << g.error();
  EXPECT_EQ(g->dnsName, "sel._domainkey.example.com");
  EXPECT_EQ(g->privateKeyPem.rfind("-----BEGIN PRIVATE KEY-----\n", 0), 0u);  // PKCS#8, not PKCS#1
  const std::string prefix = "v=DKIM1; k=rsa; p=";
  ASSERT_EQ(g->txtRecord.rfind(prefix, 0), 0u) << g->txtRecord;
  // p= is a DER SubjectPublicKeyInfo of a 2048-bit RSA key.
  const std::string der = base64Decode(g->txtRecord.substr(prefix.size())).value_or("");
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  EVP_PKEY* pub = d2i_PUBKEY(nullptr, &p, static_cast<long>(der.size()));
  ASSERT_NE(pub, nullptr);
  EXPECT_EQ(EVP_PKEY_get_base_id(pub), EVP_PKEY_RSA);
  EXPECT_EQ(EVP_PKEY_get_bits(pub), 2048);
  EVP_PKEY_free(pub);
  auto key = loadKeyFromPem(g->privateKeyPem, "example.com", "sel");
  ASSERT_TRUE(key.ok()) << key.error();
  EXPECT_EQ((*key)->algorithm(), Algorithm::RsaSha256);
  EXPECT_EQ(txtRecord(**key).value(), g->txtRecord);
}

}  // namespace
}  // namespace tern::dkim
