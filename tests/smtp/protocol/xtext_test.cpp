// xtext (RFC 3461 section 4) and utf-8-addr-xtext (RFC 6533) encode/decode tests.
#include <gtest/gtest.h>

#include "smtp/protocol/xtext.h"

namespace tern::smtp {
namespace {

TEST(SmtpXtext, Decode) {
  struct Case {
    const char* in;
    std::optional<std::string> out;
  };
  const Case cases[] = {
      {"abc", "abc"},
      {"QQ314159+2BX", "QQ314159+X"},   // '+' is 0x2B
      {"e+3Dmc2@example.com", "e=mc2@example.com"},
      {"a+20b", "a b"},
      {"+2b", "+"},                     // lower-case hex accepted
      {"", ""},
      {"a+", std::nullopt},
      {"a+2", std::nullopt},
      {"a+G0", std::nullopt},
      {"a=b", std::nullopt},            // '=' must be encoded
      {"a b", std::nullopt},            // SP must be encoded
      {"a\x7f", std::nullopt},
      {"caf\xc3\xa9", std::nullopt},    // 8-bit must be encoded
  };
  for (const auto& c : cases) EXPECT_EQ(xtextDecode(c.in), c.out) << c.in;
}

TEST(SmtpXtext, EncodeRoundTrip) {
  EXPECT_EQ(xtextEncode("e=mc2@example.com"), "e+3Dmc2@example.com");
  EXPECT_EQ(xtextEncode("a+b c"), "a+2Bb+20c");
  EXPECT_EQ(xtextEncode(std::string("\0\xff", 2)), "+00+FF");
  std::string all;
  for (int i = 0; i < 256; ++i) all += static_cast<char>(i);
  EXPECT_EQ(xtextDecode(xtextEncode(all)), all);
}

TEST(SmtpXtext, Utf8AddrXtext) {
  EXPECT_EQ(utf8AddrXtextDecode("j\\x{F6}rg@example.org", false), "j\xc3\xb6rg@example.org");
  EXPECT_EQ(utf8AddrXtextDecode("\\x{1F600}", false), "\xf0\x9f\x98\x80");
  EXPECT_EQ(utf8AddrXtextDecode("j\xc3\xb6rg", true), "j\xc3\xb6rg");
  EXPECT_EQ(utf8AddrXtextDecode("j\xc3\xb6rg", false), std::nullopt);
  EXPECT_EQ(utf8AddrXtextDecode("\\x{D800}", false), std::nullopt);   // surrogate
  EXPECT_EQ(utf8AddrXtextDecode("\\x{110000}", false), std::nullopt);
  EXPECT_EQ(utf8AddrXtextDecode("\\x{}", false), std::nullopt);
  EXPECT_EQ(utf8AddrXtextDecode("\\x{41", false), std::nullopt);
  EXPECT_EQ(utf8AddrXtextDecode("\\y", false), std::nullopt);
  EXPECT_EQ(utf8AddrXtextDecode("a=b", false), std::nullopt);
}

TEST(SmtpXtext, Utf8Validation) {
  EXPECT_TRUE(isValidUtf8("plain"));
  EXPECT_TRUE(isValidUtf8("\xe2\x82\xac"));
  EXPECT_FALSE(isValidUtf8("\xe2\x82"));
  EXPECT_FALSE(isValidUtf8("\xc1\xbf"));           // overlong
  EXPECT_FALSE(isValidUtf8("\xe0\x80\xaf"));       // overlong
  EXPECT_FALSE(isValidUtf8("\xed\xbf\xbf"));       // surrogate
  EXPECT_FALSE(isValidUtf8("\xf5\x80\x80\x80"));   // above U+10FFFF
}

}  // namespace
}  // namespace tern::smtp
