#include "mime/message.h"

#include <gtest/gtest.h>

#include <chrono>

#include "corpus.h"
#include "mime/decode.h"
#include "mime/serialize.h"

using namespace tern::mime;
using tern::mime::testing::corpus;
using tern::mime::testing::crlf;

namespace {

std::string message(std::string_view name) {
  for (const auto& m : corpus())
    if (m.name == name) return m.bytes;
  ADD_FAILURE() << "no corpus message " << name;
  return {};
}

std::string_view body(const std::string& msg, const Part& p) { return std::string_view(msg).substr(p.bodyOffset, p.bodySize); }
std::string_view header(const std::string& msg, const Part& p) {
  return std::string_view(msg).substr(p.headerOffset, p.headerSize);
}

size_t countParts(const Part& p) {
  size_t n = 1;
  for (const auto& c : p.children) n += countParts(c);
  return n;
}
size_t depthOf(const Part& p) {
  size_t d = 0;
  for (const auto& c : p.children) d = std::max(d, depthOf(c));
  return d + 1;
}

}  // namespace

TEST(Message, PlainMessage) {
  std::string m = message("plain");
  ParsedMessage pm = parseMessage(m);
  EXPECT_EQ(pm.size, m.size());
  EXPECT_EQ(pm.root.type, "text");
  EXPECT_EQ(pm.root.subtype, "plain");
  EXPECT_FALSE(pm.root.hasContentType);
  EXPECT_EQ(pm.root.headerOffset, 0u);
  EXPECT_EQ(body(m, pm.root), tern::mime::testing::kPlainBody);
  EXPECT_EQ(pm.root.bodyLines, 2u);
  EXPECT_TRUE(header(m, pm.root).ends_with("\r\n\r\n"));
  EXPECT_EQ(pm.root.headerSize + pm.root.bodySize, m.size());
  EXPECT_FALSE(pm.truncated);
  EXPECT_EQ(pm.envelope.subject, "Saying Hello");
  EXPECT_EQ(pm.envelope.date, "Tue, 1 Jul 2003 10:52:37 +0200");
  ASSERT_EQ(pm.envelope.to.size(), 2u);
  EXPECT_EQ(pm.envelope.sender, pm.envelope.from);   // defaults to From (RFC 9051 7.5.2)
  EXPECT_EQ(pm.envelope.replyTo, pm.envelope.from);
  EXPECT_EQ(pm.sort.fromMailbox, "john.q.public");
  EXPECT_EQ(pm.sort.fromDisplay, "Joe Q. Public");
  EXPECT_EQ(pm.sort.toMailbox, "mary");
  EXPECT_EQ(pm.sort.ccMailbox, "sysservices");
  EXPECT_EQ(pm.sort.messageId, "<1234@local.machine.example>");
  ASSERT_TRUE(pm.sort.date.has_value());
  EXPECT_EQ(pm.sort.date->zoneMinutes, 120);
}

TEST(Message, AlternativeWithPreambleAndEpilogue) {
  std::string m = message("alternative");
  ParsedMessage pm = parseMessage(m);
  ASSERT_EQ(pm.root.children.size(), 2u);
  EXPECT_EQ(pm.root.type, "multipart");
  EXPECT_EQ(pm.root.subtype, "alternative");
  const Part& text = pm.root.children[0];
  const Part& html = pm.root.children[1];
  EXPECT_EQ(body(m, text), tern::mime::testing::kAltText);  // CRLF before the boundary excluded
  EXPECT_EQ(body(m, html), tern::mime::testing::kAltHtml);
  EXPECT_EQ(text.bodyLines, 1u);
  EXPECT_EQ(header(m, text), "Content-Type: text/plain; charset=us-ascii\r\n\r\n");
  EXPECT_EQ(html.encoding, "quoted-printable");
  EXPECT_EQ(*findParam(html.params, "charset"), "utf-8");
  // The multipart's body runs to the end, epilogue included.
  EXPECT_EQ(pm.root.bodyOffset + pm.root.bodySize, m.size());
  EXPECT_EQ(pm.sort.baseSubject, "alt");
}

