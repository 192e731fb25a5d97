// Independent verification: messages signed by sign() are checked by Debian's python3-dkim (dkimpy)
// with the public key handed to it through dnsfunc, and tampered copies must fail there. Skipped
// when /usr/bin/python3 with python3-dkim (or python3-nacl, for Ed25519) is not installed.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "dkim/dkim.h"

namespace tern::dkim {
namespace {

namespace fs = std::filesystem;

// Checks triples of arguments (message file, record file, expected DNS name) and prints one line per
// triple, "pass" or "fail"/"error ..." for the first DKIM-Signature. Exit 3: python3-dkim is missing; 4: nacl is.
const char* const kVerifierScript = R"PY(
import sys
try:
    import dkim
except ImportError:
    sys.exit(3)
if len(sys.argv) == 2 and sys.argv[1] == "--check-nacl":
    try:
        import nacl.signing
    except ImportError:
        sys.exit(4)
    sys.exit(0)
args = sys.argv[1:]
for i in range(0, len(args), 3):
    msg = open(args[i], "rb").read()
    record = open(args[i + 1], "rb").read().strip()
    want = args[i + 2].encode()
    def dnsfunc(name, timeout=5):
        # Only the record of the expected selector and domain exists.
        return record if name.rstrip(b".").lower() == want else None
    try:
        print("pass" if dkim.verify(msg, dnsfunc=dnsfunc) else "fail")
    except Exception as e:  # e.g. a key of the wrong type: a failed verification too
        print("error " + type(e).__name__)
)PY";

class DkimpyVerify : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    char tmpl[] = "/tmp/tern-dkim-test-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = new fs::path(tmpl);
    std::ofstream(*dir_ / "verify.py") << kVerifierScript;
    if (::access("/usr/bin/python3", X_OK) != 0) {
      status_ = 3;
    } else {
      status_ = run("--check-nacl");
    }
    auto rsa = generateKey(Algorithm::RsaSha256, "example.com", "tern");
    auto ed = generateKey(Algorithm::Ed25519Sha256, "example.com", "ed");
    ASSERT_TRUE(rsa.ok() && ed.ok());
    rsa_ = new Keyed{loadKeyFromPem(rsa->privateKeyPem, "example.com", "tern").value(), rsa->txtRecord, rsa->dnsName};
    ed_ = new Keyed{loadKeyFromPem(ed->privateKeyPem, "example.com", "ed").value(), ed->txtRecord, ed->dnsName};
  }
  static void TearDownTestSuite() {
    std::error_code ec;
    fs::remove_all(*dir_, ec);
    delete dir_;
    delete rsa_;
    delete ed_;
  }

  struct Keyed {
    std::shared_ptr<const SigningKey> key;
    std::string record;
    std::string dnsName;
  };

  static int run(const std::string& args, std::string* out = nullptr) {
    const std::string cmd = "/usr/bin/python3 " + (*dir_ / "verify.py").string() + " " + args + " 2>/dev/null";
    FILE* p = ::popen(cmd.c_str(), "r");
    if (p == nullptr) return -1;
    char buf[256];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) {
      if (out != nullptr) out->append(buf, n);
    }
    const int rc = ::pclose(p);
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
  }

  // dkimpy's verdicts, in one run, on each message (signature field included) with its key's
  // record published.
  static std::vector<bool> verifyAll(const std::vector<std::pair<const Keyed*, std::string>>& cases) {
    std::string args;
    for (size_t i = 0; i < cases.size(); ++i) {
      const fs::path msg = *dir_ / ("msg" + std::to_string(i) + ".eml");
      const fs::path rec = *dir_ / ("rec" + std::to_string(i) + ".txt");
      std::ofstream(msg, std::ios::binary) << cases[i].second;
      std::ofstream(rec, std::ios::binary) << cases[i].first->record;
      args += " " + msg.string() + " " + rec.string() + " " + cases[i].first->dnsName;
    }
    std::string out;
    EXPECT_EQ(run(args, &out), 0);
    std::vector<bool> verdicts;
    std::istringstream lines(out);
    for (std::string line; std::getline(lines, line);) verdicts.push_back(line == "pass");
    EXPECT_EQ(verdicts.size(), cases.size()) << out;
    verdicts.resize(cases.size(), false);
    return verdicts;
  }

  void requireVerifier(bool ed25519) {
    if (status_ == 3) GTEST_SKIP() << "needs /usr/bin/python3 with Debian's python3-dkim";
    if (ed25519 && status_ == 4) GTEST_SKIP() << "Ed25519 verification needs Debian's python3-nacl";
  }

  static std::string signedCopy(const Keyed& k, const std::string& message) {
    auto sig = sign(*k.key, message, 1700000000);
    EXPECT_TRUE(sig.ok()) << (sig.ok() ? "" : sig.error());
    return sig.ok() ? *sig + message : message;
  }

  static fs::path* dir_;
  static int status_;
  static Keyed* rsa_;
  static Keyed* ed_;
};
fs::path* DkimpyVerify::dir_ = nullptr;
int DkimpyVerify::status_ = 0;
DkimpyVerify::Keyed* DkimpyVerify::rsa_ = nullptr;
DkimpyVerify::Keyed* DkimpyVerify::ed_ = nullptr;

