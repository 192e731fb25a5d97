// DataReader/BdatReader tests: end-of-data, dot-unstuffing (RFC 5321 4.5.2), bare CR/LF handling,
// SMTP smuggling sequences (none may end the data), size limit in sync, byte-at-a-time and every
// split point, sink chunking; BDAT exact counts.
#include <gtest/gtest.h>

#include <optional>

#include "smtp/protocol/data_reader.h"

namespace tern::smtp {
namespace {

using St = DataReader::Status;

struct Outcome {
  St status = St::NeedMore;
  std::string body;
  std::string rest;  // input left after the end of data
  size_t sinkCalls = 0;
  size_t largestChunk = 0;
};

Outcome feedParts(const std::vector<std::string_view>& parts, uint64_t max = 1 << 20,
                  BareLineEndingPolicy policy = BareLineEndingPolicy::Normalise,
                  size_t chunk = 64 * 1024) {
  Outcome o;
  DataReader r(max, [&](std::string_view c) {
    EXPECT_FALSE(c.empty());
    o.body.append(c);
    ++o.sinkCalls;
    o.largestChunk = std::max(o.largestChunk, c.size());
  }, policy, chunk);
  for (size_t i = 0; i < parts.size(); ++i) {
    std::string_view in = parts[i];
    if (o.status != St::NeedMore) {
      o.rest.append(in);
      continue;
    }
    o.status = r.feed(in);
    if (o.status == St::NeedMore) {
      EXPECT_TRUE(in.empty());
    }
    o.rest.append(in);
  }
  return o;
}

Outcome whole(std::string_view in, uint64_t max = 1 << 20,
              BareLineEndingPolicy p = BareLineEndingPolicy::Normalise) {
  return feedParts({in}, max, p);
}

Outcome bytewise(std::string_view in, uint64_t max = 1 << 20,
                 BareLineEndingPolicy p = BareLineEndingPolicy::Normalise) {
  std::vector<std::string_view> parts;
  for (size_t i = 0; i < in.size(); ++i) parts.push_back(in.substr(i, 1));
  return feedParts(parts, max, p);
}

struct Case {
  const char* in;
  const char* body;
  St status;
  const char* rest;
};

// Expected bodies follow RFC 5321 4.5.2: the CRLF before "." belongs to the last line; a leading
// dot is removed from a line with other characters; bare CR and bare LF are delivered as CRLF.
const Case kCases[] = {
    {"hello\r\n.\r\n", "hello\r\n", St::Complete, ""},
    {".\r\n", "", St::Complete, ""},                               // empty message
    {"\r\n.\r\n", "\r\n", St::Complete, ""},
    {"a\r\nb\r\n.\r\nQUIT\r\n", "a\r\nb\r\n", St::Complete, "QUIT\r\n"},
    {"..\r\n.\r\n", ".\r\n", St::Complete, ""},                     // stuffed "."
    {"...\r\n.\r\n", "..\r\n", St::Complete, ""},
    {"..x\r\n.\r\n", ".x\r\n", St::Complete, ""},
    {".x\r\n.\r\n", "x\r\n", St::Complete, ""},                     // unnecessary stuffing
    {"a\r\n..\r\n.\r\n", "a\r\n.\r\n", St::Complete, ""},
    {"a.\r\n.\r\n", "a.\r\n", St::Complete, ""},                    // dot not at line start
    {"a\r\n .\r\n.\r\n", "a\r\n .\r\n", St::Complete, ""},
    {"a\r\n.\r\n.\r\n", "a\r\n", St::Complete, ".\r\n"},           // first marker ends it
    {"a\nb\r\n.\r\n", "a\r\nb\r\n", St::Complete, ""},              // bare LF normalised
    {"a\rb\r\n.\r\n", "a\r\nb\r\n", St::Complete, ""},              // bare CR normalised
    {"a\r\r\n.\r\n", "a\r\n\r\n", St::Complete, ""},                // bare CR then CRLF
    {"\n.\r\n.\r\n", "\r\n.\r\n", St::Complete, ""},                // bare LF at start, "." kept
    {"a\n..\r\n.\r\n", "a\r\n.\r\n", St::Complete, ""},             // unstuffed after bare LF
    {"x\x00y\r\n.\r\n", nullptr, St::Complete, ""},                 // NUL passes through
    {"a\r\n.", "a\r\n", St::NeedMore, ""},
    {"a\r\n.\r", "a\r\n", St::NeedMore, ""},
};

TEST(SmtpDataReader, Table) {
  for (const auto& c : kCases) {
    std::string in = c.in;
    if (c.body == nullptr) in = std::string("x\0y\r\n.\r\n", 8);
    std::string body = c.body ? c.body : std::string("x\0y\r\n", 5);
    for (const Outcome& o : {whole(in), bytewise(in)}) {
      EXPECT_EQ(o.status, c.status) << testing::PrintToString(in);
      EXPECT_EQ(o.body, body) << testing::PrintToString(in);
      EXPECT_EQ(o.rest, c.rest) << testing::PrintToString(in);
    }
  }
}

// SMTP smuggling (CVE-2023-51764 family): a body carrying "<seq>MAIL FROM:..." must arrive as
// body content; only the real CRLF.CRLF at the end may end the data.
const char* const kSmuggling[] = {
    "\n.\n", "\r.\r", "\n.\r\n", "\r\n.\n", "\r.\r\n", "\n.\r", "\r.\n", "\r\n.\r",
    "\r\n.\r\r\n", "\r\n\n.\r\n", "\n\r\n.\n", "\r\r\n.\r", "\r\n.\n\r\n", "\n..\n",
};

std::string smugglingStream(std::string_view seq) {
  return "Subject: test\r\n\r\nhello" + std::string(seq) +
         "MAIL FROM:<x@y>\r\nRCPT TO:<victim@ourdomain.example>\r\nDATA\r\nsmuggled\r\n"
         ".\r\nQUIT\r\n";
}

TEST(SmtpDataReader, SmugglingSequencesNeverEndData) {
  for (const char* seq : kSmuggling) {
    std::string in = smugglingStream(seq);
    for (const Outcome& o : {whole(in), bytewise(in)}) {
      EXPECT_EQ(o.status, St::Complete) << testing::PrintToString(seq);
      EXPECT_EQ(o.rest, "QUIT\r\n") << testing::PrintToString(seq);
      EXPECT_NE(o.body.find("\r\nMAIL FROM:<x@y>\r\nRCPT TO:<victim@ourdomain.example>\r\n"),
                std::string::npos)
          << testing::PrintToString(seq) << " body " << testing::PrintToString(o.body);
      EXPECT_TRUE(o.body.ends_with("\r\nsmuggled\r\n")) << testing::PrintToString(seq);
      // Normalised: no bare CR or LF survives in the stored body.
      for (size_t i = 0; i < o.body.size(); ++i) {
        if (o.body[i] == '\r') {
          ASSERT_TRUE(i + 1 < o.body.size() && o.body[i + 1] == '\n') << testing::PrintToString(seq);
        }
        if (o.body[i] == '\n') {
          ASSERT_TRUE(i > 0 && o.body[i - 1] == '\r');
        }
      }
    }
  }
}

TEST(SmtpDataReader, SmugglingSequencesExactBodies) {
  // The five sequences named in the brief all become a content line "." between CRLFs.
  const std::string expected =
      "Subject: test\r\n\r\nhello\r\n.\r\nMAIL FROM:<x@y>\r\nRCPT TO:<victim@ourdomain.example>\r\n"
      "DATA\r\nsmuggled\r\n";
  for (const char* seq : {"\n.\n", "\r.\r", "\n.\r\n", "\r\n.\n", "\r.\r\n"}) {
    EXPECT_EQ(whole(smugglingStream(seq)).body, expected) << testing::PrintToString(seq);
  }
}

TEST(SmtpDataReader, RejectPolicyReportsAtTheRealEnd) {
  for (const char* seq : kSmuggling) {
    std::string in = smugglingStream(seq);
    Outcome o = bytewise(in, 1 << 20, BareLineEndingPolicy::Reject);
    EXPECT_EQ(o.status, St::BareLineEnding) << testing::PrintToString(seq);
    EXPECT_EQ(o.rest, "QUIT\r\n");
  }
  EXPECT_EQ(whole("clean\r\n.\r\n", 100, BareLineEndingPolicy::Reject).status, St::Complete);
}

TEST(SmtpDataReader, EverySplitPoint) {
  const std::string in = "a\r\n..b\r\nc\n.\r\nd\r.\r\ne\r\n.\r\nNOOP\r\n";
  const Outcome ref = whole(in);
  ASSERT_EQ(ref.status, St::Complete);
  EXPECT_EQ(ref.body, "a\r\n.b\r\nc\r\n.\r\nd\r\n.\r\ne\r\n");
  for (size_t i = 0; i <= in.size(); ++i) {
    for (size_t j = i; j <= in.size(); j += 3) {
      std::string_view s = in;
      Outcome o = feedParts({s.substr(0, i), s.substr(i, j - i), s.substr(j)});
      EXPECT_EQ(o.status, ref.status) << i << "," << j;
      EXPECT_EQ(o.body, ref.body) << i << "," << j;
      EXPECT_EQ(o.rest, "NOOP\r\n") << i << "," << j;
    }
  }
}

TEST(SmtpDataReader, SizeLimitKeepsSync) {
  // Exactly at the limit: accepted.
  Outcome at = whole("12345678\r\n.\r\n", 10);
  EXPECT_EQ(at.status, St::Complete);
  EXPECT_EQ(at.body, "12345678\r\n");
  // One over: consumed to the end, reported, nothing after the limit stored, next command intact.
  for (const Outcome& o : {whole("123456789\r\n.\r\nRSET\r\n", 10),
                           bytewise("123456789\r\n.\r\nRSET\r\n", 10)}) {
    EXPECT_EQ(o.status, St::TooBig);
    EXPECT_EQ(o.rest, "RSET\r\n");
    EXPECT_LE(o.body.size(), 10u);
  }
  // A large body far over the limit.
  std::string big(1 << 20, 'x');
  big += "\r\n.\r\nQUIT\r\n";
  Outcome o = feedParts({big}, 1000);
  EXPECT_EQ(o.status, St::TooBig);
  EXPECT_EQ(o.rest, "QUIT\r\n");
  EXPECT_LE(o.body.size(), 1000u);
}

TEST(SmtpDataReader, SizeCountsUnstuffedBytes) {
  DataReader r(100, nullptr);
  std::string_view in = "..\r\n.\r\n";  // delivers ".\r\n"
  EXPECT_EQ(r.feed(in), St::Complete);
  EXPECT_EQ(r.messageSize(), 3u);
}

TEST(SmtpDataReader, SinkChunksAreBounded) {
  std::string big;
  for (int i = 0; i < 1000; ++i) big += "line " + std::to_string(i) + "\r\n";
  std::string in = big + ".\r\n";
  Outcome o = feedParts({in}, 1 << 20, BareLineEndingPolicy::Normalise, 256);
  EXPECT_EQ(o.status, St::Complete);
  EXPECT_EQ(o.body, big);
  EXPECT_LE(o.largestChunk, 256u);
  EXPECT_GT(o.sinkCalls, big.size() / 256);
}

TEST(SmtpDataReader, ResetForNextMessage) {
  std::string body;
  DataReader r(5, [&](std::string_view c) { body.append(c); });
  std::string_view in = "toolong\r\n.\r\n";
  EXPECT_EQ(r.feed(in), St::TooBig);
  EXPECT_EQ(r.feed(in), St::TooBig);  // stays finished until reset
  r.reset();
  body.clear();
  in = "ok\r\n.\r\n";
  EXPECT_EQ(r.feed(in), St::Complete);
  EXPECT_EQ(body, "ok\r\n");
  EXPECT_FALSE(r.sawBareLineEnding());
}

// --- BDAT -------------------------------------------------------------------------------------------

TEST(SmtpBdatReader, ExactCountNoDotHandling) {
  std::string body;
  BdatReader r(11, 100, [&](std::string_view c) { body.append(c); });  // cuts inside a CRLF
  std::string_view in = "a\n.\r\n..\r\n.\r\nBDAT 0 LAST\r\n";
  EXPECT_EQ(r.feed(in), BdatReader::Status::Complete);
  EXPECT_EQ(body, "a\n.\r\n..\r\n.\r");
  EXPECT_EQ(in, "\nBDAT 0 LAST\r\n");
}

TEST(SmtpBdatReader, Bytewise) {
  std::string body;
  BdatReader r(5, 100, [&](std::string_view c) { body.append(c); });
  std::string in = "12345RSET\r\n";
  size_t i = 0;
  BdatReader::Status s = BdatReader::Status::NeedMore;
  for (; i < in.size() && s == BdatReader::Status::NeedMore; ++i) {
    std::string_view one(&in[i], 1);
    s = r.feed(one);
    EXPECT_TRUE(one.empty());
  }
  EXPECT_EQ(s, BdatReader::Status::Complete);
  EXPECT_EQ(i, 5u);
  EXPECT_EQ(body, "12345");
}

TEST(SmtpBdatReader, TooBigStillConsumesTheChunk) {
  std::string body;
  BdatReader r(10, 9, [&](std::string_view c) { body.append(c); });
  std::string_view in = "0123456789QUIT\r\n";
  EXPECT_EQ(r.feed(in), BdatReader::Status::TooBig);
  EXPECT_EQ(in, "QUIT\r\n");
  EXPECT_TRUE(body.empty());
}

TEST(SmtpBdatReader, EmptyChunk) {
  BdatReader r(0, 0, nullptr);
  std::string_view in = "QUIT\r\n";
  EXPECT_EQ(r.feed(in), BdatReader::Status::Complete);
  EXPECT_EQ(in, "QUIT\r\n");
}

}  // namespace
}  // namespace tern::smtp

