// Modified UTF-7 round trips (RFC 3501 5.1.3 examples) and strict rejection of non-canonical forms;
// strict UTF-8 validation.
#include <gtest/gtest.h>

#include "imap/protocol/mutf7.h"

namespace tern::imap {
namespace {

struct Pair {
  const char* mutf7;
  const char* utf8;
};

TEST(Mutf7Test, RoundTrips) {
  const Pair cases[] = {
      // RFC 3501 5.1.3: "~peter/mail/台北/日本語"
      {"~peter/mail/&U,BTFw-/&ZeVnLIqe-", "~peter/mail/\xe5\x8f\xb0\xe5\x8c\x97/\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e"},
      {"INBOX", "INBOX"},
      {"", ""},
      {"Tom &- Jerry", "Tom & Jerry"},
      {"&-&-", "&&"},
      // RFC 2152-style examples adapted: "Entw\xc3\xbcrfe" (Entwürfe, German Drafts)
      {"Entw&APw-rfe", "Entw\xc3\xbcrfe"},
      {"&AMk-l&AOk-ments envoy&AOk-s", "\xc3\x89l\xc3\xa9ments envoy\xc3\xa9s"},
      // Non-BMP: U+1F600 as a surrogate pair D83D DE00
      {"&2D3eAA-", "\xf0\x9f\x98\x80"},
      // U+007F (DEL) is not printable and must be encoded
      {"&AH8-", "\x7f"},
      {"&BBgEPQQxBD4EOgRB-", "\xd0\x98\xd0\xbd\xd0\xb1\xd0\xbe\xd0\xba\xd1\x81"},  // Входящие? (Инбокс)
  };
  for (const auto& c : cases) {
    EXPECT_EQ(mutf7Encode(c.utf8), c.mutf7) << c.utf8;
    auto d = mutf7Decode(c.mutf7);
    ASSERT_TRUE(d.has_value()) << c.mutf7;
    EXPECT_EQ(*d, c.utf8) << c.mutf7;
  }
}

TEST(Mutf7Test, RejectsInvalidOrNonCanonical) {
  const char* bad[] = {
      "&U,BTFw",           // no shift back to ASCII
      "&U,BTF-",           // leftover bits not a whole UTF-16 unit
      "&U,BTFx-",          // non-zero padding bits
      "&AGE-",             // 'a' must represent itself
      "&ZeVnLIqe-&U,BTFw-", // null shift "-&"
      "&-",                // fine on its own, see below
      "&U/BTFw-",          // '/' is not modified base64
      "&2D0-",             // unpaired high surrogate
      "&3gA-",             // lone low surrogate
      "a\x80z",            // raw 8-bit
      "tab\there",         // raw control
      "&&-",               // '&' inside base64
      "&",                 // truncated
      "&AAA-",             // NUL
  };
  for (const char* b : bad) {
    if (std::string_view(b) == "&-") {
      EXPECT_EQ(mutf7Decode(b), std::optional<std::string>("&"));
      continue;
    }
    EXPECT_FALSE(mutf7Decode(b).has_value()) << b;
  }
}

TEST(Mutf7Test, Utf8Validation) {
  EXPECT_TRUE(isValidUtf8(""));
  EXPECT_TRUE(isValidUtf8("plain"));
  EXPECT_TRUE(isValidUtf8("\xc3\xa9\xe6\x97\xa5\xf0\x9f\x98\x80"));
  EXPECT_TRUE(isValidUtf8("\xf4\x8f\xbf\xbf"));   // U+10FFFF
  EXPECT_FALSE(isValidUtf8("\xf4\x90\x80\x80"));  // U+110000
  EXPECT_FALSE(isValidUtf8("\xc0\xaf"));          // overlong '/'
  EXPECT_FALSE(isValidUtf8("\xe0\x80\xaf"));      // overlong
  EXPECT_FALSE(isValidUtf8("\xed\xa0\x80"));      // surrogate D800
  EXPECT_FALSE(isValidUtf8("\xc3"));              // truncated
  EXPECT_FALSE(isValidUtf8("\x80"));              // lone continuation
  EXPECT_FALSE(isValidUtf8("\xff"));
}

}  // namespace
}  // namespace tern::imap
