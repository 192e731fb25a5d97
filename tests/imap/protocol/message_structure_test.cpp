// ENVELOPE / BODY / BODYSTRUCTURE of the mime test corpus. Every expected string was written by
// hand from RFC 9051 section 7.5.2 and the ABNF of section 9 (sizes from the corpus' own bodies).
#include "imap/protocol/message_structure.h"

#include <gtest/gtest.h>

#include "../../mime/corpus.h"
#include "mime/serialize.h"

using namespace tern;
using tern::mime::testing::corpus;
using tern::mime::testing::crlf;

namespace {

mime::ParsedMessage parsed(std::string_view name) {
  for (const auto& m : corpus())
    if (m.name == name) return mime::parseMessage(m.bytes);
  ADD_FAILURE() << "no corpus message " << name;
  return {};
}

}  // namespace

TEST(MessageStructure, Plain) {
  auto pm = parsed("plain");
  const std::string joe = R"X((("Joe Q. Public" NIL "john.q.public" "example.com")))X";
  EXPECT_EQ(imap::formatEnvelope(pm.envelope, false),
            R"X(("Tue, 1 Jul 2003 10:52:37 +0200" "Saying Hello" )X" + joe + " " + joe + " " + joe +
                R"X( (("Mary Smith" NIL "mary" "x.test")(NIL NIL "jdoe" "example.org")))X"
                R"X( (("Giant; \"Big\" Box" NIL "sysservices" "example.net")) NIL NIL "<1234@local.machine.example>"))X");
  EXPECT_EQ(imap::formatBodyStructure(pm, true, false),
            R"X(("TEXT" "PLAIN" ("CHARSET" "US-ASCII") NIL NIL "7BIT" 32 2 NIL NIL NIL NIL))X");
  EXPECT_EQ(imap::formatBodyStructure(pm, false, false), R"X(("TEXT" "PLAIN" ("CHARSET" "US-ASCII") NIL NIL "7BIT" 32 2))X");
}

TEST(MessageStructure, Alternative) {
  auto pm = parsed("alternative");
  EXPECT_EQ(imap::formatBodyStructure(pm, true, false),
            R"X((("TEXT" "PLAIN" ("CHARSET" "us-ascii") NIL NIL "7BIT" 14 1 NIL NIL NIL NIL))X"
            R"X(("TEXT" "HTML" ("CHARSET" "utf-8") NIL NIL "QUOTED-PRINTABLE" 20 1 NIL NIL NIL NIL))X"
            R"X( "ALTERNATIVE" ("BOUNDARY" "b1") NIL NIL NIL))X");
  EXPECT_EQ(imap::formatBodyStructure(pm, false, false),
            R"X((("TEXT" "PLAIN" ("CHARSET" "us-ascii") NIL NIL "7BIT" 14 1))X"
            R"X(("TEXT" "HTML" ("CHARSET" "utf-8") NIL NIL "QUOTED-PRINTABLE" 20 1) "ALTERNATIVE"))X");
  EXPECT_EQ(imap::formatEnvelope(pm.envelope, false),
            R"X((NIL "Re: [list] Fwd: alt" ((NIL NIL "a" "example.com")) ((NIL NIL "a" "example.com")))X"
            R"X( ((NIL NIL "a" "example.com")) NIL NIL NIL NIL NIL))X");
}

TEST(MessageStructure, AttachmentsRfc2231) {
  auto pm = parsed("attachments");
  const std::string text = R"X(("TEXT" "PLAIN" ("CHARSET" "iso-8859-1") NIL NIL "QUOTED-PRINTABLE" 28 2 NIL NIL NIL NIL))X";
  // IMAP4rev1: non-ASCII parameter values go out in RFC 2231 form, keeping the response 7-bit.
  EXPECT_EQ(imap::formatBodyStructure(pm, true, false),
            "(" + text +
                R"X(("APPLICATION" "PDF" ("NAME*" "utf-8''%E2%82%AC%20rates.pdf") "<part2@example.com>" "the rates")X"
                R"X( "BASE64" 72 NIL ("ATTACHMENT" ("FILENAME*" "utf-8'en'%E2%82%AC%20rates.pdf")) ("en" "de"))X"
                R"X( "http://example.com/rates.pdf"))X"
                R"X(("IMAGE" "PNG" ("NAME*" "utf-8''%C3%A9l%C3%A9n.png") NIL NIL "BASE64" 12 NIL NIL NIL NIL))X"
                R"X( "MIXED" ("BOUNDARY" "mix") NIL NIL NIL))X");
  // UTF-8 clients get the decoded names as quoted UTF-8.
  std::string utf8 = imap::formatBodyStructure(pm, true, true);
  EXPECT_NE(utf8.find("(\"NAME\" \"\xE2\x82\xAC rates.pdf\")"), std::string::npos) << utf8;
  EXPECT_NE(utf8.find("(\"ATTACHMENT\" (\"FILENAME\" \"\xE2\x82\xAC rates.pdf\"))"), std::string::npos) << utf8;
  EXPECT_NE(utf8.find("(\"NAME\" \"\xC3\xA9l\xC3\xA9n.png\")"), std::string::npos) << utf8;
  // A single part (BODY[2] structure) formats on its own.
  const mime::Part* p3 = mime::findPart(pm, {3});
  ASSERT_NE(p3, nullptr);
  EXPECT_EQ(imap::formatBodyStructure(*p3, false, false),
            R"X(("IMAGE" "PNG" ("NAME*" "utf-8''%C3%A9l%C3%A9n.png") NIL NIL "BASE64" 12))X");
}

