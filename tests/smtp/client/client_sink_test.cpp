// Interop with a foreign server: Postfix's smtp-sink (a real SMTP server that captures transactions)
// with PIPELINING on and off, DSN parameters, injected 4xx/5xx replies and disconnects, HELO fallback,
// and the 8BITMIME / SMTPUTF8 pre-checks against a peer that lacks them.
#include <gtest/gtest.h>

#include "client_test_util.h"

namespace tern::smtp::client {
namespace {

using namespace testing;

class SinkTest : public ::testing::Test {
 protected:
  // Starts smtp-sink with `options` and connects a client to it.
  std::unique_ptr<Connection> open(std::vector<std::string> options, ClientSettings s = plainSettings()) {
    sink_ = std::make_unique<SmtpSink>(std::move(options));
    if (!sink_->ready()) return nullptr;
    auto c = connectTo(io_, sink_->port(), s);
    if (!c.ok()) {
      ADD_FAILURE() << c.error().detail;
      return nullptr;
    }
    return std::move(c).value();
  }
  void SetUp() override {
    if (!SmtpSink::available()) GTEST_SKIP() << "smtp-sink not installed";
  }

  asio::io_context io_;
  std::unique_ptr<SmtpSink> sink_;
};

TEST_F(SinkTest, PipelinedDeliveryWithDsnParametersAndDots) {
  auto c = open({});
  ASSERT_TRUE(c);
  const auto& caps = c->capabilities();
  EXPECT_TRUE(caps.esmtp);
  EXPECT_TRUE(caps.pipelining);
  EXPECT_TRUE(caps.eightBitMime);
  EXPECT_TRUE(caps.dsn);
  EXPECT_FALSE(caps.smtpUtf8);
  EXPECT_FALSE(caps.startTls);
  EXPECT_FALSE(caps.maxSize.has_value());  // smtp-sink announces no SIZE, so no SIZE= is sent
  EXPECT_EQ(caps.authMechanisms, (std::vector<std::string>{"PLAIN", "LOGIN"}));
  EXPECT_EQ(c->peerGreeting().substr(0, 9), "smtp-sink");

  Envelope env;
  env.sender = "a@b.test";
  env.recipients = {{"c@d.test", "SUCCESS,FAILURE", "rfc822;c@d.test"}, {"e@d.test", "", ""}};
  env.ret = "HDRS";
  env.envid = "abc+2B123";
  env.eightBit = true;
  const std::string msg = "Subject: sink\r\n\r\n.dot\r\n..two\r\nend";
  auto r = run(io_, c->send(env, "", msg));
  EXPECT_FALSE(r.transactionFailure.has_value());
  ASSERT_EQ(r.recipientReplies.size(), 2u);
  EXPECT_EQ(r.recipientReplies[0].code, 250);
  EXPECT_EQ(r.recipientReplies[1].code, 250);
  run(io_, c->quit());

  auto dumps = sink_->dumps();
  ASSERT_EQ(dumps.size(), 1u);
  const std::string& d = dumps[0];
  EXPECT_NE(d.find("X-Mail-Args: <a@b.test> BODY=8BITMIME RET=HDRS ENVID=abc+2B123\n"), std::string::npos) << d;
  EXPECT_NE(d.find("X-Rcpt-Args: <c@d.test> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;c@d.test\n"), std::string::npos) << d;
  EXPECT_NE(d.find("X-Rcpt-Args: <e@d.test>\n"), std::string::npos) << d;
  // smtp-sink removes the stuffing: the lines are back as they were.
  EXPECT_NE(d.find("\nSubject: sink\n\n.dot\n..two\nend\n"), std::string::npos) << d;
}

TEST_F(SinkTest, NonPipeliningPeerInLockStepWithReuse) {
  auto c = open({"-p"});
  ASSERT_TRUE(c);
  EXPECT_FALSE(c->capabilities().pipelining);
  for (int i = 0; i < 2; ++i) {
    if (i > 0) {
      EXPECT_TRUE(run(io_, c->reset()));
    }
    auto r = run(io_, c->send(envelope("a@b.test", {"c@d.test", "e@d.test"}), "", "Subject: p\r\n\r\nx\r\n"));
    EXPECT_FALSE(r.transactionFailure.has_value());
    ASSERT_EQ(r.recipientReplies.size(), 2u);
    EXPECT_EQ(r.recipientReplies[0].code, 250);
    EXPECT_EQ(r.recipientReplies[1].code, 250);
  }
  run(io_, c->quit());
  EXPECT_EQ(sink_->dumps().size(), 2u);
}

TEST_F(SinkTest, SoftRejectedRecipients) {
  auto c = open({"-r", "RCPT"});
  ASSERT_TRUE(c);
  auto r = run(io_, c->send(envelope("a@b.test", {"c@d.test", "e@d.test"}), "", "Subject: r\r\n\r\nx\r\n"));
  ASSERT_TRUE(r.transactionFailure.has_value());
  EXPECT_EQ(r.transactionFailure->code / 100, 4);
  for (const auto& rep : r.recipientReplies) {
    EXPECT_EQ(rep.code, 450);
    EXPECT_EQ(rep.enhanced, "4.3.0");
  }
  EXPECT_TRUE(c->usable());
  EXPECT_TRUE(run(io_, c->reset()));
  run(io_, c->quit());
}

TEST_F(SinkTest, HardRejectedMailFromReachesEveryRecipient) {
  auto c = open({"-f", "MAIL"});
  ASSERT_TRUE(c);
  auto r = run(io_, c->send(envelope("a@b.test", {"c@d.test", "e@d.test"}), "", "Subject: f\r\n\r\nx\r\n"));
  ASSERT_TRUE(r.transactionFailure.has_value());
  EXPECT_EQ(r.transactionFailure->code, 500);
  ASSERT_EQ(r.recipientReplies.size(), 2u);
  for (const auto& rep : r.recipientReplies) EXPECT_EQ(rep.code, 500);
  EXPECT_TRUE(c->usable());
  run(io_, c->quit());
}

TEST_F(SinkTest, Disconnect421AfterData) {
  auto c = open({"-Q", "DATA"});
  ASSERT_TRUE(c);
  auto r = run(io_, c->send(envelope("a@b.test", {"c@d.test"}), "", "Subject: q\r\n\r\nx\r\n"));
  ASSERT_TRUE(r.transactionFailure.has_value());
  EXPECT_EQ(r.recipientReplies.at(0).code, 421);
  EXPECT_FALSE(c->usable());
  EXPECT_FALSE(run(io_, c->reset()));
  // A further send on the dead connection answers 451 4.4.2 without I/O.
  auto again = run(io_, c->send(envelope("a@b.test", {"c@d.test"}), "", "x\r\n"));
  EXPECT_EQ(again.recipientReplies.at(0).code, 451);
  EXPECT_EQ(again.recipientReplies.at(0).enhanced, "4.4.2");
}

TEST_F(SinkTest, SilentDisconnectAfterDotIs451) {
  auto c = open({"-q", "."});
  ASSERT_TRUE(c);
  auto r = run(io_, c->send(envelope("a@b.test", {"c@d.test", "e@d.test"}), "", "Subject: q\r\n\r\nx\r\n"));
  ASSERT_TRUE(r.transactionFailure.has_value());
  for (const auto& rep : r.recipientReplies) {
    EXPECT_EQ(rep.code, 451);
    EXPECT_EQ(rep.enhanced, "4.4.2");
  }
  EXPECT_FALSE(c->usable());
}

TEST_F(SinkTest, EhloRefusedFallsBackToHelo) {
  auto c = open({"-f", "EHLO"});
  ASSERT_TRUE(c);
  EXPECT_FALSE(c->capabilities().esmtp);
  EXPECT_FALSE(c->capabilities().pipelining);
  EXPECT_FALSE(c->capabilities().maxSize.has_value());
  auto r = run(io_, c->send(envelope("a@b.test", {"c@d.test"}), "", "Subject: h\r\n\r\nx\r\n"));
  EXPECT_EQ(r.recipientReplies.at(0).code, 250);
  run(io_, c->quit());
  auto dumps = sink_->dumps();
  ASSERT_EQ(dumps.size(), 1u);
  EXPECT_NE(dumps[0].find("X-Client-Proto: SMTP\n"), std::string::npos) << dumps[0];
  EXPECT_NE(dumps[0].find("X-Mail-Args: <a@b.test>\n"), std::string::npos) << dumps[0];  // no SIZE= to HELO peers
}

TEST_F(SinkTest, EightBitAndSmtpUtf8NeedTheExtensions) {
  auto c = open({"-8"});
  ASSERT_TRUE(c);
  EXPECT_FALSE(c->capabilities().eightBitMime);
  auto env = envelope("a@b.test", {"c@d.test", "e@d.test"});
  env.eightBit = true;
  auto r = run(io_, c->send(env, "", "Subject: 8\r\n\r\n\xc3\xa9\r\n"));
  ASSERT_EQ(r.recipientReplies.size(), 2u);
  for (const auto& rep : r.recipientReplies) {
    EXPECT_EQ(rep.code, 554);
    EXPECT_EQ(rep.enhanced, "5.6.3");
  }
  auto u = envelope("\xc3\xa9@b.test", {"c@d.test"});
  u.smtpUtf8 = true;
  auto r2 = run(io_, c->send(u, "", "Subject: u\r\n\r\nx\r\n"));
  EXPECT_EQ(r2.recipientReplies.at(0).code, 553);
  EXPECT_EQ(r2.recipientReplies.at(0).enhanced, "5.6.7");
  EXPECT_TRUE(c->usable());
  run(io_, c->quit());
}

TEST_F(SinkTest, AuthPlainWithoutTlsOnlyUnderPolicyNone) {
  auto s = plainSettings();
  s.username = "user";
  s.password = "pw";
  auto c = open({}, s);
  ASSERT_TRUE(c);
  auto r = run(io_, c->send(envelope("a@b.test", {"c@d.test"}), "", "Subject: a\r\n\r\nx\r\n"));
  EXPECT_EQ(r.recipientReplies.at(0).code, 250);
  run(io_, c->quit());
  // Opportunistic (no TLS context, and smtp-sink has no STARTTLS): credentials are not sent.
  s.tls = TlsPolicy::Opportunistic;
  auto refused = connectTo(io_, sink_->port(), s);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().detail.find("AUTH needs TLS"), std::string::npos);
}

}  // namespace
}  // namespace tern::smtp::client
