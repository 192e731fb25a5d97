// parseCommand tests: every verb and parameter, valid and invalid, with the exact reply codes
// (RFC 5321 4.2.3, RFC 3463 enhanced codes, RFC 1870/6152/6531/3461/4954/3030 parameters).
#include <gtest/gtest.h>

#include "smtp/protocol/parser.h"

namespace tern::smtp {
namespace {

Command ok(std::string_view line, const ParserOptions& o = {}) {
  auto r = parseCommand(line, o);
  EXPECT_TRUE(r.ok()) << "line: " << line << " -> " << (r.ok() ? "" : r.error().text);
  return r.ok() ? *r : Command{Noop{}};
}

// --- errors: (line, code, enhanced) ----------------------------------------------------------------
struct ErrorCase {
  const char* line;
  int code;
  const char* enhanced;
};

const ErrorCase kErrors[] = {
    // verbs
    {"", 500, "5.5.2"},
    {"FOO bar", 500, "5.5.2"},
    {"MAILFROM:<a@b.c>", 500, "5.5.2"},
    {" MAIL FROM:<a@b.c>", 500, "5.5.2"},
    {"EXPN staff", 502, "5.5.1"},
    {"TURN", 502, "5.5.1"},
    {"ETRN example.org", 502, "5.5.1"},
    // characters
    {"NOOP \x01", 500, "5.5.2"},
    {"MAIL FROM:<a@b.c>\tSIZE=1", 500, "5.5.2"},
    {"NOOP \xff\xfe", 500, "5.5.2"},
    // HELO/EHLO/LHLO
    {"EHLO", 501, "5.5.4"},
    {"HELO", 501, "5.5.4"},
    {"LHLO", 501, "5.5.4"},
    {"EHLO a.example b.example", 501, "5.5.4"},
    {"EHLO -bad.example", 501, "5.5.4"},
    {"EHLO bad-.example", 501, "5.5.4"},
    {"EHLO a..example", 501, "5.5.4"},
    {"EHLO [1.2.3.256]", 501, "5.5.4"},
    {"EHLO [IPv6:1::2::3]", 501, "5.5.4"},
    {"EHLO [foo:bar]", 501, "5.5.4"},
    // MAIL syntax
    {"MAIL", 501, "5.5.4"},
    {"MAIL FROM:", 501, "5.5.4"},
    {"MAIL FROM a@b.c", 501, "5.5.4"},
    {"MAIL FROM:a@b.c", 501, "5.5.4"},          // angle brackets required
    {"MAIL FROM :<a@b.c>", 501, "5.5.4"},
    {"MAIL FROM:  <a@b.c>", 501, "5.5.4"},      // only one space tolerated
    {"MAIL  FROM:<a@b.c>", 501, "5.5.4"},
    {"MAIL TO:<a@b.c>", 501, "5.5.4"},
    {"MAIL FROM:<a@b.c>SIZE=1", 501, "5.5.4"},
    {"MAIL FROM:<a@b.c", 501, "5.1.7"},
    {"MAIL FROM:<a b@c.d>", 501, "5.1.7"},
    {"MAIL FROM:<@b.c>", 501, "5.1.7"},
    {"MAIL FROM:<a@>", 501, "5.1.7"},
    {"MAIL FROM:<a.@b.c>", 501, "5.1.7"},
    {"MAIL FROM:<Postmaster>", 501, "5.1.7"},   // only a forward path may omit the domain
    {"MAIL FROM:<j\xc3\xb6rg@b.c>", 553, "5.6.7"},  // UTF-8 without SMTPUTF8
    // MAIL parameters
    {"MAIL FROM:<a@b.c> FOO=bar", 555, "5.5.4"},
    {"MAIL FROM:<a@b.c> NOTIFY=NEVER", 555, "5.5.4"},  // a RCPT parameter
    {"MAIL FROM:<a@b.c> SIZE=1 SIZE=2", 501, "5.5.4"},
    {"MAIL FROM:<a@b.c> size=1 SIZE=1", 501, "5.5.4"},
    {"MAIL FROM:<a@b.c> SMTPUTF8 SMTPUTF8", 501, "5.5.4"},
    {"MAIL FROM:<a@b.c> SIZE", 501, "5.5.4"},
    {"MAIL FROM:<a@b.c> SIZE=", 501, "5.5.4"},
    {"MAIL FROM:<a@b.c> SIZE=-1", 501, "5.5.4"},
    {"MAIL FROM:<a@b.c> SIZE=12a", 501, "5.5.4"},
    {"MAIL FROM:<a@b.c> SIZE=123456789012345678901", 501, "5.5.4"},  // > 20 digits
    {"MAIL FROM:<a@b.c> BODY=9BIT", 501, "5.5.4"},
    {"MAIL FROM:<a@b.c> BODY", 501, "5.5.4"},
    {"MAIL FROM:<a@b.c> SMTPUTF8=yes", 501, "5.5.4"},
    {"MAIL FROM:<a@b.c> RET=ALL", 501, "5.5.4"},
    {"MAIL FROM:<a@b.c> ENVID=a+2", 501, "5.5.4"},
    {"MAIL FROM:<a@b.c> ENVID=a+ZZb", 501, "5.5.4"},
    {"MAIL FROM:<a@b.c> ENVID=a+0Ab", 501, "5.5.4"},  // decodes to a control
    {"MAIL FROM:<a@b.c> ENVID=xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", 501, "5.5.4"},  // 101
    {"MAIL FROM:<a@b.c> AUTH=a+20b", 501, "5.5.4"},
    {"MAIL FROM:<a@b.c> =x", 501, "5.5.4"},
    {"MAIL FROM:<a@b.c> -X=1", 501, "5.5.4"},
    {"MAIL FROM:<a@b.c> X_Y=1", 501, "5.5.4"},
    {"MAIL FROM:<a@b.c> SIZE==1", 501, "5.5.4"},
    // RCPT
    {"RCPT", 501, "5.5.4"},
    {"RCPT TO:", 501, "5.5.4"},
    {"RCPT TO:a@b.c", 501, "5.5.4"},
    {"RCPT FROM:<a@b.c>", 501, "5.5.4"},
    {"RCPT TO:  <a@b.c>", 501, "5.5.4"},
    {"RCPT TO:<>", 501, "5.1.3"},
    {"RCPT TO:<a@b.c> x", 555, "5.5.4"},         // a valid keyword, unknown
    {"RCPT TO:<a@b.c> $x", 501, "5.5.4"},        // not a keyword
    {"RCPT TO:<a@@b.c>", 501, "5.1.3"},
    {"RCPT TO:<\"unterminated@b.c>", 501, "5.1.3"},
    {"RCPT TO:<j\xc3\xb6rg@b.c>", 553, "5.6.7"},
    {"RCPT TO:<a@b.c> SIZE=1", 555, "5.5.4"},
    {"RCPT TO:<a@b.c> FOO", 555, "5.5.4"},
    {"RCPT TO:<a@b.c> NOTIFY=NEVER NOTIFY=NEVER", 501, "5.5.4"},
    {"RCPT TO:<a@b.c> NOTIFY", 501, "5.5.4"},
    {"RCPT TO:<a@b.c> NOTIFY=SOMETIMES", 501, "5.5.4"},
    {"RCPT TO:<a@b.c> NOTIFY=NEVER,SUCCESS", 501, "5.5.4"},
    {"RCPT TO:<a@b.c> NOTIFY=SUCCESS,SUCCESS", 501, "5.5.4"},
    {"RCPT TO:<a@b.c> NOTIFY=SUCCESS,", 501, "5.5.4"},
    {"RCPT TO:<a@b.c> ORCPT=rfc822", 501, "5.5.4"},
    {"RCPT TO:<a@b.c> ORCPT=;a@b.c", 501, "5.5.4"},
    {"RCPT TO:<a@b.c> ORCPT=rfc822;", 501, "5.5.4"},
    {"RCPT TO:<a@b.c> ORCPT=rfc822;a+b", 501, "5.5.4"},
    {"RCPT TO:<a@b.c> ORCPT=rf(c;a@b.c", 501, "5.5.4"},
    {"RCPT TO:<a@b.c> ORCPT=rfc822;a@b ORCPT=rfc822;a@b", 501, "5.5.4"},
    // lengths: local part 65, domain 256 -> 501 5.1.3 (also for MAIL)
    {"RCPT TO:<aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa@b.c>", 501, "5.1.3"},
    {"MAIL FROM:<aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa@b.c>", 501, "5.1.3"},
    // DATA / RSET / QUIT / STARTTLS take no argument
    {"DATA x", 501, "5.5.4"},
    {"RSET x", 501, "5.5.4"},
    {"QUIT now", 501, "5.5.4"},
    {"STARTTLS x", 501, "5.5.4"},
    {"VRFY", 501, "5.5.4"},
    {"VRFY   ", 501, "5.5.4"},
    // AUTH
    {"AUTH", 501, "5.5.4"},
    {"AUTH PLAIN a b", 501, "5.5.4"},
    {"AUTH PL@IN", 501, "5.5.4"},
    {"AUTH ABCDEFGHIJKLMNOPQRSTU", 501, "5.5.4"},  // 21 characters
    {"AUTH PLAIN !!!!", 501, "5.5.2"},
    {"AUTH PLAIN abc", 501, "5.5.2"},              // not padded base64
    // BDAT
    {"BDAT", 501, "5.5.4"},
    {"BDAT x", 501, "5.5.4"},
    {"BDAT -1", 501, "5.5.4"},
    {"BDAT 100 FIRST", 501, "5.5.4"},
    {"BDAT 100 LAST x", 501, "5.5.4"},
    {"BDAT 99999999999999999999999", 501, "5.5.4"},
};

TEST(SmtpParser, ErrorsMapToExactReplies) {
  for (const auto& c : kErrors) {
    auto r = parseCommand(c.line);
    ASSERT_FALSE(r.ok()) << "accepted: " << c.line;
    EXPECT_EQ(r.error().code, c.code) << c.line;
    EXPECT_EQ(r.error().enhanced, c.enhanced) << c.line;
    EXPECT_FALSE(r.error().text.empty());
    // The reply built from the error is well-formed and carries the enhanced code.
    std::string wire = serialize(r.error().reply());
    EXPECT_EQ(wire.substr(0, 4), std::to_string(c.code) + " ") << c.line;
    EXPECT_EQ(wire.substr(4, 6), std::string(c.enhanced) + " ") << c.line;
  }
}

TEST(SmtpParser, NulInsideLineIsRefused) {
  auto r = parseCommand(std::string_view("NOOP a\0b", 8));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, 500);
}

TEST(SmtpParser, ErrorTextsDoNotEchoClientBytes) {
  for (std::string_view line : {"MAIL FROM:<evil\x01@x>", "FOO <script>", "RCPT TO:<a@b.c> X-EVIL=1",
                                "MAIL FROM:<a@b.c> BODY=<inject>"}) {
    auto r = parseCommand(line);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().text.find("evil"), std::string::npos);
    EXPECT_EQ(r.error().text.find("script"), std::string::npos);
    EXPECT_EQ(r.error().text.find("EVIL"), std::string::npos);
    EXPECT_EQ(r.error().text.find("inject"), std::string::npos);
  }
}