TEST(Message, AttachmentsWithRfc2231Names) {
  std::string m = message("attachments");
  ParsedMessage pm = parseMessage(m);
  ASSERT_EQ(pm.root.children.size(), 3u);
  const Part& t = pm.root.children[0];
  EXPECT_EQ(decodeBody(body(m, t), t.encoding), "Caf\xE9 cr\xE8me br\xFBl\xE9" "e");
  const Part& pdf = pm.root.children[1];
  EXPECT_EQ(pdf.type, "application");
  EXPECT_EQ(*findParam(pdf.params, "name"), "\xE2\x82\xAC rates.pdf");
  EXPECT_EQ(pdf.disposition, "attachment");
  EXPECT_EQ(*findParam(pdf.dispositionParams, "filename"), "\xE2\x82\xAC rates.pdf");
  EXPECT_EQ(pdf.dispositionParams[0].language, "en");
  EXPECT_EQ(pdf.id, "<part2@example.com>");
  EXPECT_EQ(pdf.description, "the rates");
  EXPECT_EQ(pdf.language, (std::vector<std::string>{"en", "de"}));
  EXPECT_EQ(pdf.location, "http://example.com/rates.pdf");
  EXPECT_TRUE(decodeBody(body(m, pdf), pdf.encoding)->starts_with("%PDF-1.4"));
  const Part& png = pm.root.children[2];
  EXPECT_EQ(*findParam(png.params, "name"), "\xC3\xA9l\xC3\xA9n.png");
  EXPECT_EQ(decodeBody(body(m, png), png.encoding), "\x89PNG\r\n\x1a\n");
}

TEST(Message, NestedMessageAndPartNumbers) {
  std::string m = message("nested");
  ParsedMessage pm = parseMessage(m);
  ASSERT_EQ(pm.root.children.size(), 2u);
  const Part& rfc822 = pm.root.children[1];
  ASSERT_TRUE(rfc822.hasNestedMessage());
  const Part& inner = rfc822.children[0];
  EXPECT_EQ(inner.headerOffset, rfc822.bodyOffset);
  EXPECT_EQ(inner.bodyOffset + inner.bodySize, rfc822.bodyOffset + rfc822.bodySize);
  EXPECT_TRUE(header(m, inner).starts_with("From: Inner Person"));
  EXPECT_EQ(rfc822.envelope->subject, "inner");
  ASSERT_EQ(rfc822.envelope->to.size(), 4u);  // group start, two members, group end
  ASSERT_EQ(inner.children.size(), 2u);
  EXPECT_EQ(body(m, inner.children[0]), "inner text");
  EXPECT_EQ(body(m, inner.children[1]), "<b>inner</b>");

  // RFC 9051 section 6.4.5 numbering.
  EXPECT_EQ(findPart(pm, {}), &pm.root);
  EXPECT_EQ(findPart(pm, {1}), &pm.root.children[0]);
  EXPECT_EQ(findPart(pm, {2}), &rfc822);
  EXPECT_EQ(findPart(pm, {2, 1}), &inner.children[0]);
  EXPECT_EQ(findPart(pm, {2, 2}), &inner.children[1]);
  EXPECT_EQ(findPart(pm, {2, 3}), nullptr);
  EXPECT_EQ(findPart(pm, {1, 1}), nullptr);
  EXPECT_EQ(findPart(pm, {3}), nullptr);
  EXPECT_EQ(findPart(pm, {0}), nullptr);
  EXPECT_EQ(pm.sort.baseSubject, "inner");
}

TEST(Message, PartNumbersOfSinglePartMessages) {
  std::string m = message("plain");
  ParsedMessage pm = parseMessage(m);
  EXPECT_EQ(findPart(pm, {1}), &pm.root);  // a non-multipart message's part 1 is its body
  EXPECT_EQ(findPart(pm, {2}), nullptr);
  EXPECT_EQ(findPart(pm, {1, 1}), nullptr);

  // A message/rfc822 part holding a non-multipart message: N.1 is that message's body.
  std::string m2 = crlf("Content-Type: multipart/mixed; boundary=z\n\n--z\nContent-Type: message/rfc822\n\n"
                        "Subject: in\n\nhello\n--z--\n");
  ParsedMessage p2 = parseMessage(m2);
  const Part* inner = findPart(p2, {1, 1});
  ASSERT_NE(inner, nullptr);
  EXPECT_EQ(body(m2, *inner), "hello");
  EXPECT_EQ(findPart(p2, {1, 2}), nullptr);
}

TEST(Message, MissingFinalBoundary) {
  std::string m = message("missing-final-boundary");
  ParsedMessage pm = parseMessage(m);
  ASSERT_EQ(pm.root.children.size(), 2u);
  EXPECT_EQ(body(m, pm.root.children[0]), "one");
  EXPECT_EQ(body(m, pm.root.children[1]), "two, never closed\r\n");  // runs to the end
}

