#include "mime/params.h"

#include <gtest/gtest.h>

using namespace tern::mime;

namespace {
std::string param(const Params& ps, std::string_view name) {
  const std::string* v = findParam(ps, name);
  return v ? *v : "<absent>";
}
}  // namespace

TEST(ContentType, Basic) {
  ContentType ct = parseContentType("Text/HTML; Charset=\"UTF-8\"; format=flowed (a comment)");
  EXPECT_TRUE(ct.valid);
  EXPECT_EQ(ct.type, "text");
  EXPECT_EQ(ct.subtype, "html");
  EXPECT_EQ(param(ct.params, "charset"), "UTF-8");
  EXPECT_EQ(param(ct.params, "format"), "flowed");
}

TEST(ContentType, Rfc2045Example) {
  ContentType ct = parseContentType("text/plain; charset=us-ascii (Plain text)");
  EXPECT_EQ(param(ct.params, "charset"), "us-ascii");
  ct = parseContentType("(comment) multipart / mixed ; boundary = \"simple \\\"boundary\\\"\"");
  EXPECT_EQ(ct.type, "multipart");
  EXPECT_EQ(ct.subtype, "mixed");
  EXPECT_EQ(param(ct.params, "boundary"), "simple \"boundary\"");
}

TEST(ContentType, Garbage) {
  EXPECT_FALSE(parseContentType("").valid);
  EXPECT_FALSE(parseContentType("text").valid);
  EXPECT_FALSE(parseContentType("/plain").valid);
  EXPECT_FALSE(parseContentType("text/").valid);
  ContentType ct = parseContentType("text/plain; ; =x; novalue; name=unquoted file.txt; charset=utf-8");
  EXPECT_TRUE(ct.valid);
  EXPECT_EQ(param(ct.params, "name"), "unquoted file.txt");
  EXPECT_EQ(param(ct.params, "charset"), "utf-8");
}

// RFC 2231 sections 3-5.
TEST(Params, Rfc2231) {
  Params ps = parseParams("; URL*0=\"ftp://\"; URL*1=\"cs.utk.edu/pub/moore/bulk-mailer/bulk-mailer.tar\"");
  EXPECT_EQ(param(ps, "url"), "ftp://cs.utk.edu/pub/moore/bulk-mailer/bulk-mailer.tar");
  ps = parseParams("; title*=us-ascii'en-us'This%20is%20%2A%2A%2Afun%2A%2A%2A");
  EXPECT_EQ(param(ps, "title"), "This is ***fun***");
  ASSERT_EQ(ps.size(), 1u);
  EXPECT_EQ(ps[0].language, "en-us");
  ps = parseParams(
      "; title*0*=us-ascii'en'This%20is%20even%20more%20; title*1*=%2A%2A%2Afun%2A%2A%2A%20; title*2=\"isn't it!\"");
  EXPECT_EQ(param(ps, "title"), "This is even more ***fun*** isn't it!");
  // Charsets, out-of-order sections, and the extended form winning over a plain fallback.
  ps = parseParams("; filename=\"fallback.txt\"; filename*1*=%20rates.pdf; filename*0*=utf-8''%E2%82%AC");
  EXPECT_EQ(param(ps, "filename"), "\xE2\x82\xAC rates.pdf");
  ps = parseParams("; name*=iso-8859-1''caf%E9");
  EXPECT_EQ(param(ps, "name"), "caf\xC3\xA9");
  ps = parseParams("; name*=''no-charset");
  EXPECT_EQ(param(ps, "name"), "no-charset");
  ps = parseParams("; name*0=a; name*2=c");  // gap: stop there
  EXPECT_EQ(param(ps, "name"), "a");
}

TEST(Params, EncodedWordsInNamesAndRawBoundary) {
  Params ps = parseParams("; name=\"=?UTF-8?B?w6lsw6luLnBuZw==?=\"; boundary=\"=?x?q?y?=\"");
  EXPECT_EQ(param(ps, "name"), "\xC3\xA9l\xC3\xA9n.png");
  EXPECT_EQ(param(ps, "boundary"), "=?x?q?y?=");
}

TEST(ContentDisposition, Parse) {
  ContentDisposition d = parseContentDisposition("Attachment; filename=\"a b.txt\"; size=12");
  EXPECT_EQ(d.type, "attachment");
  EXPECT_EQ(param(d.params, "filename"), "a b.txt");
  EXPECT_EQ(param(d.params, "size"), "12");
  EXPECT_EQ(parseContentDisposition("").type, "");
}

// Found by fuzz_mime: a comment ending in a backslash at the end of the value.
TEST(ContentType, TrailingBackslashInComment) {
  for (const char* v : {"text/plain; (\\", "text/plain (\\", "(\\", "text/plain; a=\"\\", "text/plain; a=b (c\\"}) {
    ContentType ct = parseContentType(v);
    EXPECT_EQ(ct.valid, std::string_view(v).starts_with("text/plain")) << v;
  }
}
