// RFC 5321 Path/Mailbox tests: local part forms, normalisation, domains and address literals,
// UTF-8 (RFC 6531), length limits (4.5.3.1), source routes (appendix C) and every relay trick.
#include <gtest/gtest.h>

#include "smtp/protocol/address.h"

namespace tern::smtp {
namespace {

Result<Path, AddressError> path(std::string_view s, AddressOptions o = {}) {
  size_t used = 0;
  auto r = parsePath(s, used, o);
  if (r.ok()) {
    EXPECT_EQ(used, s.size()) << s;
  }
  return r;
}

struct Valid {
  const char* path;
  const char* localPart;
  const char* content;
  const char* normalised;
  const char* domain;
  const char* domainNormalised;
  DomainKind kind;
};

const Valid kValid[] = {
    {"<user@example.org>", "user", "user", "user", "example.org", "example.org", DomainKind::Name},
    {"<First.Last@Example.ORG>", "First.Last", "First.Last", "First.Last", "Example.ORG",
     "example.org", DomainKind::Name},
    {"<a+tag@x-y.example>", "a+tag", "a+tag", "a+tag", "x-y.example", "x-y.example",
     DomainKind::Name},
    {"<!#$%&'*+-/=?^_`{|}~@example.org>", "!#$%&'*+-/=?^_`{|}~", "!#$%&'*+-/=?^_`{|}~",
     "!#$%&'*+-/=?^_`{|}~", "example.org", "example.org", DomainKind::Name},
    // A quoted local part that could be a dot-string normalises to the dot-string (RFC 5321 4.1.2).
    {"<\"user\"@example.org>", "\"user\"", "user", "user", "example.org", "example.org",
     DomainKind::Name},
    {"<\"us\\er\"@example.org>", "\"us\\er\"", "user", "user", "example.org", "example.org",
     DomainKind::Name},
    {"<\"john doe\"@example.org>", "\"john doe\"", "john doe", "\"john doe\"", "example.org",
     "example.org", DomainKind::Name},
    {"<\"a\\\"b\"@example.org>", "\"a\\\"b\"", "a\"b", "\"a\\\"b\"", "example.org", "example.org",
     DomainKind::Name},
    {"<\"a..b\"@example.org>", "\"a..b\"", "a..b", "\"a..b\"", "example.org", "example.org",
     DomainKind::Name},
    {"<\"\"@example.org>", "\"\"", "", "\"\"", "example.org", "example.org", DomainKind::Name},
    {"<u@[192.0.2.1]>", "u", "u", "u", "[192.0.2.1]", "[192.0.2.1]", DomainKind::Ipv4},
    {"<u@[IPv6:2001:DB8::1]>", "u", "u", "u", "[IPv6:2001:DB8::1]", "[IPv6:2001:db8::1]",
     DomainKind::Ipv6},
    {"<u@[ipv6:1:2:3:4:5:6:7:8]>", "u", "u", "u", "[ipv6:1:2:3:4:5:6:7:8]", "[IPv6:1:2:3:4:5:6:7:8]",
     DomainKind::Ipv6},
    {"<u@[IPv6:::1]>", "u", "u", "u", "[IPv6:::1]", "[IPv6:::1]", DomainKind::Ipv6},
    {"<u@[IPv6:::]>", "u", "u", "u", "[IPv6:::]", "[IPv6:::]", DomainKind::Ipv6},
    {"<u@[IPv6:1:2:3:4:5:6:1.2.3.4]>", "u", "u", "u", "[IPv6:1:2:3:4:5:6:1.2.3.4]",
     "[IPv6:1:2:3:4:5:6:1.2.3.4]", DomainKind::Ipv6},
    {"<u@[IPv6:::ffff:192.0.2.1]>", "u", "u", "u", "[IPv6:::ffff:192.0.2.1]",
     "[IPv6:::ffff:192.0.2.1]", DomainKind::Ipv6},
    {"<u@localhost>", "u", "u", "u", "localhost", "localhost", DomainKind::Name},
    {"<u@123.example>", "u", "u", "u", "123.example", "123.example", DomainKind::Name},
};

TEST(SmtpAddress, ValidPaths) {
  for (const auto& c : kValid) {
    auto r = path(c.path);
    ASSERT_TRUE(r.ok()) << c.path;
    ASSERT_TRUE(r->mailbox) << c.path;
    const Mailbox& m = *r->mailbox;
    EXPECT_EQ(m.localPart, c.localPart) << c.path;
    EXPECT_EQ(m.localContent, c.content) << c.path;
    EXPECT_EQ(m.localNormalised, c.normalised) << c.path;
    EXPECT_EQ(m.domain, c.domain) << c.path;
    EXPECT_EQ(m.domainNormalised, c.domainNormalised) << c.path;
    EXPECT_EQ(m.domainKind, c.kind) << c.path;
    EXPECT_FALSE(r->sourceRoute);
    EXPECT_FALSE(m.utf8);
    // The exact form round-trips.
    EXPECT_EQ("<" + m.address() + ">", c.path);
  }
}

struct Invalid {
  const char* path;
  AddressError error;
};

const Invalid kInvalid[] = {
    {"", AddressError::Syntax},
    {"user@example.org", AddressError::Syntax},  // no brackets
    {"<user@example.org", AddressError::Syntax},
    {"<user>", AddressError::Syntax},             // no domain (only <Postmaster> may)
    {"<@example.org>", AddressError::Syntax},
    {"<user@>", AddressError::Syntax},
    {"<.user@example.org>", AddressError::Syntax},
    {"<user.@example.org>", AddressError::Syntax},
    {"<us..er@example.org>", AddressError::Syntax},
    {"<us er@example.org>", AddressError::Syntax},
    {"<us(er@example.org>", AddressError::Syntax},
    {"<user@exa mple.org>", AddressError::Syntax},
    {"<user@example..org>", AddressError::Syntax},
    {"<user@.example.org>", AddressError::Syntax},
    {"<user@example.org.>", AddressError::Syntax},  // no trailing dot in SMTP
    {"<user@-example.org>", AddressError::Syntax},
    {"<user@example-.org>", AddressError::Syntax},
    {"<user@exa_mple.org>", AddressError::Syntax},
    {"<a@b@example.org>", AddressError::Syntax},
    {"<\"a@example.org>", AddressError::Syntax},
    {"<\"a\x01\"@example.org>", AddressError::Syntax},
    {"<\"a\\\x01\"@example.org>", AddressError::Syntax},
    {"<user@[192.0.2.256]>", AddressError::Syntax},
    {"<user@[192.0.2]>", AddressError::Syntax},
    {"<user@[192.0.2.1.5]>", AddressError::Syntax},
    {"<user@[1234.0.2.1]>", AddressError::Syntax},
    {"<user@[IPv6:1:2:3:4:5:6:7]>", AddressError::Syntax},
    {"<user@[IPv6:1:2:3:4:5:6:7:8:9]>", AddressError::Syntax},
    {"<user@[IPv6:1::2::3]>", AddressError::Syntax},
    {"<user@[IPv6:1:2:3:4:5:6:7::]>", AddressError::Syntax},  // RFC 5321: at most 6 groups with ::
    {"<user@[IPv6:12345::1]>", AddressError::Syntax},
    {"<user@[IPv6:g::1]>", AddressError::Syntax},
    {"<user@[IPv6:1:2:3:4:5:1.2.3.4]>", AddressError::Syntax},
    {"<user@[IPv6:1.2.3.4::]>", AddressError::Syntax},
    {"<user@[x-tag:abc]>", AddressError::Syntax},   // no General-address-literal tags registered
    {"<user@[192.0.2.1>", AddressError::Syntax},
    {"<>", AddressError::NullNotAllowed},
    {"<@a.example:>", AddressError::Syntax},
    {"<@a.example user@b.example>", AddressError::Syntax},
    {"<@a.example,b.example:user@c.example>", AddressError::Syntax},
    {"<j\xc3\xb6rg@example.org>", AddressError::Utf8NotAllowed},
    {"<user@b\xc3\xbc" "cher.example>", AddressError::Utf8NotAllowed},
    {"<j\xc3rg@example.org>", AddressError::Syntax},  // invalid UTF-8 is never "UTF-8 not allowed"
};

TEST(SmtpAddress, InvalidPaths) {
  for (const auto& c : kInvalid) {
    auto r = path(c.path);
    ASSERT_FALSE(r.ok()) << c.path;
    EXPECT_EQ(r.error(), c.error) << c.path;
    EXPECT_FALSE(describe(r.error()).empty());
  }
}

TEST(SmtpAddress, NullAndPostmaster) {
  AddressOptions reverse;
  reverse.allowNull = true;
  auto n = path("<>", reverse);
  ASSERT_TRUE(n.ok());
  EXPECT_TRUE(n->isNull());

  AddressOptions forward;
  forward.allowPostmaster = true;
  for (std::string_view p : {"<Postmaster>", "<postmaster>", "<POSTMASTER>"}) {
    auto r = path(p, forward);
    ASSERT_TRUE(r.ok()) << p;
    EXPECT_TRUE(r->postmaster);
    EXPECT_FALSE(r->isNull());
  }
  EXPECT_FALSE(path("<\"Postmaster\">", forward).ok());
  EXPECT_FALSE(path("<postmistress>", forward).ok());
  EXPECT_FALSE(path("<Postmaster>").ok());  // not for reverse paths
  auto full = path("<Postmaster@example.org>", forward);
  ASSERT_TRUE(full.ok());
  EXPECT_FALSE(full->postmaster);  // an ordinary mailbox
  EXPECT_EQ(full->mailbox->localPart, "Postmaster");
}

TEST(SmtpAddress, PathEndsAtBracketLeavingParameters) {
  size_t used = 0;
  auto r = parsePath("<\"a>b\"@example.org> SIZE=10", used);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(used, 19u);
  EXPECT_EQ(r->mailbox->localContent, "a>b");
}

// Each trick is parsed (so the session can see it) and flagged; none loses the real domain.
TEST(SmtpAddress, RelayTricksAreFlagged) {
  struct Case {
    const char* path;
    bool percent, bang, quotedAt, route;
    const char* domain;  // where the mail would go per RFC 5321: always the last domain
  };
  const Case cases[] = {
      {"<user%other.example@ourdomain.example>", true, false, false, false, "ourdomain.example"},
      {"<other.example!user@ourdomain.example>", false, true, false, false, "ourdomain.example"},
      {"<\"user@other.example\"@ourdomain.example>", false, false, true, false, "ourdomain.example"},
      {"<@relay.example:user@other.example>", false, false, false, true, "other.example"},
      {"<@a.example,@[192.0.2.1]:user@other.example>", false, false, false, true, "other.example"},
      {"<\"user%other\"@ourdomain.example>", true, false, false, false, "ourdomain.example"},
      {"<\"a!b@c\"@ourdomain.example>", false, true, true, false, "ourdomain.example"},
      {"<plain.user@ourdomain.example>", false, false, false, false, "ourdomain.example"},
  };
  for (const auto& c : cases) {
    auto r = path(c.path);
    ASSERT_TRUE(r.ok()) << c.path;
    const Mailbox& m = *r->mailbox;
    EXPECT_EQ(m.hasPercent, c.percent) << c.path;
    EXPECT_EQ(m.hasBang, c.bang) << c.path;
    EXPECT_EQ(m.hasQuotedAt, c.quotedAt) << c.path;
    EXPECT_EQ(m.routingTrick(), c.percent || c.bang || c.quotedAt) << c.path;
    EXPECT_EQ(r->sourceRoute, c.route) << c.path;
    EXPECT_EQ(m.domainNormalised, c.domain) << c.path;
  }
  // The route is discarded: what remains is just the final mailbox.
  auto routed = path("<@relay.example:user@other.example>");
  EXPECT_EQ(routed->mailbox->address(), "user@other.example");
}

TEST(SmtpAddress, LengthLimits) {
  std::string local64(64, 'a'), local65(65, 'a');
  EXPECT_TRUE(path("<" + local64 + "@example.org>").ok());
  EXPECT_EQ(path("<" + local65 + "@example.org>").error(), AddressError::LocalPartTooLong);
  // Quoted: 64 octets including the quotes.
  EXPECT_TRUE(path("<\"" + std::string(62, 'a') + "\"@example.org>").ok());
  EXPECT_EQ(path("<\"" + std::string(63, 'a') + "\"@example.org>").error(),
            AddressError::LocalPartTooLong);

  // Labels of 63 octets; a 64-octet label is refused.
  std::string label63(63, 'd');
  EXPECT_TRUE(path("<u@" + label63 + ".example>").ok());
  EXPECT_EQ(path("<u@" + std::string(64, 'd') + ".example>").error(), AddressError::DomainTooLong);
  // Domain of 255 octets is fine alone, 256 is not.
  std::string d255 = label63 + "." + label63 + "." + label63 + "." + std::string(63, 'e');  // 255
  ASSERT_EQ(d255.size(), 255u);
  EXPECT_TRUE(parseDomainOrLiteral(d255).ok());
  EXPECT_EQ(parseDomainOrLiteral(d255 + "f").error(), AddressError::DomainTooLong);
  // Path: 256 octets with the brackets. "<" + 64 + "@" + 189 + ">" = 256.
  std::string d189 = label63 + "." + label63 + "." + std::string(61, 'g');
  ASSERT_EQ(d189.size(), 189u);
  EXPECT_TRUE(path("<" + local64 + "@" + d189 + ">").ok());
  EXPECT_EQ(path("<" + local64 + "@" + d189 + "h>").error(), AddressError::PathTooLong);
}

TEST(SmtpAddress, Utf8WithSmtputf8) {
  AddressOptions o;
  o.allowUtf8 = true;
  auto r = path("<J\xc3\xb6rg@B\xc3\xbc" "cher.Example>", o);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->mailbox->utf8);
  EXPECT_EQ(r->mailbox->localNormalised, "J\xc3\xb6rg");
  EXPECT_EQ(r->mailbox->domainNormalised, "b\xc3\xbc" "cher.example");  // ASCII letters only
  auto q = path("<\"j\xc3\xb6rg doe\"@example.org>", o);
  ASSERT_TRUE(q.ok());
  EXPECT_EQ(q->mailbox->localContent, "j\xc3\xb6rg doe");
  // Overlong encodings and surrogates are not UTF-8.
  EXPECT_FALSE(path("<\xc0\xafuser@example.org>", o).ok());
  EXPECT_FALSE(path("<\xed\xa0\x80user@example.org>", o).ok());
  EXPECT_FALSE(path("<\xf4\x90\x80\x80@example.org>", o).ok());
}

TEST(SmtpAddress, ParseMailbox) {
  auto m = parseMailbox("user@example.org");
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->normalised(), "user@example.org");
  EXPECT_FALSE(parseMailbox("<user@example.org>").ok());
  EXPECT_FALSE(parseMailbox("user@example.org trailing").ok());
  EXPECT_FALSE(parseMailbox("user").ok());
}

TEST(SmtpAddress, DomainOrLiteral) {
  EXPECT_EQ(parseDomainOrLiteral("mail.example.org").value(), DomainKind::Name);
  EXPECT_EQ(parseDomainOrLiteral("[10.0.0.1]").value(), DomainKind::Ipv4);
  EXPECT_EQ(parseDomainOrLiteral("[IPv6:fe80::1]").value(), DomainKind::Ipv6);
  EXPECT_FALSE(parseDomainOrLiteral("host_name").ok());
  EXPECT_TRUE(parseDomainOrLiteral("host_name", false, true).ok());
  EXPECT_FALSE(parseDomainOrLiteral("").ok());
  EXPECT_FALSE(parseDomainOrLiteral("[10.0.0.1] ").ok());
}

}  // namespace
}  // namespace tern::smtp
