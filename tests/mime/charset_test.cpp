#include "mime/charset.h"

#include <gtest/gtest.h>

using namespace tern::mime;

TEST(Charset, ConvertsCommonCharsets) {
  struct Case {
    const char* charset;
    std::string in;
    std::string out;
  } cases[] = {
      {"ISO-8859-1", "caf\xE9", "caf\xC3\xA9"},
      {"latin1", "\xFC", "\xC3\xBC"},
      {"iso-8859-2", "\xB1", "\xC4\x85"},          // a with ogonek
      {"windows-1252", "\x80", "\xE2\x82\xAC"},     // euro sign
      {"Shift_JIS", "\x93\xFA\x96\x7B", "\xE6\x97\xA5\xE6\x9C\xAC"},  // 日本
      {"shift-jis", "\x93\xFA", "\xE6\x97\xA5"},
      {"ISO-2022-JP", "\x1B$BF|\x1B(B", "\xE6\x97\xA5"},
      {"koi8-r", "\xF0", "\xD0\x9F"},               // П
      {"utf-8", "\xE2\x82\xAC", "\xE2\x82\xAC"},
      {"us-ascii", "plain", "plain"},
      {"UTF-8*en", "ok", "ok"},                     // RFC 2231 language suffix
  };
  for (const auto& c : cases) EXPECT_EQ(toUtf8(c.in, c.charset), c.out) << c.charset;
}

TEST(Charset, InvalidBytesBecomeReplacementCharacter) {
  EXPECT_EQ(toUtf8("a\xFF" "b", "utf-8"), "a\xEF\xBF\xBD" "b");
  EXPECT_EQ(toUtf8("\x93", "shift_jis"), "\xEF\xBF\xBD");           // truncated double-byte
  EXPECT_EQ(toUtf8("a\x81", "windows-1252"), "a\xEF\xBF\xBD");       // undefined in cp1252
  EXPECT_EQ(toUtf8("x\xC3\xA9", "no-such-charset"), "x\xC3\xA9");    // unknown: read as UTF-8
  EXPECT_EQ(toUtf8("x\xE9", "no-such-charset"), "x\xEF\xBF\xBD");
}

TEST(Charset, Utf8Validation) {
  EXPECT_TRUE(isValidUtf8("h\xC3\xA9llo \xF0\x9F\x98\x80"));
  EXPECT_FALSE(isValidUtf8("\xC0\xAF"));          // overlong
  EXPECT_FALSE(isValidUtf8("\xED\xA0\x80"));      // surrogate
  EXPECT_FALSE(isValidUtf8("\xF4\x90\x80\x80"));  // above U+10FFFF
  EXPECT_FALSE(isValidUtf8("\xE2\x82"));          // truncated
  EXPECT_EQ(sanitizeUtf8("a\xE2\x82"), "a\xEF\xBF\xBD\xEF\xBF\xBD");
  EXPECT_TRUE(isKnownCharset("ISO-8859-15"));
  EXPECT_FALSE(isKnownCharset("x-nonsense-42"));
}
