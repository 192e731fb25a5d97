// Tests for the pure SMTP session policy: command gate, EHLO extensions, subaddresses, trace
// headers and the submission From extraction. Expected codes are from RFC 5321, 3207, 4954, 3030.
#include "smtp/server/policy.h"

#include <gtest/gtest.h>

namespace tern::smtp::server {
namespace {

Mail mailCmd() {
  Mail m;
  return m;
}

struct GateCase {
  const char* name;
  Command command;
  GateState state;
  int expectedCode;  // 0: allowed
  const char* expectedEnhanced;
};

GateState st(Service s, bool tls, bool greeted, bool auth = false, bool mail = false, bool rcpt = false) {
  GateState g;
  g.service = s;
  g.tls = tls;
  g.greeted = greeted;
  g.authenticated = auth;
  g.inTransaction = mail;
  g.hasRecipients = rcpt;
  return g;
}

TEST(SmtpGateTest, Table) {
  Ehlo lhlo;
  lhlo.lhlo = true;
  GateState bdat = st(Service::Inbound, false, true, false, true, true);
  bdat.inBdat = true;
  const GateCase cases[] = {
      {"mail before ehlo", mailCmd(), st(Service::Inbound, false, false), 503, "5.5.1"},
      {"mail after ehlo on 25", mailCmd(), st(Service::Inbound, false, true), 0, ""},
      {"nested mail", mailCmd(), st(Service::Inbound, false, true, false, true), 503, "5.5.1"},
      {"rcpt without mail", Rcpt{}, st(Service::Inbound, false, true), 503, "5.5.1"},
      {"data without rcpt", Data{}, st(Service::Inbound, false, true, false, true), 554, "5.5.1"},
      {"data ok", Data{}, st(Service::Inbound, false, true, false, true, true), 0, ""},
      {"submission mail before tls", mailCmd(), st(Service::Submission, false, true), 530, "5.7.0"},
      {"submission mail before auth", mailCmd(), st(Service::Submission, true, true), 530, "5.7.0"},
      {"submission mail after auth", mailCmd(), st(Service::Submission, true, true, true), 0, ""},
      {"auth before tls (RFC 4954 4: 538)", Auth{"PLAIN", {}}, st(Service::Submission, false, true), 538, "5.7.11"},
      {"auth on port 25", Auth{"PLAIN", {}}, st(Service::Inbound, true, true), 502, "5.5.1"},
      {"auth twice", Auth{"PLAIN", {}}, st(Service::Submissions, true, true, true), 503, "5.5.1"},
      {"auth ok on 465", Auth{"PLAIN", {}}, st(Service::Submissions, true, true), 0, ""},
      {"starttls twice", StartTls{}, st(Service::Submission, true, true), 503, "5.5.1"},
      {"starttls in lmtp", StartTls{}, st(Service::Lmtp, false, true), 500, "5.5.2"},
      {"ehlo in lmtp", Ehlo{}, st(Service::Lmtp, false, false), 500, "5.5.2"},
      {"lhlo in smtp", Command{lhlo}, st(Service::Inbound, false, false), 500, "5.5.2"},
      {"lhlo in lmtp", Command{lhlo}, st(Service::Lmtp, false, false), 0, ""},
      {"helo in lmtp", Helo{}, st(Service::Lmtp, false, false), 500, "5.5.2"},
      {"mail between bdat chunks", mailCmd(), bdat, 503, "5.5.1"},
      {"bdat between chunks", Bdat{10, true}, bdat, 0, ""},
      {"quit always", Quit{}, st(Service::Submission, false, false), 0, ""},
      {"noop before ehlo", Noop{}, st(Service::Inbound, false, false), 0, ""},
  };
  for (const auto& c : cases) {
    auto r = gate(c.command, c.state);
    if (c.expectedCode == 0) {
      EXPECT_FALSE(r.has_value()) << c.name << ": " << (r ? r->code : 0);
    } else {
      ASSERT_TRUE(r.has_value()) << c.name;
      EXPECT_EQ(r->code, c.expectedCode) << c.name;
      EXPECT_EQ(r->enhanced, c.expectedEnhanced) << c.name;
      EXPECT_TRUE(enhancedMatches(*r)) << c.name;
    }
  }
}

bool has(const std::vector<std::string>& v, std::string_view s) {
  for (const auto& x : v)
    if (x == s) return true;
  return false;
}

TEST(SmtpPolicyTest, ExtensionsOnlyWhereUsable) {
  auto plain25 = ehloExtensions(Service::Inbound, false, true, false, 1000);
  EXPECT_TRUE(has(plain25, "STARTTLS"));
  EXPECT_TRUE(has(plain25, "SIZE 1000"));
  EXPECT_TRUE(has(plain25, "PIPELINING"));
  EXPECT_TRUE(has(plain25, "CHUNKING"));
  EXPECT_TRUE(has(plain25, "ENHANCEDSTATUSCODES"));
  EXPECT_FALSE(has(plain25, "AUTH PLAIN LOGIN SCRAM-SHA-256"));
  auto plain587 = ehloExtensions(Service::Submission, false, true, false, 1000);
  EXPECT_FALSE(has(plain587, "AUTH PLAIN LOGIN SCRAM-SHA-256"));  // AUTH only over TLS
  auto tls587 = ehloExtensions(Service::Submission, true, true, false, 1000);
  EXPECT_TRUE(has(tls587, "AUTH PLAIN LOGIN SCRAM-SHA-256"));
  EXPECT_FALSE(has(tls587, "STARTTLS"));
  auto authed = ehloExtensions(Service::Submission, true, true, true, 1000);
  EXPECT_FALSE(has(authed, "AUTH PLAIN LOGIN SCRAM-SHA-256"));
  EXPECT_FALSE(has(ehloExtensions(Service::Lmtp, false, true, false, 1000), "STARTTLS"));
}

TEST(SmtpPolicyTest, Subaddress) {
  EXPECT_EQ(subaddressBase("user+tag"), "user");
  EXPECT_EQ(subaddressBase("user+tag+more"), "user");
  EXPECT_EQ(subaddressBase("user"), std::nullopt);
  EXPECT_EQ(subaddressBase("+tag"), std::nullopt);
  EXPECT_EQ(subaddressBase("user+"), std::nullopt);
}

TEST(SmtpPolicyTest, TraceHeaders) {
  TraceInfo t;
  t.heloDomain = "client.example";
  t.remoteIp = "192.0.2.1";
  t.hostname = "mx.example.test";
  t.protocol = protocolName(Service::Submission, true, true, true);
  t.queueId = "abc";
  t.tlsVersion = "TLSv1.3";
  t.tlsCipher = "TLS_AES_256_GCM_SHA384";
  t.authenticatedUser = "alice@example.test";
  t.singleRecipient = "bob@example.org";
  t.reversePath = "alice@example.test";
  t.unixTime = 0;
  std::string h = traceHeaders(t);
  EXPECT_EQ(h,
            "Return-Path: <alice@example.test>\r\n"
            "Received: from client.example ([192.0.2.1])\r\n"
            "\tby mx.example.test (Tern) with ESMTPSA id abc\r\n"
            "\t(using TLSv1.3 with cipher TLS_AES_256_GCM_SHA384)\r\n"
            "\t(authenticated as alice@example.test)\r\n"
            "\tfor <bob@example.org>\r\n"
            "\t; Thu, 01 Jan 1970 00:00:00 +0000\r\n");
  t.remoteIp = "2001:db8::1";
  EXPECT_NE(traceHeaders(t).find("Received: from client.example ([IPv6:2001:db8::1])\r\n"), std::string::npos);
  EXPECT_EQ(protocolName(Service::Inbound, true, false, false), "ESMTP");
  EXPECT_EQ(protocolName(Service::Inbound, false, false, false), "SMTP");
  EXPECT_EQ(protocolName(Service::Inbound, true, true, false), "ESMTPS");
  EXPECT_EQ(protocolName(Service::Lmtp, true, false, false), "LMTP");
}

TEST(SmtpPolicyTest, HeaderFrom) {
  using V = std::vector<std::string>;
  struct Case {
    const char* msg;
    std::optional<V> want;
  };
  const Case cases[] = {
      {"From: alice@Example.TEST\r\nTo: x@y\r\n\r\nbody", V{"alice@example.test"}},
      {"Subject: hi\r\nFROM: \"Alice, A\" <alice@example.test> (work)\r\n\r\n", V{"alice@example.test"}},
      {"From: Alice\r\n <alice@example.test>\r\n\r\n", V{"alice@example.test"}},
      {"From: a@x.test, B <b@y.test>\r\n\r\n", V{"a@x.test", "b@y.test"}},
      {"From: a@x.test\r\nFrom: b@y.test\r\n\r\n", std::nullopt},          // two From fields
      {"To: a@x.test\r\n\r\nFrom: a@x.test\r\n", std::nullopt},            // From only in the body
      {"From: undisclosed\r\n\r\n", std::nullopt},
      {"From: Team: a@x.test;\r\n\r\n", std::nullopt},                  // a group is not a mailbox-list
      {"From: \"a@x.test\" <b@y.test>\r\n\r\n", V{"b@y.test"}},        // the display name is not checked
  };
  for (const auto& c : cases) EXPECT_EQ(headerFromAddresses(c.msg), c.want) << c.msg;
}

}  // namespace
}  // namespace tern::smtp::server
