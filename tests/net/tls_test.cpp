// TlsContext: self-signed generation (file modes, certificate contents), fingerprints, reload, and
// error messages that name the offending file.
#include "net/tls.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>

#include <cstdio>
#include <fstream>
#include <regex>

#include "net_test_support.h"

namespace tern::net {
namespace {

using testing::TempDir;

mode_t modeOf(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return 0;
  return st.st_mode & 07777;
}

struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
std::unique_ptr<X509, X509Free> readCert(const std::string& path) {
  FILE* f = std::fopen(path.c_str(), "r");
  if (!f) return nullptr;
  X509* x = PEM_read_X509(f, nullptr, nullptr, nullptr);
  std::fclose(f);
  return std::unique_ptr<X509, X509Free>(x);
}

// SHA-256 over the DER encoding, computed here independently of the code under test.
std::string derSha256(X509* cert) {
  unsigned char* der = nullptr;
  int len = i2d_X509(cert, &der);
  unsigned char md[32];
  unsigned int mdLen = 0;
  EVP_Digest(der, static_cast<size_t>(len), md, &mdLen, EVP_sha256(), nullptr);
  OPENSSL_free(der);
  std::string out;
  char hex[4];
  for (unsigned int i = 0; i < mdLen; ++i) {
    std::snprintf(hex, sizeof hex, i ? ":%02X" : "%02X", md[i]);
    out += hex;
  }
  return out;
}

TlsSettings selfSigned(const std::string& dir) {
  TlsSettings s;
  s.dataDir = dir;
  s.hostname = "mail.example.test";
  return s;
}

TEST(Tls, GeneratesSelfSignedCertificateWithPrivateKeyFile) {
  TempDir dir;
  auto tls = TlsContext::create(selfSigned(dir.path()));
  ASSERT_TRUE(tls.ok()) << tls.error();
  std::string certFile = dir.path() + "/tls/cert.pem";
  std::string keyFile = dir.path() + "/tls/key.pem";
  EXPECT_EQ(modeOf(dir.path() + "/tls"), 0700u);
  EXPECT_EQ(modeOf(keyFile), 0600u);
  auto cert = readCert(certFile);
  ASSERT_TRUE(cert);

  // Fingerprint: 32 colon-separated upper-case hex bytes, of this very certificate.
  std::string fp = (*tls)->fingerprint();
  EXPECT_TRUE(std::regex_match(fp, std::regex("([0-9A-F]{2}:){31}[0-9A-F]{2}"))) << fp;
  EXPECT_EQ(fp, derSha256(cert.get()));

  // SAN carries the hostname; not valid for another name.
  EXPECT_EQ(X509_check_host(cert.get(), "mail.example.test", 0, 0, nullptr), 1);
  EXPECT_NE(X509_check_host(cert.get(), "other.example.test", 0, 0, nullptr), 1);
  // EC P-256 key, about ten years of validity.
  EVP_PKEY* pub = X509_get0_pubkey(cert.get());
  ASSERT_NE(pub, nullptr);
  EXPECT_TRUE(EVP_PKEY_is_a(pub, "EC"));
  char group[64] = {};
  size_t groupLen = 0;
  ASSERT_EQ(EVP_PKEY_get_group_name(pub, group, sizeof group, &groupLen), 1);
  EXPECT_STREQ(group, "prime256v1");
  int days = 0, secs = 0;
  ASSERT_EQ(ASN1_TIME_diff(&days, &secs, nullptr, X509_get0_notAfter(cert.get())), 1);
  EXPECT_GT(days, 3640);
  EXPECT_LT(days, 3660);
  // Self-signed: issuer is the subject, signed by its own key; a leaf, not a CA.
  EXPECT_EQ(X509_NAME_cmp(X509_get_issuer_name(cert.get()), X509_get_subject_name(cert.get())), 0);
  EXPECT_EQ(X509_verify(cert.get(), pub), 1);
  EXPECT_EQ(X509_check_ca(cert.get()), 0);
}

TEST(Tls, ExistingSelfSignedPairIsReusedNotRegenerated) {
  TempDir dir;
  auto first = TlsContext::create(selfSigned(dir.path()));
  ASSERT_TRUE(first.ok()) << first.error();
  auto second = TlsContext::create(selfSigned(dir.path()));
  ASSERT_TRUE(second.ok()) << second.error();
  EXPECT_EQ((*first)->fingerprint(), (*second)->fingerprint());

  // A missing key means the pair is incomplete: a new pair replaces it.
  std::remove((dir.path() + "/tls/key.pem").c_str());
  auto third = TlsContext::create(selfSigned(dir.path()));
  ASSERT_TRUE(third.ok()) << third.error();
  EXPECT_NE((*third)->fingerprint(), (*first)->fingerprint());
  EXPECT_EQ(modeOf(dir.path() + "/tls/key.pem"), 0600u);
}

TEST(Tls, ReloadSwapsInANewContextAndKeepsTheOldOneOnError) {
  TempDir dir;
  std::string cert = dir.path() + "/c.pem", key = dir.path() + "/k.pem";
  ASSERT_TRUE(generateSelfSigned("a.test", cert, key).ok());
  TlsSettings s;
  s.certFile = cert;
  s.keyFile = key;
  auto tls = TlsContext::create(s);
  ASSERT_TRUE(tls.ok()) << tls.error();
  auto before = (*tls)->current();
  std::string fpBefore = (*tls)->fingerprint();

  // Renewed certificate on disk: reload picks it up; connections holding `before` keep it.
  ASSERT_TRUE(generateSelfSigned("a.test", cert, key).ok());
  auto r = (*tls)->reload();
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_NE((*tls)->current(), before);
  EXPECT_NE((*tls)->fingerprint(), fpBefore);
  std::string fpAfter = (*tls)->fingerprint();
  auto after = (*tls)->current();

  // A broken file on disk: reload fails, naming it, and the working context stays.
  { std::ofstream(cert) << "not a certificate\n"; }
  auto bad = (*tls)->reload();
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().find(cert), std::string::npos) << bad.error();
  EXPECT_EQ((*tls)->current(), after);
  EXPECT_EQ((*tls)->fingerprint(), fpAfter);
}

TEST(Tls, ErrorsNameTheFile) {
  TempDir dir;
  std::string cert = dir.path() + "/c.pem", key = dir.path() + "/k.pem";
  std::string cert2 = dir.path() + "/c2.pem", key2 = dir.path() + "/k2.pem";
  ASSERT_TRUE(generateSelfSigned("a.test", cert, key).ok());
  ASSERT_TRUE(generateSelfSigned("b.test", cert2, key2).ok());
  std::string missing = dir.path() + "/missing.pem";

  struct Case {
    const char* what;
    std::string certFile, keyFile, mustName;
  };
  const Case cases[] = {
      {"missing certificate", missing, key, missing},
      {"missing key", cert, missing, missing},
      {"key of another certificate", cert, key2, key2},
      {"key file given as certificate", key, key, key},
  };
  for (const auto& c : cases) {
    TlsSettings s;
    s.certFile = c.certFile;
    s.keyFile = c.keyFile;
    auto tls = TlsContext::create(s);
    ASSERT_FALSE(tls.ok()) << c.what;
    EXPECT_NE(tls.error().find(c.mustName), std::string::npos) << c.what << ": " << tls.error();
  }
}

TEST(Tls, SettingsAreValidated) {
  TempDir dir;
  auto s = selfSigned(dir.path());
  s.minVersion = "1.1";
  auto old = TlsContext::create(s);
  ASSERT_FALSE(old.ok());
  EXPECT_NE(old.error().find("1.1"), std::string::npos);

  s = selfSigned(dir.path());
  s.ciphers = "NO-SUCH-CIPHER";
  EXPECT_FALSE(TlsContext::create(s).ok());

  s = selfSigned(dir.path());
  s.minVersion = "1.3";
  auto v13 = TlsContext::create(s);
  ASSERT_TRUE(v13.ok()) << v13.error();
  EXPECT_EQ(SSL_CTX_get_min_proto_version((*v13)->current()->native_handle()), TLS1_3_VERSION);

  TlsSettings none;  // no certificate and nowhere to put one
  EXPECT_FALSE(TlsContext::create(none).ok());
}

TEST(Tls, DefaultPolicyIsTls12PlusWithoutCompressionOrRenegotiation) {
  TempDir dir;
  auto tls = TlsContext::create(selfSigned(dir.path()));
  ASSERT_TRUE(tls.ok()) << tls.error();
  SSL_CTX* ctx = (*tls)->current()->native_handle();
  EXPECT_EQ(SSL_CTX_get_min_proto_version(ctx), TLS1_2_VERSION);
  uint64_t opts = SSL_CTX_get_options(ctx);
  EXPECT_TRUE(opts & SSL_OP_NO_COMPRESSION);
  EXPECT_TRUE(opts & SSL_OP_NO_RENEGOTIATION);
  EXPECT_TRUE(opts & SSL_OP_CIPHER_SERVER_PREFERENCE);
  // Every TLS 1.2 suite offered is ECDHE with an AEAD cipher.
  SSL* ssl = SSL_new(ctx);
  ASSERT_NE(ssl, nullptr);
  STACK_OF(SSL_CIPHER)* list = SSL_get_ciphers(ssl);
  int tls12 = 0;
  for (int i = 0; i < sk_SSL_CIPHER_num(list); ++i) {
    const SSL_CIPHER* c = sk_SSL_CIPHER_value(list, i);
    if (SSL_CIPHER_get_kx_nid(c) == NID_kx_any) continue;  // a TLS 1.3 suite
    ++tls12;
    EXPECT_EQ(SSL_CIPHER_get_kx_nid(c), NID_kx_ecdhe) << SSL_CIPHER_get_name(c);
    EXPECT_TRUE(SSL_CIPHER_is_aead(c)) << SSL_CIPHER_get_name(c);
  }
  EXPECT_GT(tls12, 0);
  SSL_free(ssl);
}

}  // namespace
}  // namespace tern::net
