#include "util/strings.h"

#include <gtest/gtest.h>

#include "util/log.h"

using namespace tern;

TEST(Base64, Rfc4648Vectors) {
  const std::pair<const char*, const char*> cases[] = {{"", ""},         {"f", "Zg=="},         {"fo", "Zm8="},
                                                        {"foo", "Zm9v"}, {"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="},
                                                        {"foobar", "Zm9vYmFy"}};
  for (auto& [plain, encoded] : cases) {
    EXPECT_EQ(base64Encode(plain), encoded);
    EXPECT_EQ(base64Decode(encoded), std::string(plain));
  }
}

TEST(Base64, RejectsMalformed) {
  for (const char* bad : {"Zg=", "Zg", "Z===", "Zm9v!A==", "Zh==", "Zm9=", "Zm 9v", "=Zm9"})
    EXPECT_FALSE(base64Decode(bad)) << bad;
}

TEST(Utf8, EncodesEveryLength) {
  std::string out;
  appendUtf8(out, 'A');
  appendUtf8(out, 0xE9);
  appendUtf8(out, 0x20AC);
  appendUtf8(out, 0x1F600);
  EXPECT_EQ(out, "A\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80");
}

TEST(ParseUnsigned, RangeChecked) {
  EXPECT_EQ(parseUnsigned("0"), 0u);
  EXPECT_EQ(parseUnsigned("4294967295", 4294967295u), 4294967295u);
  EXPECT_FALSE(parseUnsigned("4294967296", 4294967295u));
  EXPECT_FALSE(parseUnsigned("18446744073709551616"));
  EXPECT_FALSE(parseUnsigned(""));
  EXPECT_FALSE(parseUnsigned("-1"));
  EXPECT_FALSE(parseUnsigned("1 "));
}

TEST(CaseInsensitive, AsciiOnly) {
  EXPECT_TRUE(iequals("INBOX", "inBox"));
  EXPECT_FALSE(iequals("INBOX", "INBOX2"));
  EXPECT_TRUE(istartsWith("Subject: x", "subject:"));
}

TEST(FindCrOrLf, FirstOfEitherAnywhere) {
  EXPECT_EQ(findCrOrLf("abc\r\ndef"), 3u);
  EXPECT_EQ(findCrOrLf("abc\ndef\r"), 3u);   // a bare LF before any CR
  EXPECT_EQ(findCrOrLf("ab\rc\nd"), 2u);      // a bare CR before the LF
  EXPECT_EQ(findCrOrLf("\n"), 0u);
  EXPECT_EQ(findCrOrLf("abc\r"), 3u);         // CR with no LF after it
  EXPECT_EQ(findCrOrLf("abc"), std::string_view::npos);
  EXPECT_EQ(findCrOrLf(""), std::string_view::npos);
  std::string nul("a\0b\r", 4);              // NUL is ordinary data
  EXPECT_EQ(findCrOrLf(nul), 3u);
}

TEST(LogEscape, ControlBytesAndLengthCap) {
  EXPECT_EQ(log::escape("a\r\nb\\"), "a\\x0d\\x0ab\\x5c");
  EXPECT_EQ(log::escape(std::string(300, 'x'), 4), "xxxx...");
}