TEST(SmtpParser, BdatErrorsAreDesync) {
  auto r = parseCommand("BDAT lots");
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.error().desync);
  auto r2 = parseCommand("MAIL FROM:<x>");
  ASSERT_FALSE(r2.ok());
  EXPECT_FALSE(r2.error().desync);
}

// --- valid commands -------------------------------------------------------------------------------

TEST(SmtpParser, VerbsAreCaseInsensitive) {
  for (std::string_view v : {"QUIT", "quit", "QuIt"}) EXPECT_TRUE(std::holds_alternative<Quit>(ok(v)));
  EXPECT_TRUE(std::holds_alternative<Mail>(ok("mail from:<a@b.c>")));
  EXPECT_TRUE(std::holds_alternative<Rcpt>(ok("Rcpt To:<a@b.c>")));
  EXPECT_TRUE(std::holds_alternative<StartTls>(ok("starttls")));
}

TEST(SmtpParser, SimpleVerbs) {
  EXPECT_EQ(std::get<Data>(ok("DATA")), Data{});
  EXPECT_EQ(std::get<Rset>(ok("RSET")), Rset{});
  EXPECT_EQ(std::get<Quit>(ok("QUIT ")), Quit{});  // trailing space tolerated
  EXPECT_EQ(std::get<Noop>(ok("NOOP")), Noop{});
  EXPECT_EQ(std::get<Noop>(ok("NOOP anything at all")), Noop{});
  EXPECT_EQ(std::get<Help>(ok("HELP")).topic, "");
  EXPECT_EQ(std::get<Help>(ok("HELP MAIL")).topic, "MAIL");
  EXPECT_EQ(std::get<Vrfy>(ok("VRFY postmaster")).argument, "postmaster");
  EXPECT_EQ(std::get<StartTls>(ok("STARTTLS")), StartTls{});
}