TEST(Message, BrokenBoundaries) {
  std::string m = message("broken-boundaries");
  ParsedMessage pm = parseMessage(m);
  ASSERT_EQ(pm.root.children.size(), 2u);
  // "--qq ..." is not our delimiter; "--q  " (transport padding) is.
  const Part& alt = pm.root.children[0];
  EXPECT_EQ(alt.subtype, "alternative");
  ASSERT_EQ(alt.children.size(), 1u);
  // The unclosed inner multipart is ended by the outer boundary.
  EXPECT_EQ(alt.children[0].type, "text");
  EXPECT_EQ(body(m, alt.children[0]), "default typed, inner never closed");
  EXPECT_EQ(body(m, pm.root.children[1]), "--q- almost\r\nlast");
}

TEST(Message, DigestDefaultsToMessage) {
  std::string m = message("digest");
  ParsedMessage pm = parseMessage(m);
  ASSERT_EQ(pm.root.children.size(), 2u);
  const Part& first = pm.root.children[0];
  EXPECT_EQ(first.type, "message");
  EXPECT_EQ(first.subtype, "rfc822");
  ASSERT_TRUE(first.hasNestedMessage());
  EXPECT_EQ(first.envelope->subject, "first");
  EXPECT_EQ(body(m, first.children[0]), "first body");
  EXPECT_EQ(pm.root.children[1].type, "text");
}

TEST(Message, EightBitAndEncodedHeadersForSort) {
  ParsedMessage a = parseMessage(message("8bit-headers"));
  EXPECT_EQ(a.sort.subject, "Gr\xC3\xBC\xC3\x9F" "e");
  EXPECT_EQ(a.sort.fromDisplay, "J\xC3\xBCrgen M\xC3\xBCller");
  EXPECT_EQ(a.sort.toDisplay, "Ren\xC3\xA9");  // latin-1 raw byte read as windows-1252
  ParsedMessage b = parseMessage(message("encoded-words"));
  EXPECT_EQ(b.sort.subject, "If you can read this you understand the example.");
  EXPECT_EQ(b.sort.fromDisplay, "Andr\xC3\xA9 Pirard");
  EXPECT_EQ(b.sort.toDisplay, "Keith Moore");
  EXPECT_EQ(*b.envelope.subject,
            "=?ISO-8859-1?B?SWYgeW91IGNhbiByZWFkIHRoaXMgeW8=?= =?ISO-8859-2?B?dSB1bmRlcnN0YW5kIHRoZSBleGFtcGxlLg==?=");
}

TEST(Message, ThreadFields) {
  ParsedMessage pm = parseMessage(message("groups"));
  EXPECT_EQ(pm.sort.inReplyTo, (std::vector<std::string>{"<parent@example.com>"}));
  EXPECT_EQ(pm.sort.references, (std::vector<std::string>{"<root@example.com>", "<parent@example.com>"}));
  EXPECT_EQ(pm.sort.fromMailbox, "john doe");
  EXPECT_EQ(pm.sort.fromDisplay, "\"john doe\"@example.com");
  EXPECT_EQ(pm.sort.toMailbox, "");  // only an empty group
  EXPECT_EQ(pm.sort.ccMailbox, "c");
  EXPECT_EQ(pm.envelope.replyTo, pm.envelope.from);  // present but empty: defaults to From
}

TEST(Message, BareLfAndNoHeader) {
  ParsedMessage pm = parseMessage("Content-Type: multipart/mixed; boundary=b\n\n--b\n\nx\n--b--\n");
  ASSERT_EQ(pm.root.children.size(), 1u);
  EXPECT_EQ(pm.root.children[0].bodySize, 1u);
  std::string m = message("no-header-body");
  ParsedMessage p2 = parseMessage(m);
  EXPECT_EQ(p2.root.headerSize, 2u);
  EXPECT_EQ(body(m, p2.root), "body only, no header\r\n");
  EXPECT_FALSE(p2.envelope.subject.has_value());
  ParsedMessage empty = parseMessage("");
  EXPECT_EQ(empty.root.bodySize, 0u);
  EXPECT_EQ(empty.root.bodyLines, 0u);
}