struct Sample {
  const char* name;
  std::string message;
};

const Sample kSamples[] = {
    {"plain",
     "From: Alice <alice@example.com>\r\nTo: bob@example.net\r\nSubject: hi\r\n"
     "Date: Mon, 1 Jan 2024 00:00:00 +0000\r\nMessage-ID: <a1@example.com>\r\n\r\nHello Bob.\r\n"},
    {"folded headers and trailing whitespace",
     "From: Alice\r\n <alice@example.com>  \r\nTo: bob@example.net,\r\n\tcarol@example.net,\r\n   dave@example.net\r\n"
     "Subject:   a   subject\t with \t  runs   \r\n\t of whitespace \r\nMIME-Version: 1.0\r\n"
     "Content-Type: text/plain;\r\n charset=utf-8\r\n\r\n"
     "line with trailing spaces   \r\n  indented\t\tline\r\n\t\r\nlast\r\n\r\n\r\n\r\n"},
    {"empty body", "From: alice@example.com\r\nSubject: nothing\r\n\r\n"},
    {"no body at all", "From: alice@example.com\r\nSubject: nothing at all\r\n"},
    {"8-bit",
     "From: =?utf-8?q?J=C3=B6rg?= <joerg@example.com>\r\nSubject: Gr\xc3\xbc\xc3\x9f\x65 \xe2\x80\x94 caf\xc3\xa9\r\n"
     "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
     "Gr\xc3\xbc\xc3\x9f\x65 aus K\xc3\xb6ln \xe2\x82\xac\r\nraw byte: \xff\xfe\r\n"},
    {"duplicate headers",
     "Received: from a by b\r\nReceived: from c by d\r\nFrom: alice@example.com\r\nTo: one@example.net\r\n"
     "Cc: two@example.net\r\nTo: three@example.net\r\nCc: four@example.net\r\nX-Unsigned: yes\r\n"
     "Subject: dup\r\nReferences: <r1@x>\r\nReferences: <r2@x>\r\n\r\nbody\r\n"},
    {"header names in odd case",
     "FROM: alice@example.com\r\nsUbJeCt: odd\r\nMessage-Id: <x@y>\r\n\r\nbody\r\n"},
    {"bare LF line ends", "From: alice@example.com\nSubject: lf\n folded\n\nline one  \nline two\n\n"},
    {"long lines", "From: alice@example.com\r\nSubject: long\r\n\r\n" + std::string(5000, 'x') + "\r\n" +
                       std::string(900, ' ') + "y\r\n"},
};