TEST(SmtpParser, Helo) {
  struct Case {
    const char* line;
    const char* domain;
    bool literal;
    bool ehlo;
    bool lhlo;
  };
  const Case cases[] = {
      {"EHLO mail.example.org", "mail.example.org", false, true, false},
      {"ehlo localhost", "localhost", false, true, false},
      {"HELO mail.example.org", "mail.example.org", false, false, false},
      {"LHLO client.example", "client.example", false, true, true},
      {"EHLO [192.0.2.1]", "[192.0.2.1]", true, true, false},
      {"EHLO [IPv6:2001:db8::1]", "[IPv6:2001:db8::1]", true, true, false},
      {"EHLO my_host.example", "my_host.example", false, true, false},  // lenient '_'
      {"EHLO  spaced.example ", "spaced.example", false, true, false},
  };
  for (const auto& c : cases) {
    Command cmd = ok(c.line);
    if (c.ehlo) {
      auto* e = std::get_if<Ehlo>(&cmd);
      ASSERT_NE(e, nullptr) << c.line;
      EXPECT_EQ(*e, (Ehlo{c.domain, c.literal, c.lhlo})) << c.line;
    } else {
      auto* h = std::get_if<Helo>(&cmd);
      ASSERT_NE(h, nullptr) << c.line;
      EXPECT_EQ(*h, (Helo{c.domain, c.literal})) << c.line;
    }
  }
  ParserOptions strict;
  strict.lenientHeloDomain = false;
  EXPECT_FALSE(parseCommand("EHLO my_host.example", strict).ok());
}