TEST(Message, BodyLines) {
  EXPECT_EQ(countLines(""), 0u);
  EXPECT_EQ(countLines("a"), 1u);
  EXPECT_EQ(countLines("a\r\n"), 1u);
  EXPECT_EQ(countLines("a\r\nb"), 2u);
  EXPECT_EQ(countLines("\r\n\r\n"), 2u);
}

TEST(BaseSubject, Rfc5256) {
  struct Case {
    std::string in, out;
  } cases[] = {
      {"Hello", "Hello"},
      {"Re: Hello", "Hello"},
      {"RE: re: Fwd: Hello", "Hello"},
      {"Re[2]: Hello", "Hello"},
      {"Fw: Hello (fwd)", "Hello"},
      {"Hello (fwd) (FWD)  ", "Hello"},
      {"[list] Re: Hello", "Hello"},
      {"[list] Hello", "Hello"},
      {"[only-a-blob]", "[only-a-blob]"},
      {"[Fwd: Re: Hello]", "Hello"},
      {"Re: [Fwd: [list] Hello (fwd)]", "Hello"},
      {"Re:\tHello \t  world", "Hello world"},
      {"Reply: not a prefix", "Reply: not a prefix"},
      {"", ""},
      {"Re:", ""},
  };
  for (const auto& c : cases) EXPECT_EQ(baseSubject(c.in), c.out) << c.in;
}

TEST(MessageIds, Parse) {
  EXPECT_EQ(parseMessageIds("<a@b> (c) <c@d>junk<e@f"), (std::vector<std::string>{"<a@b>", "<c@d>"}));
  EXPECT_EQ(parseMessageIds("<a\r\n @b>"), (std::vector<std::string>{"<a@b>"}));
  EXPECT_TRUE(parseMessageIds("none").empty());
}

TEST(Serialize, RoundTripsEveryCorpusMessage) {
  for (const auto& m : corpus()) {
    ParsedMessage pm = parseMessage(m.bytes);
    std::string s = serializeMessage(pm);
    auto back = deserializeMessage(s);
    ASSERT_TRUE(back.has_value()) << m.name;
    EXPECT_EQ(*back, pm) << m.name;
    EXPECT_LT(s.size(), m.bytes.size() * 2 + 200) << m.name;
  }
}

TEST(Serialize, RejectsCorruptInput) {
  std::string s = serializeMessage(parseMessage(message("nested")));
  EXPECT_FALSE(deserializeMessage("").has_value());
  EXPECT_FALSE(deserializeMessage(std::string(1, '\x7f') + s.substr(1)).has_value());  // unknown version
  for (size_t cut = 0; cut < s.size(); ++cut) EXPECT_FALSE(deserializeMessage(s.substr(0, cut)).has_value()) << cut;
  EXPECT_FALSE(deserializeMessage(s + "x").has_value());
  // Flipping bytes never crashes (the result may or may not parse).
  for (size_t i = 1; i < s.size(); ++i) {
    std::string t = s;
    t[i] = static_cast<char>(t[i] ^ 0xff);
    (void)deserializeMessage(t);
  }
}

// Limits: hostile shapes finish fast with a bounded structure.
TEST(Limits, TenThousandParts) {
  std::string m = "Content-Type: multipart/mixed; boundary=b\r\n\r\n";
  for (int i = 0; i < 20000; ++i) m += "--b\r\n\r\nx\r\n";
  m += "--b--\r\n";
  auto t0 = std::chrono::steady_clock::now();
  ParsedMessage pm = parseMessage(m);
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_LT(ms, 2000);
  EXPECT_TRUE(pm.truncated);
  EXPECT_LE(countParts(pm.root), Limits{}.maxParts);
  EXPECT_GT(countParts(pm.root), 9000u);
  EXPECT_EQ(pm.root.bodyOffset + pm.root.bodySize, m.size());
}

TEST(Limits, DepthThousand) {
  std::string m;
  for (int i = 0; i < 1000; ++i) m += "Content-Type: multipart/mixed; boundary=b" + std::to_string(i) + "\r\n\r\n--b" + std::to_string(i) + "\r\n";
  m += "\r\nleaf\r\n";
  for (int i = 999; i >= 0; --i) m += "--b" + std::to_string(i) + "--\r\n";
  std::string msgs;  // and 1000 nested message/rfc822
  for (int i = 0; i < 1000; ++i) msgs += "Content-Type: message/rfc822\r\n\r\n";
  msgs += "\r\nleaf\r\n";
  for (const std::string& input : {m, msgs}) {
    auto t0 = std::chrono::steady_clock::now();
    ParsedMessage pm = parseMessage(input);
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();
    EXPECT_LT(ms, 2000);
    EXPECT_TRUE(pm.truncated);
    EXPECT_LE(depthOf(pm.root), Limits{}.maxDepth + 1);
    auto back = deserializeMessage(serializeMessage(pm));
    ASSERT_TRUE(back.has_value());
  }
}

