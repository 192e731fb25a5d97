// MessageIndex (the view's compact form: UID + interned flag set) and the MailboxView operations that
// large mailboxes lean on: shared flag sets, bulk expunge, \Recent bookkeeping and flag-set churn.
#include <gtest/gtest.h>

#include <algorithm>

#include "imap/server/mailbox_view.h"

using namespace tern;
using tern::imap::server::MailboxView;
using tern::imap::server::MessageIndex;

namespace {

store::Flags flags(uint32_t system, std::vector<std::string> keywords = {}) { return store::Flags{system, std::move(keywords)}; }

store::MailboxInfo info(store::Uid uidNext) {
  store::MailboxInfo i;
  i.id = 3;
  i.uidValidity = 9;
  i.uidNext = uidNext;
  i.highestModSeq = 100;
  return i;
}

}  // namespace

TEST(MessageIndex, InternsFlagSets) {
  MessageIndex index;
  index.reserve(10000);
  for (store::Uid u = 1; u <= 10000; ++u)
    index.append(u, u % 3 == 0 ? flags(store::kSeen) : u % 50 == 0 ? flags(0, {"$Important"}) : flags(0));
  ASSERT_EQ(index.size(), 10000u);
  EXPECT_EQ(index.flagSets().size(), 3u);  // none, \Seen, $Important
  EXPECT_EQ(index.flags(2), flags(store::kSeen));       // uid 3
  EXPECT_EQ(index.flags(49), flags(0, {"$Important"}));  // uid 50
  EXPECT_EQ(index.flags(0), flags(0));
  EXPECT_LT(index.memoryBytes(), 10000u * 8 + 4096);  // 8 bytes a message plus the sets
  EXPECT_EQ(index.lowerBound(5000), 4999u);
  EXPECT_EQ(index.lowerBound(20000), 10000u);
}

TEST(MessageIndex, KeywordOrderAndCaseMakeDistinctSets) {
  // Flags compare as stored (the view reports a change when the spelling or order differs).
  MessageIndex index;
  index.append(1, flags(0, {"a", "b"}));
  index.append(2, flags(0, {"b", "a"}));
  index.append(3, flags(0, {"a", "b"}));
  EXPECT_EQ(index.flagSets().size(), 3u);
  EXPECT_EQ(index.flags(1).keywords, (std::vector<std::string>{"b", "a"}));
  EXPECT_EQ(index.flags(2), index.flags(0));
}

TEST(MessageIndex, SetChurnIsCompacted) {
  MessageIndex index;
  index.append(1, flags(0));
  index.append(2, flags(store::kSeen, {"keep"}));
  for (int i = 0; i < 10000; ++i) index.setFlags(0, flags(0, {"k" + std::to_string(i)}));
  EXPECT_LE(index.flagSets().size(), 4097u);  // unused sets were dropped along the way
  EXPECT_EQ(index.flags(0), flags(0, {"k9999"}));
  EXPECT_EQ(index.flags(1), flags(store::kSeen, {"keep"}));
}

TEST(MailboxViewIndex, RecentAndUnseenFromIndex) {
  MessageIndex index;
  for (store::Uid u = 1; u <= 100; ++u) index.append(u * 2, u <= 40 ? flags(store::kSeen) : flags(0, {"$x"}));
  auto v = MailboxView::fromIndex(info(201), std::move(index), 181, false);  // uids 182..200 are recent: 10 messages
  EXPECT_EQ(v.exists(), 100u);
  EXPECT_EQ(v.recentCount(), 10u);
  EXPECT_TRUE(v.at(91).recent);
  EXPECT_FALSE(v.at(90).recent);
  EXPECT_EQ(v.firstUnseenMsn(), 41u);
  EXPECT_EQ(v.keywords(), (std::vector<std::string>{"$x"}));
  EXPECT_EQ(v.uidAt(100), 200u);
  EXPECT_EQ(v.msnOf(100), 50u);
  EXPECT_FALSE(v.msnOf(101));
}

TEST(MailboxViewIndex, BulkExpungeAnnouncesHighestFirst) {
  MessageIndex index;
  for (store::Uid u = 1; u <= 1000; ++u) index.append(u, flags(0));
  auto v = MailboxView::fromIndex(info(1001), std::move(index), 996, false);  // 996..1000 recent
  std::vector<store::Uid> gone;
  for (store::Uid u = 10; u <= 1000; u += 10) gone.push_back(u);
  std::string out = v.expunge(gone);
  EXPECT_EQ(v.exists(), 900u);
  EXPECT_EQ(v.recentCount(), 4u);  // 1000 was recent and is gone
  // 100 lines, highest MSN first: the first is 1000, the last 10.
  EXPECT_EQ(out.substr(0, 21), "* 1000 EXPUNGE\r\n* 990");
  EXPECT_EQ(out.substr(out.size() - 14), "* 10 EXPUNGE\r\n");
  EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 100);
  EXPECT_EQ(v.uidAt(10), 11u);
  EXPECT_EQ(v.flushPendingExpunges(), "");
}

TEST(MailboxViewIndex, HeldExpungesKeepNumbersUntilFlushed) {
  MessageIndex index;
  for (store::Uid u = 1; u <= 5; ++u) index.append(u, flags(0));
  auto v = MailboxView::fromIndex(info(6), std::move(index), 0, false);
  store::Changes ch;
  ch.mailbox = info(7);
  ch.mailbox.highestModSeq = 105;
  ch.expunged = {2, 4};
  ch.changed.push_back(store::MessageMeta{6, 105, flags(store::kSeen), {}, {}, 10, "b"});
  auto out = v.apply(ch, false, 0, false);
  EXPECT_EQ(out.untagged, "* 6 EXISTS\r\n");  // MSNs unchanged while expunges wait
  EXPECT_TRUE(v.at(2).expungePending);
  EXPECT_EQ(v.uidAt(6), 6u);
  EXPECT_EQ(v.flushPendingExpunges(), "* 4 EXPUNGE\r\n* 2 EXPUNGE\r\n");
  EXPECT_EQ(v.exists(), 4u);
  EXPECT_EQ(v.seenModSeq(), 105u);
}

TEST(MessageIndex, KeywordlessSetsStayExactThroughCompaction) {
  // Keyword-less sets take a short path (no key formatted); it must agree with the general one.
  MessageIndex index;
  index.append(1, flags(store::kSeen | store::kFlagged));
  index.append(2, flags(store::kSeen));
  index.append(3, flags(1u << 20));  // beyond the short path's table
  for (int i = 0; i < 6000; ++i) index.setFlags(1, flags(0, {"k" + std::to_string(i)}));  // forces compaction
  index.setFlags(1, flags(store::kSeen));
  index.append(4, flags(store::kSeen | store::kFlagged));
  index.append(5, flags(1u << 20));
  EXPECT_EQ(index.flags(0), flags(store::kSeen | store::kFlagged));
  EXPECT_EQ(index.flags(1), flags(store::kSeen));
  EXPECT_EQ(index.flags(2), flags(1u << 20));
  EXPECT_EQ(index.flags(3), flags(store::kSeen | store::kFlagged));
  EXPECT_EQ(index.flags(4), flags(1u << 20));
  EXPECT_EQ(index[0].word & MessageIndex::kSetMask, index[3].word & MessageIndex::kSetMask);  // one shared set
  EXPECT_EQ(index[2].word & MessageIndex::kSetMask, index[4].word & MessageIndex::kSetMask);
}
