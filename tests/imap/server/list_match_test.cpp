#include "imap/server/list_match.h"

#include <gtest/gtest.h>

using tern::imap::server::listCanonicalPattern;
using tern::imap::server::listMatches;

TEST(ListMatch, Table) {
  struct Case {
    const char* pattern;
    const char* name;
    bool match;
  } cases[] = {
      {"*", "INBOX", true},          {"*", "a/b/c", true},          {"%", "a", true},
      {"%", "a/b", false},           {"a/%", "a/b", true},          {"a/%", "a/b/c", false},
      {"a/*", "a/b/c", true},        {"a*", "a", true},             {"a*", "abc/d", true},
      {"a%", "abc/d", false},        {"inbox", "INBOX", true},      {"InBoX/%", "INBOX/x", true},
      {"inbox", "inbox2", false},    {"Sent", "sent", false},       {"%/%", "a/b", true},
      {"%/%", "a", false},           {"*b", "a/b", true},           {"a%c", "abc", true},
      {"a%c", "ab/c", false},        {"", "", true},                {"x", "", false},
      {"**%%", "deep/er/name", true}, {"Arch%/20%", "Archive/2024", true},
  };
  for (const auto& c : cases) EXPECT_EQ(listMatches(c.pattern, c.name), c.match) << c.pattern << " ~ " << c.name;
}

TEST(ListMatch, LongPatternIsLinearEnough) {
  std::string pattern(2000, '%');
  std::string name(2000, 'a');
  EXPECT_TRUE(listMatches(pattern, name));
  EXPECT_FALSE(listMatches(pattern + "b", name));
}

TEST(ListMatch, CanonicalPatternConcatenates) {
  EXPECT_EQ(listCanonicalPattern("", "%"), "%");
  EXPECT_EQ(listCanonicalPattern("Archive/", "%"), "Archive/%");
}
