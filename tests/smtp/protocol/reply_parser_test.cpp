// ReplyParser tests: single and multi-line replies (RFC 5321 4.2.1), RFC 3463 enhanced codes, pipelined
// replies in one buffer, the line length and line count limits, malformed input; fed whole and one byte
// at a time (the parser is resumable).
#include <gtest/gtest.h>

#include "smtp/protocol/reply_parser.h"

namespace tern::smtp {
namespace {

using St = ReplyParser::Status;
using Err = ReplyParser::ErrorKind;

// Events as text: "R:<code>|<enhanced>|<line>|<line>...", or "E:<kind number>".
std::string describe(const Reply& r) {
  std::string s = "R:" + std::to_string(r.code) + "|" + r.enhanced;
  for (const auto& l : r.lines) s += "|" + l;
  return s;
}

std::vector<std::string> run(ReplyParser& p, std::string_view in) {
  std::vector<std::string> out;
  while (true) {
    St s = p.feed(in);
    if (s == St::NeedMore) {
      EXPECT_TRUE(in.empty());
      return out;
    }
    if (s == St::Reply) out.push_back(describe(p.reply()));
    if (s == St::Error) {
      out.push_back("E:" + std::to_string(static_cast<int>(p.error())));
      return out;
    }
  }
}

std::vector<std::string> whole(std::string_view in, ReplyParserLimits limits = {}) {
  ReplyParser p(limits);
  return run(p, in);
}

std::vector<std::string> bytewise(std::string_view in, ReplyParserLimits limits = {}) {
  ReplyParser p(limits);
  std::vector<std::string> out;
  for (char c : in) {
    auto ev = run(p, std::string_view(&c, 1));
    out.insert(out.end(), ev.begin(), ev.end());
    if (!ev.empty() && ev.back().rfind("E:", 0) == 0) break;
  }
  return out;
}

std::string err(Err e) { return "E:" + std::to_string(static_cast<int>(e)); }

struct Case {
  std::string input;
  std::vector<std::string> events;
};

const std::vector<Case> kCases = {
    {"220 mx.example.org ESMTP\r\n", {"R:220||mx.example.org ESMTP"}},
    {"250 2.1.5 Ok\r\n", {"R:250|2.1.5|Ok"}},
    {"550 5.1.1 <x@y>: user unknown\r\n", {"R:550|5.1.1|<x@y>: user unknown"}},
    {"451 4.7.1 Try later\r\n", {"R:451|4.7.1|Try later"}},
    // The enhanced code's class must match the reply's (RFC 3463 2): otherwise it is just text.
    {"250 5.1.1 odd\r\n", {"R:250||5.1.1 odd"}},
    // Enhanced code alone, and the three-digit subject/detail forms.
    {"250 2.0.0\r\n", {"R:250|2.0.0|"}},
    {"554 5.123.456 x\r\n", {"R:554|5.123.456|x"}},
    {"554 5.1234.1 x\r\n", {"R:554||5.1234.1 x"}},
    {"250 2.1.0x\r\n", {"R:250||2.1.0x"}},
    // RFC 5321 4.2.1: "NNN" alone (no text) is a complete last line.
    {"250\r\n", {"R:250||"}},
    {"250 \r\n", {"R:250||"}},
    // Multi-line, EHLO-style (no enhanced code).
    {"250-mx.example.org Hello\r\n250-PIPELINING\r\n250-SIZE 1000\r\n250 8BITMIME\r\n",
     {"R:250||mx.example.org Hello|PIPELINING|SIZE 1000|8BITMIME"}},
    // Multi-line with the enhanced code repeated on every line (RFC 2034 3): stripped from each.
    {"550-5.7.1 first\r\n550 5.7.1 second\r\n", {"R:550|5.7.1|first|second"}},
    // Pipelined replies in one buffer come out one by one, in order.
    {"250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n550 5.1.1 no\r\n354 go ahead\r\n",
     {"R:250|2.1.0|Ok", "R:250|2.1.5|Ok", "R:550|5.1.1|no", "R:354||go ahead"}},
    // Bare LF line endings are accepted.
    {"250-a\n250 b\n", {"R:250||a|b"}},
    // Control characters in text become spaces.
    {std::string("250 a\x01" "b\tc\r\n"), {"R:250||a b c"}},
    {std::string("250 a\0b\r\n", 9), {"R:250||a b"}},
    // ... before the enhanced code is looked for, so the result re-serialises to itself (fuzz find).
    {"250 2.1.5\x01x\r\n", {"R:250|2.1.5|x"}},
    // Incomplete input: nothing yet.
    {"250-first\r\n250 la", {}},
    // Malformed.
    {"hello\r\n", {err(Err::Malformed)}},
    {"25\r\n", {err(Err::Malformed)}},
    {"2500 x\r\n", {err(Err::Malformed)}},
    {"199 x\r\n", {err(Err::Malformed)}},
    {"600 x\r\n", {err(Err::Malformed)}},
    {"250_x\r\n", {err(Err::Malformed)}},
    {"\r\n", {err(Err::Malformed)}},
    {"250-a\r\n251 b\r\n", {err(Err::CodeMismatch)}},
    // A good reply before the bad one is still reported.
    {"250 ok\r\nxyz\r\n", {"R:250||ok", err(Err::Malformed)}},
};

TEST(ReplyParser, TableWhole) {
  for (const auto& c : kCases) EXPECT_EQ(whole(c.input), c.events) << c.input;
}

TEST(ReplyParser, TableByteAtATime) {
  for (const auto& c : kCases) EXPECT_EQ(bytewise(c.input), c.events) << c.input;
}

TEST(ReplyParser, LineLengthLimitIsEnforcedBeforeTheLineEnds) {
  ReplyParserLimits l;
  l.maxLineLength = 64;
  // Exactly at the limit is fine.
  std::string ok = "250 " + std::string(60, 'a') + "\r\n";
  EXPECT_EQ(whole(ok, l).size(), 1u);
  EXPECT_EQ(whole(ok, l)[0].rfind("R:250", 0), 0u);
  // One more byte is an error once the line ends...
  std::string over = "250 " + std::string(61, 'a') + "\r\n";
  EXPECT_EQ(whole(over, l), std::vector<std::string>{err(Err::LineTooLong)});
  // ... and without waiting for the end when even a CR could not make it fit.
  std::string tooLong = "250 " + std::string(62, 'a');
  EXPECT_EQ(whole(tooLong, l), std::vector<std::string>{err(Err::LineTooLong)});
  EXPECT_EQ(bytewise(tooLong, l), std::vector<std::string>{err(Err::LineTooLong)});
  // An endless line (1 MB, no LF) stops at the limit.
  ReplyParser p(l);
  std::string endless(1 << 20, 'x');
  std::string_view in = endless;
  EXPECT_EQ(p.feed(in), St::Error);
  EXPECT_EQ(p.error(), Err::LineTooLong);
  // The error is sticky until reset().
  std::string_view more = "250 ok\r\n";
  EXPECT_EQ(p.feed(more), St::Error);
  p.reset();
  EXPECT_EQ(p.feed(more), St::Reply);
  EXPECT_EQ(p.reply().code, 250);
}

TEST(ReplyParser, LineCountLimit) {
  ReplyParserLimits l;
  l.maxLines = 5;
  std::string five;
  for (int i = 0; i < 4; ++i) five += "250-x\r\n";
  five += "250 y\r\n";
  EXPECT_EQ(whole(five, l), std::vector<std::string>{"R:250||x|x|x|x|y"});
  // An endless multi-line reply fails at the limit instead of growing.
  std::string endless;
  for (int i = 0; i < 1000; ++i) endless += "250-x\r\n";
  EXPECT_EQ(whole(endless, l), std::vector<std::string>{err(Err::TooManyLines)});
  EXPECT_EQ(bytewise(endless, l), std::vector<std::string>{err(Err::TooManyLines)});
}

TEST(ReplyParser, ReplyStaysValidUntilNextFeed) {
  ReplyParser p;
  std::string_view in = "250-a\r\n250 b\r\n354 c\r\n";
  ASSERT_EQ(p.feed(in), St::Reply);
  Reply first = p.reply();
  EXPECT_EQ(first.lines, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(in, "354 c\r\n");
  ASSERT_EQ(p.feed(in), St::Reply);
  EXPECT_EQ(p.reply().code, 354);
  EXPECT_TRUE(in.empty());
  EXPECT_FALSE(p.hasPartial());
}

TEST(ReplyParser, TakeEnhancedCode) {
  struct C {
    std::string text;
    int cls;
    std::string code;
    std::string rest;
  };
  const C cases[] = {
      {"2.1.5 Ok", 2, "2.1.5", "Ok"},  {"4.4.2", 4, "4.4.2", ""},       {"5.7.1  two", 5, "5.7.1", " two"},
      {"5.7.1 x", 4, "", "5.7.1 x"},   {"2.1 Ok", 2, "", "2.1 Ok"},     {"2..1 x", 2, "", "2..1 x"},
      {"2.1.5Ok", 2, "", "2.1.5Ok"},   {"", 2, "", ""},
  };
  for (const auto& c : cases) {
    std::string_view t = c.text;
    EXPECT_EQ(takeEnhancedCode(t, c.cls), c.code) << c.text;
    EXPECT_EQ(t, c.rest) << c.text;
  }
}

// What the server side writes, the client side reads back the same (round trip with serialize()).
TEST(ReplyParser, RoundTripsSerializedReplies) {
  const Reply replies[] = {
      replies::greeting("mx.example.org"), replies::ok(), replies::mailboxUnavailable(),
      replies::ehlo("mx", "client", {"PIPELINING", "SIZE 100", "8BITMIME"}), replies::startMailInput(),
      Reply{550, "5.7.1", {"one", "two", "three"}},
  };
  for (const auto& r : replies) {
    std::string wire = serialize(r);
    ReplyParser p;
    std::string_view in = wire;
    ASSERT_EQ(p.feed(in), St::Reply) << wire;
    EXPECT_EQ(p.reply(), r) << wire;
  }
}

}  // namespace
}  // namespace tern::smtp
