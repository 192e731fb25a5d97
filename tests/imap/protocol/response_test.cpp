// Response encoding: quoting vs literals, astrings, nstrings, sequence set compaction, date-time.
#include <gtest/gtest.h>

#include "imap/protocol/parser.h"
#include "imap/protocol/response.h"

namespace tern::imap {
namespace {

std::string str(std::string_view s, bool allow8bit = true) {
  std::string out;
  appendString(out, s, allow8bit);
  return out;
}
std::string astr(std::string_view s, bool allow8bit = true) {
  std::string out;
  appendAstring(out, s, allow8bit);
  return out;
}

TEST(ResponseTest, Strings) {
  EXPECT_EQ(str("hello"), "\"hello\"");
  EXPECT_EQ(str(""), "\"\"");
  EXPECT_EQ(str("a \"b\" \\c"), "\"a \\\"b\\\" \\\\c\"");
  EXPECT_EQ(str("line1\r\nline2"), "{12}\r\nline1\r\nline2");
  EXPECT_EQ(str(std::string("a\0b", 3)), std::string("{3}\r\na\0b", 8));
  EXPECT_EQ(str("caf\xc3\xa9"), "\"caf\xc3\xa9\"");
  EXPECT_EQ(str("caf\xc3\xa9", false), "{5}\r\ncaf\xc3\xa9");
  EXPECT_EQ(str("lf\n"), "{3}\r\nlf\n");
}

TEST(ResponseTest, Astrings) {
  EXPECT_EQ(astr("INBOX"), "INBOX");
  EXPECT_EQ(astr("Sent.2024"), "Sent.2024");
  EXPECT_EQ(astr(""), "\"\"");
  EXPECT_EQ(astr("NIL"), "\"NIL\"");
  EXPECT_EQ(astr("nil"), "\"nil\"");
  EXPECT_EQ(astr("a b"), "\"a b\"");
  EXPECT_EQ(astr("a*"), "\"a*\"");
  EXPECT_EQ(astr("x(y)"), "\"x(y)\"");
  EXPECT_EQ(astr("{5}"), "\"{5}\"");
  EXPECT_EQ(astr("\xc3\xa9"), "\"\xc3\xa9\"");
  EXPECT_TRUE(isAtom("FLAGS"));
  EXPECT_FALSE(isAtom("a]"));
  EXPECT_FALSE(isAtom("%"));
  EXPECT_FALSE(isAtom("\x7f"));
}

TEST(ResponseTest, NStrings) {
  std::string out;
  appendNString(out, std::nullopt);
  out += ' ';
  appendNString(out, std::string_view("NIL"));
  EXPECT_EQ(out, "NIL \"NIL\"");
}

TEST(ResponseTest, EncodedStringsParseBack) {
  // Whatever appendAstring emits, the parser reads back as the same bytes.
  const std::string samples[] = {"x", "", "NIL", "a b", "q\"uo\\te", "multi\r\nline", "\xe6\x97\xa5", "]x", "%*"};
  for (const auto& s : samples) {
    std::string cmd = "t LOGIN ";
    appendAstring(cmd, s);
    cmd += " ";
    appendString(cmd, s, false);
    cmd += "\r\n";
    auto r = parseCommand(cmd);
    ASSERT_TRUE(r.ok()) << cmd;
    EXPECT_EQ(std::get<Login>(r->body).user, s);
    EXPECT_EQ(std::get<Login>(r->body).password, s);
  }
}

TEST(ResponseTest, SequenceSets) {
  EXPECT_EQ(formatSequenceSet({}), "");
  EXPECT_EQ(formatSequenceSet({5}), "5");
  EXPECT_EQ(formatSequenceSet({1, 2, 3, 7, 9, 10}), "1:3,7,9:10");
  EXPECT_EQ(formatSequenceSet({10, 9, 3, 1, 2, 2, 7}), "1:3,7,9:10");
  EXPECT_EQ(formatSequenceSet({4294967294u, 4294967295u}), "4294967294:4294967295");
  EXPECT_EQ(formatSequenceSet({0, 1}), "1");
  auto parsed = parseSequenceSet(formatSequenceSet({1, 2, 3, 7, 9, 10}));
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->ranges.size(), 3u);
}

TEST(ResponseTest, DateTime) {
  // RFC 3501 example: 17-Jul-1996 02:44:25 -0700 == 1996-07-17T09:44:25Z.
  EXPECT_EQ(formatDateTime({837596665, -420}), "\"17-Jul-1996 02:44:25 -0700\"");
  EXPECT_EQ(formatDateTime({0, 0}), "\"01-Jan-1970 00:00:00 +0000\"");
  EXPECT_EQ(formatDateTime({1709164800, 330}), "\"29-Feb-2024 05:30:00 +0530\"");
  EXPECT_EQ(formatDateTime({-1, 0}), "\"31-Dec-1969 23:59:59 +0000\"");
  // Round trip through the APPEND parser.
  DateTime dt{1706751000, 60};
  std::string cmd = "a APPEND x " + formatDateTime(dt) + " {1}\r\nx\r\n";
  auto r = parseCommand(cmd);
  ASSERT_TRUE(r.ok()) << cmd;
  EXPECT_EQ(std::get<Append>(r->body).messages.at(0).internalDate, dt);
}

}  // namespace
}  // namespace tern::imap
