// Relaxed canonicalization (RFC 6376 3.4.2, 3.4.4 and the example of 3.4.5), table-driven, and the
// streaming canonicalizer fed one byte at a time.
#include <gtest/gtest.h>

#include <string>

#include "dkim/canonicalize.h"
#include "dkim/dkim.h"

namespace tern::dkim {
namespace {

TEST(RelaxedCanonicalization, Rfc6376Section345Example) {
  // The message of RFC 6376 3.4.5:
  //   A: <SP> X <CRLF>
  //   B <SP> : <SP> Y <HTAB><CRLF> <HTAB> Z <SP><SP><CRLF>
  //   <CRLF>
  //   <SP> C <SP><CRLF> D <SP><HTAB><SP> E <CRLF> <CRLF> <CRLF>
  EXPECT_EQ(relaxedHeader("A", " X"), "a:X\r\n");
  EXPECT_EQ(relaxedHeader("B ", " Y\t\r\n\tZ  "), "b:Y Z\r\n");
  EXPECT_EQ(relaxedBody(" C \r\nD \t E\r\n\r\n\r\n"), " C\r\nD E\r\n");
}

struct Case {
  const char* name;
  std::string in;
  std::string out;
};

TEST(RelaxedCanonicalization, HeaderTable) {
  const struct {
    std::string name, value, out;
  } cases[] = {
      {"Subject", "", "subject:\r\n"},
      {"SUBJECT", "  \r\n  ", "subject:\r\n"},
      {"X-Folded", " a\r\n b\r\n\tc", "x-folded:a b c\r\n"},
      {"To", " \xc3\xa4 \t \xc3\xbc ", "to:\xc3\xa4 \xc3\xbc\r\n"},  // 8-bit bytes are kept
      {"Message-ID", "<x@y>", "message-id:<x@y>\r\n"},
      {"  From\t", "\tJoe <joe@example.com>\t", "from:Joe <joe@example.com>\r\n"},
  };
  for (const auto& c : cases) EXPECT_EQ(relaxedHeader(c.name, c.value), c.out) << c.name;
}

const Case kBodyCases[] = {
    {"empty body is empty (errata 3.4.4)", "", ""},
    {"only CRLF", "\r\n", ""},
    {"only empty lines", "\r\n\r\n\r\n", ""},
    {"only whitespace lines", " \t \r\n\t\r\n", ""},
    {"unterminated last line gets CRLF", "abc", "abc\r\n"},
    {"trailing empty lines removed", "abc\r\n\r\n\r\n", "abc\r\n"},
    {"inner WSP run to one SP, trailing WSP removed", "a \t b \t\r\n", "a b\r\n"},
    {"leading WSP kept as one SP", "  \tlead\r\n", " lead\r\n"},
    {"leading empty lines kept", "\r\n\r\nabc\r\n", "\r\n\r\nabc\r\n"},
    {"inner whitespace-only line becomes empty, kept", "a\r\n  \r\nb\r\n", "a\r\n\r\nb\r\n"},
    {"bare LF ends a line", "a\nb \n\n", "a\r\nb\r\n"},
    {"bare CR is content", "a\rb\r\n", "a\rb\r\n"},
    {"8-bit bytes kept", "gr\xc3\xbc\xc3\x9f\x65 \xff\r\n", "gr\xc3\xbc\xc3\x9f\x65 \xff\r\n"},
};

TEST(RelaxedCanonicalization, BodyTable) {
  for (const auto& c : kBodyCases) EXPECT_EQ(relaxedBody(c.in), c.out) << c.name;
}

TEST(RelaxedCanonicalization, ByteAtATimeMatchesWhole) {
  for (const auto& c : kBodyCases) {
    std::string out;
    detail::RelaxedBodyCanonicalizer canon([&out](std::string_view s) { out.append(s); });
    for (char ch : c.in) canon.feed(std::string_view(&ch, 1));
    canon.finish();
    EXPECT_EQ(out, c.out) << c.name;
  }
}

TEST(RelaxedCanonicalization, LargeBodyAcrossFlushes) {
  // 300 000 lines of "x  y  \r\n" then empty lines: several 64 KiB flushes of the output buffer.
  std::string body;
  std::string want;
  for (int i = 0; i < 300000; ++i) {
    body += "x  y  \r\n";
    want += "x y\r\n";
  }
  body += "\r\n\r\n";
  EXPECT_EQ(relaxedBody(body), want);
}

TEST(BodyHash, EmptyBodyIsHashOfEmptyString) {
  // SHA-256("") = e3b0c442...b855, base64 below (RFC 6376 errata: relaxed empty body is "").
  EXPECT_EQ(bodyHash(""), "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=");
  EXPECT_EQ(bodyHash("\r\n\r\n"), "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=");
}

TEST(BodyHash, Rfc8463Body) {
  // RFC 8463 Appendix A.3: bh= of its message body.
  EXPECT_EQ(bodyHash("Hi.\r\n\r\nWe lost the game.  Are you hungry yet?\r\n\r\nJoe.\r\n"),
            "2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=");
}

}  // namespace
}  // namespace tern::dkim
