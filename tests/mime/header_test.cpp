#include "mime/header.h"

#include <gtest/gtest.h>

using tern::mime::selectHeaderFields;
using tern::mime::splitHeader;

TEST(SplitHeader, FindsBlankLine) {
  auto s = splitHeader("A: 1\r\nB: 2\r\n\r\nbody\r\n");
  EXPECT_EQ(s.header, "A: 1\r\nB: 2\r\n\r\n");
  EXPECT_EQ(s.body, "body\r\n");
}

TEST(SplitHeader, NoBodyMeansAllHeader) {
  auto s = splitHeader("A: 1\r\nB: 2\r\n");
  EXPECT_EQ(s.header, "A: 1\r\nB: 2\r\n");
  EXPECT_EQ(s.body, "");
}

TEST(SplitHeader, EmptyHeader) {
  auto s = splitHeader("\r\nbody");
  EXPECT_EQ(s.header, "\r\n");
  EXPECT_EQ(s.body, "body");
}

TEST(SplitHeader, BareLfTolerated) {
  auto s = splitHeader("A: 1\nB: 2\n\nbody");
  EXPECT_EQ(s.header, "A: 1\nB: 2\n\n");
  EXPECT_EQ(s.body, "body");
}

TEST(SelectHeaderFields, PicksNamedFieldsWithFolding) {
  std::string h = "From: a@b\r\nSubject: hello\r\n  world\r\nTo: c@d\r\n\r\n";
  EXPECT_EQ(selectHeaderFields(h, {"subject", "TO"}, false), "Subject: hello\r\n  world\r\nTo: c@d\r\n\r\n");
  EXPECT_EQ(selectHeaderFields(h, {"subject", "TO"}, true), "From: a@b\r\n\r\n");
  EXPECT_EQ(selectHeaderFields(h, {"X-None"}, false), "\r\n");
}

TEST(SelectHeaderFields, NameMustMatchWholly) {
  std::string h = "Subject-X: no\r\nSubject : yes\r\n\r\n";
  EXPECT_EQ(selectHeaderFields(h, {"Subject"}, false), "Subject : yes\r\n\r\n");
}
