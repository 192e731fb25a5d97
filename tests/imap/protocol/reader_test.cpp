// CommandReader tests: byte-at-a-time framing, literals of every form, pipelining, limits, and
// discarding of oversized LITERAL+ commands without losing sync with the next command.
#include <gtest/gtest.h>

#include "imap/protocol/parser.h"
#include "imap/protocol/reader.h"

namespace tern::imap {
namespace {

using St = CommandReader::Status;
using namespace std::string_literals;

// Drives a reader like a session would: accepts every synchronizing literal, collects commands.
struct Driver {
  CommandReader reader;
  std::vector<std::string> commands;
  std::vector<uint64_t> literalsAsked;
  std::vector<CommandReader::Event> errors;
  std::vector<std::string> errorTags;

  explicit Driver(ReaderLimits l = {}) : reader(l) {}

  bool closed = false;  // after a fatal event the session closes the connection

  void feed(std::string_view in) {
    while (!closed) {
      auto ev = reader.feed(in);
      switch (ev.status) {
        case St::NeedMore:
          EXPECT_TRUE(in.empty());
          return;
        case St::NeedLiteral:
          literalsAsked.push_back(ev.literalSize);
          reader.acceptLiteral();
          break;
        case St::Complete:
          commands.push_back(reader.takeCommand());
          break;
        case St::LineTooLong:
        case St::LiteralTooLarge:
          errors.push_back(ev);
          errorTags.push_back(reader.tag());
          if (ev.fatal) closed = true;
          if (ev.synchronizing) reader.reset();
          break;
      }
    }
  }
  void feedBytewise(std::string_view in) {
    for (char c : in) feed(std::string_view(&c, 1));
  }
};

const std::string kStream =
    "a1 LOGIN {4}\r\nfred {6+}\r\nsecret\r\n"
    "a2 SELECT INBOX\r\n"
    "a3 APPEND Drafts (\\Seen) {12}\r\nhello\r\nworld ~{3+}\r\nx\0y\r\n"
    "a4 FETCH 1:* (FLAGS BODY.PEEK[HEADER.FIELDS (From)])\n"
    "a5 SEARCH SUBJECT {0}\r\n\r\n"
    "a6 LOGOUT\r\n"s;  // ""s keeps the NUL of the binary literal

TEST(ReaderTest, ByteAtATimeEqualsAllAtOnce) {
  const std::string& stream = kStream;
  Driver bulk, bytes;
  bulk.feed(stream);
  bytes.feedBytewise(stream);
  ASSERT_EQ(bulk.commands.size(), 6u);
  EXPECT_EQ(bulk.commands, bytes.commands);
  EXPECT_EQ(bulk.literalsAsked, (std::vector<uint64_t>{4, 12, 0}));
  EXPECT_EQ(bytes.literalsAsked, bulk.literalsAsked);
  EXPECT_TRUE(bulk.errors.empty());
  EXPECT_EQ(bulk.commands[0], "a1 LOGIN {4}\r\nfred {6+}\r\nsecret\r\n");
  // The bare LF is stored as CRLF.
  EXPECT_EQ(bulk.commands[3], "a4 FETCH 1:* (FLAGS BODY.PEEK[HEADER.FIELDS (From)])\r\n");
  // And every framed command parses.
  for (const auto& c : bulk.commands) EXPECT_TRUE(parseCommand(c).ok()) << c;
  auto login = parseCommand(bulk.commands[0]);
  EXPECT_EQ(std::get<Login>(login->body).password, "secret");
  auto append = parseCommand(bulk.commands[2]);
  ASSERT_TRUE(append.ok()) << append.error().text;
  const auto& msgs = std::get<Append>(append->body).messages;
  ASSERT_EQ(msgs.size(), 2u);
  EXPECT_EQ(msgs[0].message, "hello\r\nworld");
  EXPECT_EQ(msgs[1].message, std::string("x\0y", 3));
  EXPECT_TRUE(msgs[1].binaryLiteral);
}

TEST(ReaderTest, LiteralBytesAreNotInterpreted) {
  // CRLF and "{5}" inside a literal must not be taken for line ends or literal markers.
  Driver d;
  d.feedBytewise("a LOGIN {9}\r\nab{5}\r\n\ncd pw\r\nb NOOP\r\n");
  ASSERT_EQ(d.commands.size(), 2u);
  EXPECT_EQ(d.commands[0], "a LOGIN {9}\r\nab{5}\r\n\ncd pw\r\n");
  EXPECT_EQ(d.literalsAsked, (std::vector<uint64_t>{9}));
}

TEST(ReaderTest, StopsAtNeedLiteralUntilAccepted) {
  CommandReader r;
  std::string_view in = "a LOGIN {3}\r\nabc x\r\n";
  auto ev = r.feed(in);
  EXPECT_EQ(ev.status, St::NeedLiteral);
  EXPECT_EQ(ev.literalSize, 3u);
  EXPECT_TRUE(ev.synchronizing);
  EXPECT_EQ(in, "abc x\r\n");  // nothing of the literal consumed before the continuation
  EXPECT_EQ(r.tag(), "a");
  ev = r.feed(in);
  EXPECT_EQ(ev.status, St::NeedLiteral);  // still waiting
  r.acceptLiteral();
  ev = r.feed(in);
  EXPECT_EQ(ev.status, St::Complete);
  EXPECT_TRUE(in.empty());
  EXPECT_EQ(r.takeCommand(), "a LOGIN {3}\r\nabc x\r\n");
  EXPECT_EQ(r.tag(), "");
}

TEST(ReaderTest, TagIsKnownEarly) {
  CommandReader r;
  std::string_view in = "tag17 SEL";
  EXPECT_EQ(r.feed(in).status, St::NeedMore);
  EXPECT_EQ(r.tag(), "tag17");
  CommandReader r2;
  std::string_view in2 = "tag";
  EXPECT_EQ(r2.feed(in2).status, St::NeedMore);
  EXPECT_EQ(r2.tag(), "");
  CommandReader r3;
  std::string_view in3 = "ta*g NOOP";
  EXPECT_EQ(r3.feed(in3).status, St::NeedMore);
  EXPECT_EQ(r3.tag(), "");
}

TEST(ReaderTest, LineTooLong) {
  ReaderLimits l;
  l.maxLineLength = 20;
  {
    Driver d(l);
    d.feed("a NOOP 0123456789012\r\n");  // exactly 20 bytes before CRLF
    EXPECT_EQ(d.commands.size(), 1u);
  }
  {
    Driver d(l);
    d.feed("a NOOP 01234567890123\r\n");  // 21
    ASSERT_EQ(d.errors.size(), 1u);
    EXPECT_EQ(d.errors[0].status, St::LineTooLong);
    EXPECT_TRUE(d.commands.empty());
  }
  {
    // Detected without a line end, before buffering unbounded input.
    Driver d(l);
    d.feedBytewise(std::string(100, 'x'));
    ASSERT_EQ(d.errors.size(), 1u);
    EXPECT_EQ(d.errors[0].status, St::LineTooLong);
  }
  {
    // Literal contents do not count towards the line length.
    Driver d(l);
    d.feed("a LOGIN {40}\r\n" + std::string(40, 'u') + " pw\r\n");
    EXPECT_TRUE(d.errors.empty());
    EXPECT_EQ(d.commands.size(), 1u);
  }
  {
    CommandReader r(l);
    std::string_view in = "0123456789012345678901234\r\nDONE\r\n";
    std::string line;
    bool tooLong = false;
    EXPECT_FALSE(r.feedLine(in, line, tooLong));
    EXPECT_TRUE(tooLong);
  }
}

TEST(ReaderTest, SynchronizingLiteralTooLarge) {
  ReaderLimits l;
  l.maxLiteralSize = 100;
  Driver d(l);
  // The client waits for "+" which never comes; it sends the next command after our NO.
  d.feed("a1 APPEND INBOX {101}\r\n");
  ASSERT_EQ(d.errors.size(), 1u);
  EXPECT_EQ(d.errors[0].status, St::LiteralTooLarge);
  EXPECT_TRUE(d.errors[0].synchronizing);
  EXPECT_FALSE(d.errors[0].fatal);
  EXPECT_EQ(d.errors[0].literalSize, 101u);
  EXPECT_EQ(d.errorTags[0], "a1");
  EXPECT_TRUE(d.literalsAsked.empty());
  d.feed("a2 NOOP\r\n");
  ASSERT_EQ(d.commands.size(), 1u);
  EXPECT_EQ(d.commands[0], "a2 NOOP\r\n");
  // Exactly the limit is fine.
  Driver ok(l);
  ok.feed("a APPEND INBOX {100}\r\n" + std::string(100, 'm') + "\r\n");
  EXPECT_TRUE(ok.errors.empty());
  EXPECT_EQ(ok.commands.size(), 1u);
}

TEST(ReaderTest, NonSynchronizingLiteralTooLargeIsDiscardedAndStreamStaysInSync) {
  ReaderLimits l;
  l.maxLiteralSize = 100;
  std::string stream = "a1 APPEND INBOX (\\Seen) {150+}\r\n" + std::string(150, 'x') +
                       " {20+}\r\n" + std::string(20, 'y') + "\r\n" + "a2 NOOP\r\n";
  for (bool bytewise : {false, true}) {
    Driver d(l);
    if (bytewise) d.feedBytewise(stream);
    else d.feed(stream);
    ASSERT_EQ(d.errors.size(), 1u);
    EXPECT_EQ(d.errors[0].status, St::LiteralTooLarge);
    EXPECT_FALSE(d.errors[0].synchronizing);
    EXPECT_FALSE(d.errors[0].fatal);
    EXPECT_EQ(d.errors[0].literalSize, 150u);
    EXPECT_EQ(d.errorTags[0], "a1");
    ASSERT_EQ(d.commands.size(), 1u);
    EXPECT_EQ(d.commands[0], "a2 NOOP\r\n");
  }
}

TEST(ReaderTest, DiscardEndsAtSynchronizingLiteral) {
  ReaderLimits l;
  l.maxLiteralSize = 10;
  Driver d(l);
  // After the oversized LITERAL+, the client announces {3} and waits; our NO ends the command.
  d.feed("a1 APPEND x {11+}\r\n01234567890 {3}\r\n");
  ASSERT_EQ(d.errors.size(), 1u);
  EXPECT_EQ(d.errors[0].status, St::LiteralTooLarge);
  EXPECT_FALSE(d.errors[0].synchronizing);
  EXPECT_TRUE(d.literalsAsked.empty());
  d.feed("a2 NOOP\r\n");
  ASSERT_EQ(d.commands.size(), 1u);
  EXPECT_EQ(d.commands[0], "a2 NOOP\r\n");
}

TEST(ReaderTest, AbsurdLiteralIsFatal) {
  ReaderLimits l;
  l.maxLiteralSize = 100;
  for (const char* s : {"a APPEND x {401+}\r\n", "a APPEND x {99999999999999999999999999+}\r\n"}) {
    Driver d(l);
    d.feed(s);
    ASSERT_EQ(d.errors.size(), 1u) << s;
    EXPECT_EQ(d.errors[0].status, St::LiteralTooLarge);
    EXPECT_TRUE(d.errors[0].fatal);
  }
  // A synchronizing one is never fatal: the client sends nothing until told to.
  Driver d(l);
  d.feed("a APPEND x {99999999999999999999999999}\r\n");
  ASSERT_EQ(d.errors.size(), 1u);
  EXPECT_TRUE(d.errors[0].synchronizing);
  EXPECT_FALSE(d.errors[0].fatal);
}

TEST(ReaderTest, CommandSizeLimitCoversLiterals) {
  ReaderLimits l;
  l.maxLiteralSize = 100;
  l.maxCommandSize = 150;
  Driver d(l);
  d.feed("a APPEND x {90+}\r\n" + std::string(90, 'a') + " {90}\r\n");
  ASSERT_EQ(d.errors.size(), 1u);
  EXPECT_EQ(d.errors[0].status, St::LiteralTooLarge);
  EXPECT_TRUE(d.errors[0].synchronizing);
}

TEST(ReaderTest, NotLiteralMarkers) {
  // "{}" and "{+}" and "{1a}" are not literal announcements: the line is a complete command.
  for (const char* s : {"a LOGIN x {}\r\n", "a LOGIN x {+}\r\n", "a LOGIN x {1a}\r\n", "a X }\r\n"}) {
    Driver d;
    d.feed(s);
    EXPECT_EQ(d.commands.size(), 1u) << s;
    EXPECT_TRUE(d.literalsAsked.empty());
  }
}

TEST(ReaderTest, FeedLineForAuthenticateAndIdle) {
  CommandReader r;
  std::string line;
  bool tooLong = true;
  std::string_view in = "dGVz";
  EXPECT_FALSE(r.feedLine(in, line, tooLong));
  EXPECT_FALSE(tooLong);
  in = "dA==\r\nDONE\nrest";
  EXPECT_TRUE(r.feedLine(in, line, tooLong));
  EXPECT_EQ(line, "dGVzdA==");
  EXPECT_TRUE(r.feedLine(in, line, tooLong));
  EXPECT_EQ(line, "DONE");
  EXPECT_EQ(in, "rest");
}

}  // namespace
}  // namespace tern::imap