namespace tern::smtp {
namespace {

// Reference model, written straight from the rules: the data ends at the first raw CRLF "." CRLF
// (or ".\r\n" at the very start); before it, lines end at CRLF, bare CR or bare LF, each delivered
// with CRLF, and a line of more than one character starting with "." loses that dot.
std::optional<size_t> referenceEnd(std::string_view in) {
  if (in.starts_with(".\r\n")) return 3;
  size_t p = in.find("\r\n.\r\n");
  if (p == std::string_view::npos) return std::nullopt;
  return p + 5;
}

std::string referenceBody(std::string_view raw) {
  std::string out, line;
  auto endLine = [&] {
    if (line.size() > 1 && line[0] == '.') line.erase(0, 1);
    out += line;
    out += "\r\n";
    line.clear();
  };
  for (size_t i = 0; i < raw.size(); ++i) {
    if (raw[i] == '\r') {
      if (i + 1 < raw.size() && raw[i + 1] == '\n') ++i;
      endLine();
    } else if (raw[i] == '\n') {
      endLine();
    } else {
      line += raw[i];
    }
  }
  out += line;  // empty: the raw prefix always ends with a line ending
  return out;
}

// Every string over {CR, LF, '.', 'a'} up to 8 bytes, followed by a real end: the reader must agree
// with the reference model, fed whole and byte at a time.
TEST(SmtpDataReader, ExhaustiveSmallInputsMatchReferenceModel) {
  const char alphabet[] = {'\r', '\n', '.', 'a'};
  size_t checked = 0;
  for (size_t len = 0; len <= 8; ++len) {
    size_t combos = size_t{1} << (2 * len);
    for (size_t k = 0; k < combos; ++k) {
      std::string in;
      for (size_t i = 0; i < len; ++i) in += alphabet[(k >> (2 * i)) & 3];
      in += "\r\n.\r\nZ";
      size_t end = *referenceEnd(in);
      std::string body = referenceBody(std::string_view(in).substr(0, end - 3));
      Outcome w = whole(in);
      ASSERT_EQ(w.status, St::Complete) << testing::PrintToString(in);
      ASSERT_EQ(w.rest, in.substr(end)) << testing::PrintToString(in);
      ASSERT_EQ(w.body, body) << testing::PrintToString(in);
      if (len <= 6) {
        Outcome b = bytewise(in);
        ASSERT_EQ(b.rest, w.rest) << testing::PrintToString(in);
        ASSERT_EQ(b.body, w.body) << testing::PrintToString(in);
      }
      ++checked;
    }
  }
  EXPECT_EQ(checked, 87381u);
}

}  // namespace
}  // namespace tern::smtp
