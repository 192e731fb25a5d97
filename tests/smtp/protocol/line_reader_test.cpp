// LineReader tests: CRLF framing fed whole and one byte at a time, pipelining, over-long lines
// (discarded, reported after their CRLF) and bare CR / bare LF (reported, rest of line dropped).
#include <gtest/gtest.h>

#include "smtp/protocol/line_reader.h"

namespace tern::smtp {
namespace {

using St = LineReader::Status;

// Events as text: "L:<line>", "TOOLONG", "BARE".
std::vector<std::string> run(LineReader& r, std::string_view in) {
  std::vector<std::string> out;
  while (true) {
    St s = r.feed(in);
    if (s == St::NeedMore) {
      EXPECT_TRUE(in.empty());
      return out;
    }
    if (s == St::Line) out.push_back("L:" + r.line());
    if (s == St::TooLong) out.push_back("TOOLONG");
    if (s == St::BareLineEnding) out.push_back("BARE");
  }
}

std::vector<std::string> whole(std::string_view in, size_t max = 4096) {
  LineReader r(max);
  return run(r, in);
}

std::vector<std::string> bytewise(std::string_view in, size_t max = 4096) {
  LineReader r(max);
  std::vector<std::string> out;
  for (char c : in) {
    auto ev = run(r, std::string_view(&c, 1));
    out.insert(out.end(), ev.begin(), ev.end());
  }
  return out;
}

struct Case {
  std::string input;
  std::vector<std::string> events;
  size_t max = 4096;
};

const Case kCases[] = {
    {"EHLO x\r\n", {"L:EHLO x"}},
    {"EHLO x\r\nMAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\n",
     {"L:EHLO x", "L:MAIL FROM:<a@b>", "L:RCPT TO:<c@d>", "L:DATA"}},
    {"\r\n", {"L:"}},
    {"NOOP", {}},                                 // incomplete: nothing yet
    {"NOOP\r", {}},
    // Bare LF: reported at once, the line so far and the rest up to CRLF dropped.
    {"NOOP\nQUIT\r\nRSET\r\n", {"BARE", "L:RSET"}},
    {"NOOP\n", {"BARE"}},
    // Bare CR: reported when the next byte is not LF; the rest up to CRLF is dropped.
    {"NOOP\rQUIT\r\nRSET\r\n", {"BARE", "L:RSET"}},
    {"RSET\rMAIL FROM:<x@y>\r\n", {"BARE"}},
    {"a\r\r\nb\r\n", {"BARE", "L:b"}},           // "\r\r\n": bare CR, then the CRLF ends it
    {"a\n\r\r\nb\r\n", {"BARE", "L:b"}},
    {"\nQUIT\n\r\nNOOP\r\n", {"BARE", "L:NOOP"}}, // several bare endings: one report per line
    // Too long: discarded, reported after its CRLF; later lines unaffected.
    {"12345\r\nQUIT\r\n", {"TOOLONG", "L:QUIT"}, 4},
    {"1234\r\nQUIT\r\n", {"L:1234", "L:QUIT"}, 4},
    {"123456789\rx\n\r\nQUIT\r\n", {"TOOLONG", "L:QUIT"}, 4},  // bare endings inside are ignored
    {"12345\r\r\nok\r\n", {"TOOLONG", "L:ok"}, 4},
};

TEST(SmtpLineReader, WholeAndBytewise) {
  for (const auto& c : kCases) {
    EXPECT_EQ(whole(c.input, c.max), c.events) << testing::PrintToString(c.input);
    EXPECT_EQ(bytewise(c.input, c.max), c.events) << testing::PrintToString(c.input);
  }
}

TEST(SmtpLineReader, EverySplitPointGivesTheSameEvents) {
  const std::string in = "EHLO a\r\nNOOP\nx\r\nMAIL FROM:<a@b>\r\n0123456789012345\r\nQUIT\r\n";
  const std::vector<std::string> expected = {"L:EHLO a", "BARE", "L:MAIL FROM:<a@b>", "TOOLONG",
                                             "L:QUIT"};
  for (size_t split = 0; split <= in.size(); ++split) {
    LineReader r(15);
    auto a = run(r, std::string_view(in).substr(0, split));
    auto b = run(r, std::string_view(in).substr(split));
    a.insert(a.end(), b.begin(), b.end());
    EXPECT_EQ(a, expected) << "split at " << split;
  }
}

TEST(SmtpLineReader, LeavesPipelinedBytesInInput) {
  LineReader r;
  std::string_view in = "DATA\r\nSubject: x\r\n";
  ASSERT_EQ(r.feed(in), St::Line);
  EXPECT_EQ(r.line(), "DATA");
  EXPECT_EQ(in, "Subject: x\r\n");  // for the DataReader
}

TEST(SmtpLineReader, ResetDropsPartialLine) {
  LineReader r;
  std::string_view in = "STARTTLS\r\nMAIL FROM:<evil@x>";
  ASSERT_EQ(r.feed(in), St::Line);
  EXPECT_EQ(r.line(), "STARTTLS");
  EXPECT_FALSE(r.hasPartialLine());  // the returned line is not pending input
  EXPECT_EQ(r.feed(in), St::NeedMore);
  EXPECT_TRUE(r.hasPartialLine());
  r.reset();  // the session throws away pipelined plaintext after STARTTLS
  EXPECT_FALSE(r.hasPartialLine());
  std::string_view tls = "\r\nEHLO y\r\n";
  EXPECT_EQ(run(r, tls), (std::vector<std::string>{"L:", "L:EHLO y"}));
}

TEST(SmtpLineReader, LongLineIsNotBuffered) {
  LineReader r(100);
  std::string big(1 << 20, 'A');
  std::string_view in = big;
  EXPECT_EQ(r.feed(in), St::NeedMore);
  EXPECT_LE(r.line().capacity(), 1024u);
  in = "\r\n";
  EXPECT_EQ(r.feed(in), St::TooLong);
}

}  // namespace
}  // namespace tern::smtp
