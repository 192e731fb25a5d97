#include "mime/encoded_words.h"

#include <gtest/gtest.h>

using namespace tern::mime;

// Examples from RFC 2047 section 8 and forms seen in the wild.
TEST(EncodedWords, Table) {
  struct Case {
    std::string in, out;
  } cases[] = {
      {"(=?ISO-8859-1?Q?a?=)", "(a)"},
      {"(=?ISO-8859-1?Q?a?= b)", "(a b)"},
      {"(=?ISO-8859-1?Q?a?= =?ISO-8859-1?Q?b?=)", "(ab)"},
      {"(=?ISO-8859-1?Q?a?=  =?ISO-8859-1?Q?b?=)", "(ab)"},
      {"(=?ISO-8859-1?Q?a?=\r\n    =?ISO-8859-1?Q?b?=)", "(ab)"},
      {"(=?ISO-8859-1?Q?a_b?=)", "(a b)"},
      {"(=?ISO-8859-1?Q?a?= =?ISO-8859-2?Q?_b?=)", "(a b)"},
      {"=?ISO-8859-1?Q?Andr=E9?= Pirard", "Andr\xC3\xA9 Pirard"},
      {"=?utf-8?b?w6lsw6hWZQ==?=", "\xC3\xA9l\xC3\xA8Ve"},
      {"=?UTF-8?B?w6k?=", "\xC3\xA9"},                          // missing padding
      {"=?utf-8?q?caf=C3=A9?=", "caf\xC3\xA9"},                 // lowercase letters
      {"=?iso-8859-1*fr?q?caf=E9?=", "caf\xC3\xA9"},            // RFC 2231 language
      {"=?Shift_JIS?B?k/qWew==?=", "\xE6\x97\xA5\xE6\x9C\xAC"},
      {"=?ISO-2022-JP?B?GyRCRnxLXBsoQg==?=", "\xE6\x97\xA5\xE6\x9C\xAC"},
      // A character split across two adjacent words of the same charset.
      {"=?UTF-8?B?4oI=?= =?UTF-8?B?rA==?=", "\xE2\x82\xAC"},
      {"pre=?utf-8?q?fix?=post", "prefixpost"},                // glued to text
      {"=?utf-8?x?bad?=", "=?utf-8?x?bad?="},                   // unknown encoding letter
      {"=?utf-8?q?unterminated", "=?utf-8?q?unterminated"},
      {"=??q?nocharset?=", "=??q?nocharset?="},
      {"a =?bogus-charset?q?x?= b", "a x b"},
      {"=?utf-8?q?not a word?= but =?utf-8?q?this=21?=", "not a word but this!"},
      {"no words at all", "no words at all"},
      {"raw 8-bit caf\xE9", "raw 8-bit caf\xC3\xA9"},          // invalid UTF-8: windows-1252
      {"raw utf-8 caf\xC3\xA9", "raw utf-8 caf\xC3\xA9"},
  };
  for (const auto& c : cases) EXPECT_EQ(decodeEncodedWords(c.in), c.out) << c.in;
}