TEST(MessageStructure, NestedMessage) {
  auto pm = parsed("nested");
  const std::string person = R"X((("Inner Person" NIL "inner" "example.org")))X";
  const std::string envelope = R"X(("2 Jan 2024 03:04:05 -0500" "inner" )X" + person + " " + person + " " + person +
                               R"X( ((NIL NIL "group" NIL)(NIL NIL "a" "b.example")(NIL NIL "c" "d.example")(NIL NIL NIL NIL)))X"
                               R"X( NIL NIL NIL NIL))X";
  EXPECT_EQ(imap::formatBodyStructure(pm, true, false),
            R"X((("TEXT" "PLAIN" ("CHARSET" "US-ASCII") NIL NIL "7BIT" 13 1 NIL NIL NIL NIL))X"
            R"X(("MESSAGE" "RFC822" NIL NIL NIL "7BIT" 290 )X" + envelope +
                R"X( (("TEXT" "PLAIN" ("CHARSET" "US-ASCII") NIL NIL "7BIT" 10 1 NIL NIL NIL NIL))X"
                R"X(("TEXT" "HTML" ("CHARSET" "US-ASCII") NIL NIL "7BIT" 12 1 NIL NIL NIL NIL))X"
                R"X( "ALTERNATIVE" ("BOUNDARY" "inner") NIL NIL NIL) 15 NIL NIL NIL NIL))X"
                R"X( "MIXED" ("BOUNDARY" "outer") NIL NIL NIL))X");
  EXPECT_EQ(imap::formatEnvelope(*mime::findPart(pm, {2})->envelope, false), envelope);
}

TEST(MessageStructure, GroupsRoutesQuotedLocalParts) {
  auto pm = parsed("groups");
  const std::string from = R"X(((NIL NIL "john doe" "example.com")))X";
  EXPECT_EQ(imap::formatEnvelope(pm.envelope, false),
            "(NIL NIL " + from + " " + from + " " + from +
                R"X( ((NIL NIL "undisclosed-recipients" NIL)(NIL NIL NIL NIL)))X"
                R"X( ((NIL NIL "A Group" NIL)("Chris Jones" NIL "c" "public.example")(NIL NIL "joe" "example.org"))X"
                R"X(("John" NIL "jdoe" "one.test")(NIL NIL NIL NIL)))X"
                R"X( ((NIL "@route.example,@two.example" "user" "host.example")) "<parent@example.com>" NIL))X");
}

TEST(MessageStructure, EightBitHeaders) {
  auto pm = parsed("8bit-headers");
  const std::string name = "J\xC3\xBCrgen M\xC3\xBCller";
  // UTF-8 clients: valid UTF-8 is quoted; the raw latin-1 name is not UTF-8, so it stays a literal.
  const std::string from8 = "((\"" + name + "\" NIL \"juergen\" \"example.de\"))";
  EXPECT_EQ(imap::formatEnvelope(pm.envelope, true),
            "(NIL \"Gr\xC3\xBC\xC3\x9F" "e\" " + from8 + " " + from8 + " " + from8 +
                " (({4}\r\nRen\xE9 NIL \"rene\" \"example.fr\")) NIL NIL NIL NIL)");
  // IMAP4rev1 clients: every 8-bit string is a literal.
  const std::string from7 = "(({15}\r\n" + name + " NIL \"juergen\" \"example.de\"))";
  EXPECT_EQ(imap::formatEnvelope(pm.envelope, false),
            "(NIL {7}\r\nGr\xC3\xBC\xC3\x9F" "e " + from7 + " " + from7 + " " + from7 +
                " (({4}\r\nRen\xE9 NIL \"rene\" \"example.fr\")) NIL NIL NIL NIL)");
  EXPECT_EQ(imap::formatBodyStructure(pm, true, false),
            R"X(("TEXT" "PLAIN" ("CHARSET" "utf-8") NIL NIL "8BIT" 9 1 NIL NIL NIL NIL))X");
}

TEST(MessageStructure, EncodedWordsStayEncodedInEnvelope) {
  auto pm = parsed("encoded-words");
  EXPECT_EQ(imap::formatEnvelope(pm.envelope, false),
            R"X((NIL "=?ISO-8859-1?B?SWYgeW91IGNhbiByZWFkIHRoaXMgeW8=?= =?ISO-8859-2?B?dSB1bmRlcnN0YW5kIHRoZSBleGFtcGxlLg==?=")X"
            R"X( (("=?ISO-8859-1?Q?Andr=E9?= Pirard" NIL "PIRARD" "vm1.ulg.ac.be")))X"
            R"X( (("=?ISO-8859-1?Q?Andr=E9?= Pirard" NIL "PIRARD" "vm1.ulg.ac.be")))X"
            R"X( (("=?ISO-8859-1?Q?Andr=E9?= Pirard" NIL "PIRARD" "vm1.ulg.ac.be")))X"
            R"X( (("=?US-ASCII?Q?Keith_Moore?=" NIL "moore" "cs.utk.edu")) NIL NIL NIL NIL))X");
  EXPECT_EQ(imap::formatBodyStructure(pm, true, false),
            R"X(("TEXT" "PLAIN" ("CHARSET" "shift_jis") NIL NIL "7BIT" 8 1 NIL NIL NIL NIL))X");
}

