// Reply serialisation tests (RFC 5321 4.2.1 multiline form, RFC 2034 enhanced codes) and the EHLO
// response.
#include <gtest/gtest.h>

#include "smtp/protocol/reply.h"

namespace tern::smtp {
namespace {

TEST(SmtpReply, SingleAndMultiline) {
  EXPECT_EQ(serialize(Reply{250, "2.1.0", {"Sender ok"}}), "250 2.1.0 Sender ok\r\n");
  EXPECT_EQ(serialize(Reply{214, "2.0.0", {"one", "two", "three"}}),
            "214-2.0.0 one\r\n214-2.0.0 two\r\n214 2.0.0 three\r\n");
  EXPECT_EQ(serialize(Reply{354, "", {"End data with <CR><LF>.<CR><LF>"}}),
            "354 End data with <CR><LF>.<CR><LF>\r\n");
  EXPECT_EQ(serialize(Reply{334, "", {}}), "334 \r\n");
  EXPECT_EQ(serialize(Reply{250, "2.0.0", {""}}), "250 2.0.0\r\n");
}

TEST(SmtpReply, ControlsCannotInjectLines) {
  std::string wire = serialize(Reply{250, "2.0.0", {"queued as x\r\n250 fake"}});
  EXPECT_EQ(wire, "250 2.0.0 queued as x  250 fake\r\n");
  EXPECT_EQ(serialize(replies::messageAccepted("id\n1")), "250 2.0.0 Ok: queued as id 1\r\n");
}

TEST(SmtpReply, LongTextIsCut) {
  std::string wire = serialize(Reply{550, "5.1.1", {std::string(2000, 'x')}});
  EXPECT_LE(wire.size(), 512u);
  EXPECT_EQ(wire.substr(wire.size() - 2), "\r\n");
}

TEST(SmtpReply, EhloResponse) {
  Reply r = replies::ehlo("mx.example.org", "client.example",
                          {"PIPELINING", "SIZE 10485760", "8BITMIME", "ENHANCEDSTATUSCODES"});
  EXPECT_EQ(serialize(r),
            "250-mx.example.org Hello client.example\r\n"
            "250-PIPELINING\r\n"
            "250-SIZE 10485760\r\n"
            "250-8BITMIME\r\n"
            "250 ENHANCEDSTATUSCODES\r\n");
  EXPECT_EQ(serialize(replies::ehlo("mx", "c", {})), "250 mx Hello c\r\n");
}

TEST(SmtpReply, StockRepliesHaveMatchingEnhancedCodes) {
  const Reply all[] = {
      replies::ok(), replies::senderOk(), replies::recipientOk(), replies::messageAccepted("Q"),
      replies::bdatAccepted(5), replies::closing("h"), replies::resetOk(),
      replies::vrfyCannotVerify(), replies::help(), replies::readyToStartTls(),
      replies::authSuccess(), replies::tooManyErrors("h"), replies::timeout("h"),
      replies::shuttingDown("h"), replies::localError(), replies::insufficientStorage(),
      replies::tooManyRecipients(), replies::lineTooLong(), replies::bareLineEnding(),
      replies::commandUnrecognized(), replies::syntaxError("x"), replies::notImplemented(),
      replies::badSequence("x"), replies::parameterNotImplemented(), replies::authRequired(),
      replies::startTlsRequired(), replies::authFailed(), replies::encryptionRequiredForAuth(),
      replies::mailboxUnavailable(), replies::relayDenied(), replies::addressRoutingRefused(),
      replies::messageTooBig(), replies::mailboxFull(), replies::smtputf8Required(),
      replies::transactionFailed("x"),
  };
  for (const auto& r : all) {
    EXPECT_FALSE(r.enhanced.empty()) << r.code;
    EXPECT_TRUE(enhancedMatches(r)) << r.code << " " << r.enhanced;
  }
  // Specific codes the session relies on.
  EXPECT_EQ(serialize(replies::vrfyCannotVerify()).substr(0, 10), "252 2.5.0 ");
  EXPECT_EQ(serialize(replies::messageTooBig()).substr(0, 10), "552 5.3.4 ");
  EXPECT_EQ(serialize(replies::tooManyErrors("h")).substr(0, 10), "421 4.7.0 ");
  EXPECT_EQ(serialize(replies::bareLineEnding()).substr(0, 10), "500 5.5.2 ");
  EXPECT_EQ(serialize(replies::greeting("mx.example.org")), "220 mx.example.org ESMTP ready\r\n");
  EXPECT_EQ(serialize(replies::authChallenge("")), "334 \r\n");
}

}  // namespace
}  // namespace tern::smtp
