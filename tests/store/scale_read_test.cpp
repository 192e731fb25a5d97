// The read paths that large mailboxes and many sessions depend on: scanFlags (SELECT's narrow read),
// getMessages over dense UID ranges, and claimRecent's read-only fast path.
#include <gtest/gtest.h>

#include "store_fixture.h"

namespace tern::store::test {
namespace {

TEST_F(StoreTest, ScanFlagsMatchesListMessages) {
  ASSERT_TRUE(store_->append(alice_, inbox_,
                             {newMessage(1, kSeen), newMessage(2, 0, {"$Work", "Later"}), newMessage(3, kFlagged | kDeleted)})
                  .ok());
  ASSERT_TRUE(store_->expunge(alice_, inbox_).ok());  // uid 3 gone
  ASSERT_TRUE(store_->append(alice_, inbox_, {newMessage(4, kDraft, {"x"})}).ok());
  std::vector<std::pair<Uid, Flags>> seen;
  auto info = store_->scanFlags(alice_, inbox_, [&](Uid uid, const Flags& f) { seen.emplace_back(uid, f); });
  ASSERT_TRUE(info.ok()) << info.error().detail;
  auto listed = store_->listMessages(alice_, inbox_);
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(seen.size(), listed->size());
  for (size_t i = 0; i < seen.size(); ++i) {
    EXPECT_EQ(seen[i].first, (*listed)[i].uid);
    EXPECT_EQ(seen[i].second, (*listed)[i].flags);
  }
  EXPECT_EQ(seen[1].second.keywords, (std::vector<std::string>{"$Work", "Later"}));
  EXPECT_EQ(seen[2].first, 4u);
  auto mb = store_->getMailbox(alice_, inbox_);
  EXPECT_EQ(info->uidNext, mb->uidNext);
  EXPECT_EQ(info->highestModSeq, mb->highestModSeq);
  EXPECT_EQ(info->uidValidity, mb->uidValidity);
  // Another account's mailbox is not found.
  EXPECT_EQ(store_->scanFlags(bob_, inbox_, [](Uid, const Flags&) {}).error().code, Errc::NotFound);
}

TEST_F(StoreTest, GetMessagesDenseAndSparseAgree) {
  std::vector<NewMessage> batch;
  for (int i = 0; i < 200; ++i) batch.push_back(newMessage(100 + i, i % 2 ? static_cast<uint32_t>(kSeen) : 0u));
  ASSERT_TRUE(store_->append(alice_, inbox_, batch).ok());
  // Expunge every 7th so the dense range read has holes to skip.
  std::vector<Uid> gone;
  for (Uid u = 7; u <= 200; u += 7) gone.push_back(u);
  ASSERT_TRUE(store_->storeFlags(alice_, inbox_, gone, FlagOp::Add, Flags{kDeleted, {}}).ok());
  ASSERT_TRUE(store_->expunge(alice_, inbox_).ok());

  std::vector<Uid> dense;  // 20..120 minus a few: the range path
  for (Uid u = 20; u <= 120; ++u)
    if (u % 10 != 3) dense.push_back(u);
  auto got = store_->getMessages(alice_, inbox_, dense);
  ASSERT_TRUE(got.ok());
  std::vector<Uid> want;
  for (Uid u : dense)
    if (u % 7 != 0) want.push_back(u);
  ASSERT_EQ(got->size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ((*got)[i].uid, want[i]);
    EXPECT_EQ((*got)[i].size, 100u + want[i] - 1);
  }
  // Sparse (one lookup per UID) and unsorted, with duplicates and absent UIDs.
  auto sparse = store_->getMessages(alice_, inbox_, {199, 5, 5, 7, 150, 1000});
  ASSERT_TRUE(sparse.ok());
  ASSERT_EQ(sparse->size(), 3u);
  EXPECT_EQ((*sparse)[0].uid, 5u);
  EXPECT_EQ((*sparse)[1].uid, 150u);
  EXPECT_EQ((*sparse)[2].uid, 199u);
  // A dense list ending in UIDs past the last message.
  std::vector<Uid> tail;
  for (Uid u = 190; u <= 230; ++u) tail.push_back(u);
  auto t = store_->getMessages(alice_, inbox_, tail);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->size(), 10u);  // 190..200 minus 196
}

TEST_F(StoreTest, ClaimRecentWithNothingNewDoesNotWrite) {
  ASSERT_TRUE(store_->append(alice_, inbox_, {newMessage(1), newMessage(2)}).ok());
  EXPECT_EQ(*store_->claimRecent(alice_, inbox_), 1u);
  // That claim's watermark is written behind; a write queued after it returns once it has landed.
  ASSERT_TRUE(store_->setSubscribed(alice_, "INBOX", true).ok());
  const uint64_t commits = store_->commitCount();
  for (int i = 0; i < 5; ++i) EXPECT_EQ(*store_->claimRecent(alice_, inbox_), 3u);
  EXPECT_EQ(store_->commitCount(), commits);  // the watermark was already at UIDNEXT
  ASSERT_TRUE(store_->append(alice_, inbox_, {newMessage(3)}).ok());
  EXPECT_EQ(*store_->claimRecent(alice_, inbox_), 3u);  // uid 3 is recent for this claimer only
  EXPECT_EQ(*store_->claimRecent(alice_, inbox_), 4u);
  EXPECT_EQ(store_->claimRecent(bob_, inbox_).error().code, Errc::NotFound);
}

}  // namespace
}  // namespace tern::store::test