TEST(MessageStructure, DigestDefaultsToMessageRfc822) {
  auto pm = parsed("digest");
  const std::string one = R"X(((NIL NIL "one" "example.com")))X";
  EXPECT_EQ(imap::formatBodyStructure(pm, false, false),
            R"X((("MESSAGE" "RFC822" NIL NIL NIL "7BIT" 51 (NIL "first" )X" + one + " " + one + " " + one +
                R"X( NIL NIL NIL NIL NIL) ("TEXT" "PLAIN" ("CHARSET" "US-ASCII") NIL NIL "7BIT" 10 1) 4))X"
                R"X(("TEXT" "PLAIN" ("CHARSET" "US-ASCII") NIL NIL "7BIT" 13 1) "DIGEST"))X");
}

TEST(MessageStructure, DegenerateShapesStaySyntacticallyValid) {
  // multipart without a boundary: no parts, but "1*body" needs one.
  auto pm = mime::parseMessage(crlf("Content-Type: multipart/mixed\n\nno boundary\n"));
  EXPECT_EQ(imap::formatBodyStructure(pm, true, false),
            R"X((("TEXT" "PLAIN" ("CHARSET" "US-ASCII") NIL NIL "7BIT" 0 0 NIL NIL NIL NIL) "MIXED" NIL NIL NIL NIL))X");
  // A base64 message/rfc822 is not parsed as a message: basic form, no envelope.
  pm = mime::parseMessage(crlf("Content-Type: message/rfc822\nContent-Transfer-Encoding: base64\n\nU3ViamVjdDogeA==\n"));
  EXPECT_EQ(imap::formatBodyStructure(pm, false, false), R"X(("MESSAGE" "RFC822" NIL NIL NIL "BASE64" 18))X");
  // Multi-valued parameters with quotes and backslashes are quoted correctly.
  pm = mime::parseMessage(crlf("Content-Type: application/x-y; a=\"q\\\"b\\\\\"\nContent-Language: fr\n\n"));
  EXPECT_EQ(imap::formatBodyStructure(pm, true, false),
            R"X(("APPLICATION" "X-Y" ("A" "q\"b\\") NIL NIL "7BIT" 0 NIL NIL "fr" NIL))X");
}

TEST(MessageStructure, StoredFormFormatsIdentically) {
  for (const auto& m : corpus()) {
    auto pm = mime::parseMessage(m.bytes);
    auto stored = mime::deserializeMessage(mime::serializeMessage(pm));
    ASSERT_TRUE(stored.has_value()) << m.name;
    for (bool ext : {false, true})
      for (bool utf8 : {false, true})
        EXPECT_EQ(imap::formatBodyStructure(*stored, ext, utf8), imap::formatBodyStructure(pm, ext, utf8)) << m.name;
    EXPECT_EQ(imap::formatEnvelope(stored->envelope, true), imap::formatEnvelope(pm.envelope, true)) << m.name;
  }
}

TEST(MessageStructure, BareLfMessage) {
  auto pm = parsed("lf-only");
  EXPECT_EQ(imap::formatBodyStructure(pm, true, false),
            R"X((("TEXT" "HTML" ("CHARSET" "US-ASCII") NIL NIL "7BIT" 17 1 NIL NIL NIL NIL))X"
            R"X(("IMAGE" "GIF" NIL "<x>" NIL "BASE64" 9 NIL NIL NIL NIL))X"
            R"X( "RELATED" ("BOUNDARY" "lf" "TYPE" "text/html") NIL NIL NIL))X");
}

TEST(MessageStructure, EncodingsAndMessageGlobal) {
  auto pm = parsed("encodings");
  EXPECT_EQ(imap::formatBodyStructure(pm, false, false),
            R"X((("TEXT" "PLAIN" ("CHARSET" "utf-8") NIL NIL "QUOTED-PRINTABLE" 55 3))X"
            R"X(("APPLICATION" "OCTET-STREAM" NIL NIL NIL "BASE64" 18))X"
            R"X(("MESSAGE" "GLOBAL" NIL NIL NIL "7BIT" 51 (NIL "=?utf-8?q?gr=C3=BC=C3=9Fe?=" NIL NIL NIL NIL NIL NIL NIL NIL))X"
            R"X( ("TEXT" "PLAIN" ("CHARSET" "US-ASCII") NIL NIL "7BIT" 11 1) 3))X"
            R"X(("TEXT" "PLAIN" ("CHARSET" "iso-8859-1") NIL NIL "8BIT" 4 1) "MIXED"))X");
}
