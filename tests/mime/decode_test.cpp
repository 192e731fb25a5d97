#include "mime/decode.h"

#include <gtest/gtest.h>

using namespace tern::mime;

TEST(Decode, Base64Lenient) {
  EXPECT_EQ(decodeBase64("aGVsbG8="), "hello");
  EXPECT_EQ(decodeBase64("aGVs\r\nbG8gd29y\r\nbGQ="), "hello world");
  EXPECT_EQ(decodeBase64("aGVsbG8"), "hello");       // missing padding
  EXPECT_EQ(decodeBase64("aG!VsbG8=junk"), "hello");  // junk skipped, stops at '='
  EXPECT_EQ(decodeBase64(""), "");
}

TEST(Decode, QuotedPrintable) {
  struct Case {
    std::string in, out;
  } cases[] = {
      {"Caf=E9", "Caf\xE9"},
      {"soft=\r\nbreak", "softbreak"},
      {"soft=\nbreak", "softbreak"},
      {"soft=  \r\nbreak", "softbreak"},
      {"lower =e9", "lower \xE9"},
      {"bad =ZZ and =", "bad =ZZ and "},
      {"trailing space \r\nkept", "trailing space \r\nkept"},
      {"a=3D=3Db", "a==b"},
  };
  for (const auto& c : cases) EXPECT_EQ(decodeQuotedPrintable(c.in), c.out) << c.in;
  EXPECT_EQ(decodeQuotedPrintable("a_b=5F", true), "a b_");
}

TEST(Decode, BodyByEncoding) {
  EXPECT_EQ(decodeBody("aGk=", " BASE64 "), "hi");
  EXPECT_EQ(decodeBody("a=3Db", "Quoted-Printable"), "a=b");
  EXPECT_EQ(decodeBody("raw=3D", ""), "raw=3D");
  EXPECT_EQ(decodeBody("raw", "8bit"), "raw");
  EXPECT_EQ(decodeBody("raw", "binary"), "raw");
  EXPECT_EQ(decodeBody("raw", "x-uuencode"), std::nullopt);
  EXPECT_EQ(parseTransferEncoding("x-uuencode"), TransferEncoding::Unknown);
}