TEST_F(DkimpyVerify, RsaSignaturesVerify) {
  requireVerifier(false);
  std::vector<std::pair<const Keyed*, std::string>> cases;
  for (const auto& s : kSamples) cases.emplace_back(rsa_, signedCopy(*rsa_, s.message));
  const auto v = verifyAll(cases);
  for (size_t i = 0; i < cases.size(); ++i) EXPECT_TRUE(v[i]) << kSamples[i].name;
}

TEST_F(DkimpyVerify, Ed25519SignaturesVerify) {
  requireVerifier(true);
  std::vector<std::pair<const Keyed*, std::string>> cases;
  for (const auto& s : kSamples) cases.emplace_back(ed_, signedCopy(*ed_, s.message));
  const auto v = verifyAll(cases);
  for (size_t i = 0; i < cases.size(); ++i) EXPECT_TRUE(v[i]) << kSamples[i].name;
}

// Changes that relaxed canonicalization ignores, made after signing, keep the signature valid.
TEST_F(DkimpyVerify, RelaxedChangesStillVerify) {
  requireVerifier(false);
  const std::string signedMessage = signedCopy(*rsa_, kSamples[0].message);
  std::string refolded = signedMessage;
  refolded.replace(refolded.find("Subject: hi"), 11, "SUBJECT:\r\n \t hi  ");
  const auto v = verifyAll({{rsa_, refolded},
                            {rsa_, "Received: from relay by mx\r\n" + signedMessage},
                            {rsa_, signedMessage + "\r\n\r\n"}});
  EXPECT_TRUE(v[0]) << "refolded Subject";
  EXPECT_TRUE(v[1]) << "Received added on top";
  EXPECT_TRUE(v[2]) << "empty lines appended";
}

TEST_F(DkimpyVerify, TamperingFails) {
  requireVerifier(false);
  for (const Keyed* k : {rsa_, ed_}) {
    if (k == ed_ && status_ == 4) continue;
    const std::string signedMessage = signedCopy(*k, kSamples[0].message);
    std::string body = signedMessage;
    body.replace(body.find("Hello Bob."), 10, "Hello Bob!");
    std::string subject = signedMessage;
    subject.replace(subject.find("Subject: hi"), 11, "Subject: ho");
    std::string from = signedMessage;
    from.replace(from.find("From: "), 6, "From: mallory@evil.example\r\nFrom: ");
    std::string date = signedMessage;
    const size_t d = date.find("Date: ");
    date.erase(d, date.find("\r\n", d) + 2 - d);
    // Another key of the same type (RFC 8463 A.2's) published under this key's name.
    Keyed wrong = *k;
    wrong.record = k == rsa_ ? "v=DKIM1; k=rsa; p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDkHlOQoBTzWRiGs5V6NpP3idY6Wk08a5qhdR6"
                               "wy5bdOKb2jLQiY/J16JYi0Qvx/byYzCNb3W91y3FutACDfzwQ/BC/e/8uBsCR+yz1Lxj+PL6lHvqMKrM3rG4hstT5"
                               "QjvHO9PzoxZyVYLzBfO2EeC3Ip3G+2kryOTIKT+l/K4w3QIDAQAB"
                             : "v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=";
    const auto v = verifyAll({{k, signedMessage},
                              {k, body},
                              {k, signedMessage + "P.S. appended\r\n"},
                              {k, subject},
                              {k, from},
                              {k, date},
                              {&wrong, signedMessage}});
    EXPECT_TRUE(v[0]) << "untouched";
    EXPECT_FALSE(v[1]) << "changed body";
    EXPECT_FALSE(v[2]) << "appended line";
    EXPECT_FALSE(v[3]) << "changed Subject";
    EXPECT_FALSE(v[4]) << "added From";
    EXPECT_FALSE(v[5]) << "removed Date";
    EXPECT_FALSE(v[6]) << "wrong key";
  }
}

}  // namespace
}  // namespace tern::dkim