TEST(Limits, MegabyteHeaderLine) {
  std::string m = "Subject: " + std::string(1 << 20, 'a') + "\r\nTo: " + std::string(1 << 20, 'b') +
                  "@x\r\nContent-Type: text/plain; name=" + std::string(1 << 20, 'c') + "\r\n\r\nbody";
  auto t0 = std::chrono::steady_clock::now();
  ParsedMessage pm = parseMessage(m);
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_LT(ms, 2000);
  EXPECT_EQ(pm.envelope.subject->size(), Limits{}.header.maxValueLength);
  EXPECT_EQ(std::string_view(m).substr(pm.root.bodyOffset), "body");
}

TEST(Limits, ManyBoundaryLikeLinesWithDeepStack) {
  // 100 open multiparts, then lots of lines starting with "--": still linear-ish.
  std::string m;
  for (int i = 0; i < 100; ++i) m += "Content-Type: multipart/mixed; boundary=bb" + std::to_string(i) + "\r\n\r\n--bb" + std::to_string(i) + "\r\n";
  for (int i = 0; i < 100000; ++i) m += "--bb\r\n";
  auto t0 = std::chrono::steady_clock::now();
  ParsedMessage pm = parseMessage(m);
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_LT(ms, 3000);
  EXPECT_EQ(pm.size, m.size());
}

TEST(Message, DecodedTextForSearch) {
  std::string m = message("attachments");
  ParsedMessage pm = parseMessage(m);
  EXPECT_EQ(decodedText(m, pm.root.children[0]), "Caf\xC3\xA9 cr\xC3\xA8me br\xC3\xBBl\xC3\xA9" "e");
  EXPECT_EQ(decodedText(m, pm.root.children[1]), std::nullopt);  // application/pdf
  std::string sj = message("encoded-words");
  EXPECT_EQ(decodedText(sj, parseMessage(sj).root), "\xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E\r\n");  // 日本語
}

// Found by fuzz_mime: a header that runs into the delimiter gives up the EOL before it, so the part
// (and an empty encapsulated message) stays inside the parent's body.
TEST(Message, HeaderEndingAtDelimiter) {
  std::string m = crlf("Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: message/rfc822\n\n--b--\n");
  ParsedMessage pm = parseMessage(m);
  ASSERT_EQ(pm.root.children.size(), 1u);
  const Part& p = pm.root.children[0];
  EXPECT_EQ(header(m, p), "Content-Type: message/rfc822\r\n");
  EXPECT_EQ(p.bodySize, 0u);
  ASSERT_TRUE(p.hasNestedMessage());
  EXPECT_EQ(p.children[0].headerOffset, p.bodyOffset);
  EXPECT_EQ(p.children[0].headerSize + p.children[0].bodySize, 0u);
}

TEST(Message, DisplayNameFallsBackToAddress) {
  ParsedMessage pm = parseMessage(crlf("From: \"\" <empty@name.test>\nTo: =?utf-8?q?Zo=C3=AB?= <z@x.test>\n\n"));
  EXPECT_EQ(pm.sort.fromDisplay, "empty@name.test");
  EXPECT_EQ(pm.sort.toDisplay, "Zo\xC3\xAB");
}

// Found by fuzz_mime: an inner delimiter line whose EOL is also the EOL before an outer delimiter.
TEST(Message, EmptyLastChildSharingDelimiterEol) {
  std::string m = crlf("Content-Type: multipart/mixed; boundary=o\n\n--o\n"
                       "Content-Type: multipart/mixed; boundary=i\n\n--i\n--o--\n");
  ParsedMessage pm = parseMessage(m);
  ASSERT_EQ(pm.root.children.size(), 1u);
  const Part& inner = pm.root.children[0];
  EXPECT_EQ(body(m, inner), "--i");
  ASSERT_EQ(inner.children.size(), 1u);
  const Part& empty = inner.children[0];
  EXPECT_EQ(empty.headerSize + empty.bodySize, 0u);
  EXPECT_LE(empty.bodyOffset, inner.bodyOffset + inner.bodySize);
}
