#include "mime/header_fields.h"

#include <gtest/gtest.h>

using namespace tern::mime;

TEST(HeaderFields, OffsetsAndUnfolding) {
  std::string h = "From: a@b\r\nSubject: hello\r\n  world\r\nX-Empty:\r\n\r\nbody";
  HeaderBlock b = parseHeaderFields(h);
  ASSERT_EQ(b.fields.size(), 3u);
  EXPECT_TRUE(b.hasBody);
  EXPECT_EQ(b.size, h.find("body"));
  EXPECT_EQ(b.fields[0].name, "From");
  EXPECT_EQ(b.fields[0].offset, 0u);
  EXPECT_EQ(b.fields[0].size, 11u);
  EXPECT_EQ(b.fields[1].raw, " hello\r\n  world");
  EXPECT_EQ(b.fields[1].value, "hello  world");
  EXPECT_EQ(b.fields[1].offset, 11u);
  EXPECT_EQ(h.substr(b.fields[1].offset, b.fields[1].size), "Subject: hello\r\n  world\r\n");
  EXPECT_EQ(b.fields[2].value, "");
  ASSERT_NE(b.value("SUBJECT"), nullptr);
  EXPECT_EQ(*b.value("subject"), "hello  world");
  EXPECT_EQ(b.find("missing"), nullptr);
}

TEST(HeaderFields, ObsoleteAndBrokenSyntax) {
  // Space before the colon (obs-optional), bare LF, a line without a colon, no final empty line.
  std::string h = "Subject : obs\nGarbage line\n continued garbage\nTo: x@y";
  HeaderBlock b = parseHeaderFields(h);
  ASSERT_EQ(b.fields.size(), 2u);
  EXPECT_EQ(b.fields[0].name, "Subject");
  EXPECT_EQ(b.fields[0].value, "obs");
  EXPECT_EQ(b.fields[1].value, "x@y");
  EXPECT_FALSE(b.hasBody);
  EXPECT_EQ(b.size, h.size());
}

TEST(HeaderFields, EmptyHeader) {
  HeaderBlock b = parseHeaderFields("\r\nbody");
  EXPECT_TRUE(b.fields.empty());
  EXPECT_TRUE(b.hasBody);
  EXPECT_EQ(b.size, 2u);
}

TEST(HeaderFields, LimitsBoundWork) {
  std::string h;
  for (int i = 0; i < 50; ++i) h += "X-" + std::to_string(i) + ": v\r\n";
  h += "\r\n";
  HeaderLimits lim;
  lim.maxFields = 10;
  lim.maxValueLength = 4;
  HeaderBlock b = parseHeaderFields(h, lim);
  EXPECT_EQ(b.fields.size(), 10u);
  EXPECT_TRUE(b.truncated);
  EXPECT_EQ(b.size, h.size());  // the header still ends where it ends

  std::string big = "Subject: " + std::string(1 << 20, 'x') + "\r\n\r\n";
  HeaderBlock c = parseHeaderFields(big, lim);
  ASSERT_EQ(c.fields.size(), 1u);
  EXPECT_EQ(c.fields[0].value, "xxxx");
  EXPECT_EQ(c.fields[0].size, big.size() - 2);
}

TEST(HeaderFields, StopLine) {
  std::string h = "Content-Type: text/plain\r\n--b\r\nrest";
  HeaderBlock b = parseHeaderFields(h, {}, [](std::string_view l) { return l == "--b"; });
  EXPECT_EQ(b.fields.size(), 1u);
  EXPECT_EQ(b.size, h.find("--b"));
  EXPECT_FALSE(b.hasBody);
}