TEST(SmtpParser, MailPaths) {
  auto m = std::get<Mail>(ok("MAIL FROM:<user@example.org>"));
  ASSERT_TRUE(m.reversePath.mailbox);
  EXPECT_EQ(m.reversePath.mailbox->address(), "user@example.org");
  EXPECT_EQ(m.params, MailParams{});

  auto null = std::get<Mail>(ok("MAIL FROM:<>"));
  EXPECT_TRUE(null.reversePath.isNull());
  auto spaced = std::get<Mail>(ok("MAIL FROM: <user@example.org>"));  // one space, as Postfix
  EXPECT_EQ(spaced.reversePath.mailbox->address(), "user@example.org");
  auto route = std::get<Mail>(ok("MAIL FROM:<@a.example,@b.example:user@c.example>"));
  EXPECT_TRUE(route.reversePath.sourceRoute);
  EXPECT_EQ(route.reversePath.mailbox->address(), "user@c.example");
  auto quoted = std::get<Mail>(ok("MAIL FROM:<\"a > b\"@example.org> SIZE=5"));
  EXPECT_EQ(quoted.reversePath.mailbox->localContent, "a > b");
  EXPECT_EQ(quoted.params.size, 5u);
}

TEST(SmtpParser, MailParameters) {
  auto m = std::get<Mail>(ok("MAIL FROM:<a@b.c> SIZE=1048576 BODY=8BITMIME RET=HDRS "
                             "ENVID=QQ314159+2BX AUTH=e+3Dmc2@example.com"));
  EXPECT_EQ(m.params.size, 1048576u);
  EXPECT_EQ(m.params.body, BodyType::EightBitMime);
  EXPECT_EQ(m.params.ret, DsnRet::Headers);
  EXPECT_EQ(m.params.envid, "QQ314159+X");          // RFC 3461 xtext decoded
  EXPECT_EQ(m.params.auth, "e=mc2@example.com");    // RFC 4954 section 5 example
  EXPECT_FALSE(m.params.smtputf8);

  EXPECT_EQ(std::get<Mail>(ok("MAIL FROM:<a@b.c> body=7bit")).params.body, BodyType::SevenBit);
  EXPECT_EQ(std::get<Mail>(ok("MAIL FROM:<a@b.c> BODY=BINARYMIME")).params.body, BodyType::BinaryMime);
  EXPECT_EQ(std::get<Mail>(ok("MAIL FROM:<a@b.c> RET=full")).params.ret, DsnRet::Full);
  EXPECT_EQ(std::get<Mail>(ok("MAIL FROM:<a@b.c> AUTH=<>")).params.auth, "<>");
  EXPECT_EQ(std::get<Mail>(ok("MAIL FROM:<a@b.c> SIZE=0")).params.size, 0u);
  EXPECT_EQ(std::get<Mail>(ok("MAIL FROM:<a@b.c>   SIZE=7   ")).params.size, 7u);
  // 20 digits is valid syntax (RFC 1870) even when over 2^64: saturates, so it is still "too big".
  EXPECT_EQ(std::get<Mail>(ok("MAIL FROM:<a@b.c> SIZE=99999999999999999999")).params.size,
            UINT64_MAX);
  EXPECT_EQ(std::get<Mail>(ok("MAIL FROM:<a@b.c> SIZE=18446744073709551615")).params.size,
            UINT64_MAX);
  std::string envid100 = "MAIL FROM:<a@b.c> ENVID=" + std::string(100, 'x');
  EXPECT_EQ(std::get<Mail>(ok(envid100)).params.envid->size(), 100u);
}

