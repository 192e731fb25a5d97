// InputBuffer: reads appended after pending bytes, partial consumption, compaction and growth
// keep the pending bytes intact; clear and release.
#include "net/input_buffer.h"

#include <gtest/gtest.h>

#include <cstring>
#include <string>

namespace tern::net {
namespace {

void put(InputBuffer& b, std::string_view s, size_t room = 16) {
  char* p = b.prepare(std::max(room, s.size()));
  std::memcpy(p, s.data(), s.size());
  b.commit(s.size());
}

TEST(InputBuffer, AppendsAfterPendingAndConsumesPrefixes) {
  InputBuffer b;
  EXPECT_TRUE(b.empty());
  put(b, "EHLO a\r\nMA");
  EXPECT_EQ(b.pending(), "EHLO a\r\nMA");
  b.consumeUntil(b.pending().substr(8));  // a reader took the first line
  EXPECT_EQ(b.pending(), "MA");
  put(b, "IL FROM:<>\r\n");
  EXPECT_EQ(b.pending(), "MAIL FROM:<>\r\n");
  b.consumeUntil(b.pending().substr(b.pending().size()));
  EXPECT_TRUE(b.empty());
  EXPECT_EQ(b.pending(), "");
}

TEST(InputBuffer, EmptiedBufferReadsFromTheFrontWithoutGrowing) {
  InputBuffer b;
  put(b, std::string(100, 'x'), 100);
  const size_t cap = b.capacity();
  for (int i = 0; i < 50; ++i) {
    b.consumeUntil(b.pending().substr(b.pending().size()));
    put(b, std::string(100, static_cast<char>('a' + i % 26)), 100);
  }
  EXPECT_EQ(b.capacity(), cap);
  EXPECT_EQ(b.pending(), std::string(100, static_cast<char>('a' + 49 % 26)));
}

TEST(InputBuffer, CompactsOrGrowsKeepingPendingBytes) {
  InputBuffer b;
  put(b, "0123456789", 10);
  const size_t cap = b.capacity();
  b.consumeUntil(b.pending().substr(7));  // "789" pending at the end of the storage
  char* p = b.prepare(cap - 3);           // fits only once the pending bytes move to the front
  EXPECT_EQ(b.capacity(), cap);
  EXPECT_EQ(b.pending(), "789");
  std::memcpy(p, "AB", 2);
  b.commit(2);
  EXPECT_EQ(b.pending(), "789AB");
  p = b.prepare(cap * 3);                 // needs more storage
  EXPECT_GE(b.capacity(), 5 + cap * 3);
  EXPECT_EQ(b.pending(), "789AB");
  std::memcpy(p, "C", 1);
  b.commit(1);
  EXPECT_EQ(b.pending(), "789ABC");
}

TEST(InputBuffer, ClearKeepsStorageReleaseFreesIt) {
  InputBuffer b;
  put(b, "pipelined after STARTTLS");
  b.clear();
  EXPECT_TRUE(b.empty());
  EXPECT_GT(b.capacity(), 0u);
  put(b, "x");
  b.release();
  EXPECT_TRUE(b.empty());
  EXPECT_EQ(b.capacity(), 0u);
  put(b, "again");
  EXPECT_EQ(b.pending(), "again");
}

}  // namespace
}  // namespace tern::net