TEST(SmtpParser, MailSmtputf8) {
  auto m = std::get<Mail>(ok("MAIL FROM:<j\xc3\xb6rg@b\xc3\xbc" "cher.example> SMTPUTF8"));
  EXPECT_TRUE(m.params.smtputf8);
  EXPECT_TRUE(m.reversePath.mailbox->utf8);
  EXPECT_EQ(m.reversePath.mailbox->localPart, "j\xc3\xb6rg");
  // Invalid UTF-8 is refused even with SMTPUTF8.
  EXPECT_FALSE(parseCommand("MAIL FROM:<j\xc3rg@b.c> SMTPUTF8").ok());
}

TEST(SmtpParser, RcptPathsAndParameters) {
  auto r = std::get<Rcpt>(ok("RCPT TO:<user@example.org>"));
  EXPECT_EQ(r.forwardPath.mailbox->address(), "user@example.org");
  EXPECT_EQ(r.params, RcptParams{});

  auto pm = std::get<Rcpt>(ok("RCPT TO:<postmaster>"));
  EXPECT_TRUE(pm.forwardPath.postmaster);
  EXPECT_FALSE(pm.forwardPath.mailbox);
  EXPECT_FALSE(pm.forwardPath.isNull());

  auto d = std::get<Rcpt>(ok("RCPT TO:<a@b.c> NOTIFY=SUCCESS,DELAY ORCPT=rfc822;Bob+2Bx@b.c"));
  ASSERT_TRUE(d.params.notify);
  EXPECT_EQ(*d.params.notify, (DsnNotify{false, true, false, true}));
  ASSERT_TRUE(d.params.orcpt);
  EXPECT_EQ(d.params.orcpt->addrType, "rfc822");
  EXPECT_EQ(d.params.orcpt->address, "Bob+x@b.c");
  EXPECT_EQ(d.params.orcpt->encoded, "Bob+2Bx@b.c");

  EXPECT_EQ(*std::get<Rcpt>(ok("RCPT TO:<a@b.c> notify=never")).params.notify,
            (DsnNotify{true, false, false, false}));
  EXPECT_EQ(*std::get<Rcpt>(ok("RCPT TO:<a@b.c> NOTIFY=FAILURE,SUCCESS,DELAY")).params.notify,
            (DsnNotify{false, true, true, true}));
  EXPECT_EQ(std::get<Rcpt>(ok("RCPT TO: <a@b.c>")).forwardPath.mailbox->address(), "a@b.c");
}

TEST(SmtpParser, RcptUtf8NeedsTransactionSmtputf8) {
  ParserOptions o;
  o.smtputf8 = true;
  auto r = std::get<Rcpt>(ok("RCPT TO:<\xe7\x94\xa8\xe6\x88\xb7@\xe4\xbe\x8b\xe5\xad\x90.example>", o));
  EXPECT_TRUE(r.forwardPath.mailbox->utf8);
  // RFC 6533 utf-8 addr-type with unitext escapes.
  auto u = std::get<Rcpt>(ok("RCPT TO:<a@b.c> ORCPT=utf-8;j\\x{F6}rg@b.c", o));
  EXPECT_EQ(u.params.orcpt->address, "j\xc3\xb6rg@b.c");
  auto raw = std::get<Rcpt>(ok("RCPT TO:<a@b.c> ORCPT=utf-8;j\xc3\xb6rg@b.c", o));
  EXPECT_EQ(raw.params.orcpt->address, "j\xc3\xb6rg@b.c");
  // Without SMTPUTF8 in the transaction, raw UTF-8 in ORCPT is refused.
  EXPECT_FALSE(parseCommand("RCPT TO:<a@b.c> ORCPT=utf-8;j\xc3\xb6rg@b.c").ok());
}

TEST(SmtpParser, Bdat) {
  EXPECT_EQ(std::get<Bdat>(ok("BDAT 0 LAST")), (Bdat{0, true}));
  EXPECT_EQ(std::get<Bdat>(ok("BDAT 86")), (Bdat{86, false}));
  EXPECT_EQ(std::get<Bdat>(ok("bdat 1000 last")), (Bdat{1000, true}));
  EXPECT_EQ(std::get<Bdat>(ok("BDAT 18446744073709551615")), (Bdat{UINT64_MAX, false}));
}

TEST(SmtpParser, Auth) {
  EXPECT_EQ(std::get<Auth>(ok("AUTH plain")), (Auth{"PLAIN", std::nullopt}));
  EXPECT_EQ(std::get<Auth>(ok("AUTH PLAIN AHRlc3QAdGVzdA==")),
            (Auth{"PLAIN", std::string("AHRlc3QAdGVzdA==")}));
  EXPECT_EQ(std::get<Auth>(ok("AUTH PLAIN =")), (Auth{"PLAIN", std::string("=")}));
  EXPECT_EQ(std::get<Auth>(ok("AUTH SCRAM-SHA-256")).mechanism, "SCRAM-SHA-256");
  EXPECT_EQ(std::get<Auth>(ok("AUTH login")).mechanism, "LOGIN");
}

TEST(SmtpParser, VerbOf) {
  EXPECT_EQ(verbOf(ok("LHLO x.example")), "LHLO");
  EXPECT_EQ(verbOf(ok("EHLO x.example")), "EHLO");
  EXPECT_EQ(verbOf(ok("BDAT 1")), "BDAT");
  EXPECT_EQ(verbOf(ok("starttls")), "STARTTLS");
}

}  // namespace
}  // namespace tern::smtp
