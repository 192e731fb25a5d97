// Messages: append, list/get, changesSince, storeFlags, expunge, copy/move, \Recent, STATUS counters.
#include <gtest/gtest.h>

#include <random>

#include "store_fixture.h"

namespace tern::store::test {
namespace {

TEST_F(StoreTest, AppendAssignsUidsAndModSeqs) {
  auto before = store_->getMailbox(alice_, inbox_);
  ASSERT_TRUE(before.ok());
  NewMessage m = newMessage(42, kSeen | kFlagged, {"$Label1", "Work"});
  m.blobId = std::string(64, 'b');
  auto r = store_->append(alice_, inbox_, {m, newMessage(7)});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->uidValidity, before->uidValidity);
  EXPECT_EQ(r->uids, (std::vector<Uid>{1, 2}));
  auto msgs = store_->listMessages(alice_, inbox_);
  ASSERT_EQ(msgs->size(), 2u);
  const MessageMeta& a = (*msgs)[0];
  EXPECT_EQ(a.uid, 1u);
  EXPECT_EQ(a.flags.system, kSeen | kFlagged);
  EXPECT_EQ(a.flags.keywords, (std::vector<std::string>{"$Label1", "Work"}));
  EXPECT_EQ(a.internalDate, (DateTime{1700000000, 120}));
  EXPECT_GT(a.saveDate.unixSeconds, 1700000000);
  EXPECT_EQ(a.size, 42u);
  EXPECT_EQ(a.blobId, std::string(64, 'b'));
  EXPECT_GT(a.modSeq, before->highestModSeq);
  EXPECT_GT((*msgs)[1].modSeq, a.modSeq);
  auto after = store_->getMailbox(alice_, inbox_);
  EXPECT_EQ(after->uidNext, 3u);
  EXPECT_EQ(after->highestModSeq, (*msgs)[1].modSeq);

  auto some = store_->getMessages(alice_, inbox_, {2, 99, 1, 2});
  ASSERT_TRUE(some.ok());
  ASSERT_EQ(some->size(), 2u);
  EXPECT_EQ((*some)[0].uid, 1u);
  EXPECT_EQ((*some)[1].uid, 2u);

  EXPECT_EQ(store_->append(alice_, inbox_, {newMessage(1, 0, {"bad keyword"})}).error().code, Errc::Invalid);
  EXPECT_EQ(store_->append(alice_, inbox_, {newMessage(1, 0, {"\\Seen"})}).error().code, Errc::Invalid);
  EXPECT_EQ(store_->append(alice_, inbox_, {}).error().code, Errc::Invalid);
  EXPECT_EQ(store_->getMailbox(alice_, inbox_)->uidNext, 3u);  // failed appends allocate nothing
}

TEST_F(StoreTest, StoreFlagsOps) {
  auto uids = appendN(inbox_, 3);
  ASSERT_EQ(uids.size(), 3u);
  auto hms0 = store_->getMailbox(alice_, inbox_)->highestModSeq;

  // Add \Seen to 1..3, where 2 already has it through a first store.
  auto r0 = store_->storeFlags(alice_, inbox_, {2}, FlagOp::Add, Flags{kSeen, {}});
  ASSERT_TRUE(r0.ok());
  ASSERT_EQ(r0->updated.size(), 1u);
  EXPECT_GT(r0->updated[0].modSeq, hms0);
  auto r1 = store_->storeFlags(alice_, inbox_, uids, FlagOp::Add, Flags{kSeen, {}});
  ASSERT_TRUE(r1.ok());
  ASSERT_EQ(r1->updated.size(), 2u);  // uid 2 did not change and is not touched
  EXPECT_EQ(r1->updated[0].uid, 1u);
  EXPECT_EQ(r1->updated[1].uid, 3u);
  EXPECT_LT(r1->updated[0].modSeq, r1->updated[1].modSeq);
  EXPECT_GT(r1->updated[0].modSeq, r0->updated[0].modSeq);
  EXPECT_EQ(store_->getMessages(alice_, inbox_, {2})->at(0).modSeq, r0->updated[0].modSeq);

  // Keywords: case-insensitive, first-seen spelling kept.
  auto r2 = store_->storeFlags(alice_, inbox_, {1}, FlagOp::Add, Flags{0, {"$Junk", "Todo"}});
  ASSERT_TRUE(r2.ok());
  ASSERT_EQ(r2->updated.size(), 1u);
  EXPECT_EQ(r2->updated[0].flags.keywords, (std::vector<std::string>{"$Junk", "Todo"}));
  auto r3 = store_->storeFlags(alice_, inbox_, {1, 2}, FlagOp::Add, Flags{0, {"$JUNK", "todo"}});
  ASSERT_TRUE(r3.ok());
  ASSERT_EQ(r3->updated.size(), 1u);  // only uid 2 changes
  EXPECT_EQ(r3->updated[0].uid, 2u);
  EXPECT_EQ(r3->updated[0].flags.keywords, (std::vector<std::string>{"$Junk", "Todo"}));

  // Remove.
  auto r4 = store_->storeFlags(alice_, inbox_, uids, FlagOp::Remove, Flags{kSeen, {"TODO"}});
  ASSERT_TRUE(r4.ok());
  ASSERT_EQ(r4->updated.size(), 3u);
  for (const auto& u : r4->updated) {
    EXPECT_EQ(u.flags.system, 0u);
    EXPECT_EQ(u.flags.keywords, (u.uid == 3 ? std::vector<std::string>{} : std::vector<std::string>{"$Junk"}));
  }

  // Replace.
  auto r5 = store_->storeFlags(alice_, inbox_, uids, FlagOp::Replace, Flags{kAnswered, {"$junk"}});
  ASSERT_TRUE(r5.ok());
  ASSERT_EQ(r5->updated.size(), 3u);
  for (const auto& u : r5->updated) {
    EXPECT_EQ(u.flags.system, kAnswered);
    EXPECT_EQ(u.flags.keywords, std::vector<std::string>{"$Junk"});
  }
  auto r6 = store_->storeFlags(alice_, inbox_, uids, FlagOp::Replace, Flags{kAnswered, {"$JUNK"}});
  ASSERT_TRUE(r6.ok());
  EXPECT_TRUE(r6->updated.empty());

  // Missing UIDs are ignored.
  auto r7 = store_->storeFlags(alice_, inbox_, {50}, FlagOp::Add, Flags{kSeen, {}});
  ASSERT_TRUE(r7.ok());
  EXPECT_TRUE(r7->updated.empty());
  EXPECT_EQ(store_->storeFlags(alice_, inbox_, uids, FlagOp::Add, Flags{0, {"a(b"}}).error().code, Errc::Invalid);
}

TEST_F(StoreTest, StoreFlagsUnchangedSince) {
  auto uids = appendN(inbox_, 3);
  auto msgs = *store_->listMessages(alice_, inbox_);
  // Change uid 2 so its modseq rises above the others'.
  auto r0 = store_->storeFlags(alice_, inbox_, {2}, FlagOp::Add, Flags{kFlagged, {}});
  ASSERT_TRUE(r0.ok());
  ModSeq since = msgs[2].modSeq;  // >= modseq of uid 1..3 as appended, < uid 2's new modseq
  auto r = store_->storeFlags(alice_, inbox_, uids, FlagOp::Add, Flags{kDeleted, {}}, since);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->conflicted, std::vector<Uid>{2});
  ASSERT_EQ(r->updated.size(), 2u);
  EXPECT_EQ(r->updated[0].uid, 1u);
  EXPECT_EQ(r->updated[1].uid, 3u);
  EXPECT_EQ(store_->getMessages(alice_, inbox_, {2})->at(0).flags.system, kFlagged);
  // UNCHANGEDSINCE 0 conflicts with everything (RFC 7162 3.1.3 example uses it as a test).
  auto z = store_->storeFlags(alice_, inbox_, uids, FlagOp::Add, Flags{kSeen, {}}, 0);
  ASSERT_TRUE(z.ok());
  EXPECT_EQ(z->conflicted, uids);
  EXPECT_TRUE(z->updated.empty());
}

TEST_F(StoreTest, ExpungeLeavesTombstones) {
  auto uids = appendN(inbox_, 4);
  ASSERT_TRUE(store_->storeFlags(alice_, inbox_, {1, 2, 4}, FlagOp::Add, Flags{kDeleted, {}}).ok());
  ModSeq seen = store_->getMailbox(alice_, inbox_)->highestModSeq;
  auto only = store_->expunge(alice_, inbox_, std::vector<Uid>{2, 3});
  ASSERT_TRUE(only.ok());
  EXPECT_EQ(*only, std::vector<Uid>{2});  // 3 is not \Deleted
  auto rest = store_->expunge(alice_, inbox_);
  ASSERT_TRUE(rest.ok());
  EXPECT_EQ(*rest, (std::vector<Uid>{1, 4}));
  auto remaining = store_->listMessages(alice_, inbox_);
  ASSERT_EQ(remaining->size(), 1u);
  EXPECT_EQ((*remaining)[0].uid, 3u);

  auto ch = store_->changesSince(alice_, inbox_, seen);
  ASSERT_TRUE(ch.ok());
  EXPECT_EQ(ch->expunged, (std::vector<Uid>{1, 2, 4}));
  EXPECT_TRUE(ch->changed.empty());
  EXPECT_GT(ch->mailbox.highestModSeq, seen);
  auto all = store_->changesSince(alice_, inbox_, 0);
  ASSERT_EQ(all->changed.size(), 1u);
  EXPECT_EQ(all->changed[0].uid, 3u);
  auto none = store_->changesSince(alice_, inbox_, ch->mailbox.highestModSeq);
  EXPECT_TRUE(none->changed.empty());
  EXPECT_TRUE(none->expunged.empty());
  EXPECT_TRUE(store_->expunge(alice_, inbox_)->empty());
}

TEST_F(StoreTest, ChangesSinceReportsFlagChangesAndAppends) {
  appendN(inbox_, 3);
  ModSeq seen = store_->getMailbox(alice_, inbox_)->highestModSeq;
  ASSERT_TRUE(store_->storeFlags(alice_, inbox_, {2}, FlagOp::Add, Flags{kSeen, {}}).ok());
  appendN(inbox_, 1);
  auto ch = store_->changesSince(alice_, inbox_, seen);
  ASSERT_TRUE(ch.ok());
  ASSERT_EQ(ch->changed.size(), 2u);
  EXPECT_EQ(ch->changed[0].uid, 2u);
  EXPECT_EQ(ch->changed[0].flags.system, kSeen);
  EXPECT_EQ(ch->changed[1].uid, 4u);
  EXPECT_EQ(ch->mailbox.uidNext, 5u);
}

TEST_F(StoreTest, CopyAndMove) {
  auto trash = store_->findMailbox(alice_, "Trash");
  ASSERT_TRUE(trash.ok());
  NewMessage m = newMessage(500, kSeen, {"$Forwarded"});
  m.blobId = std::string(64, 'c');
  ASSERT_TRUE(store_->append(alice_, inbox_, {newMessage(1), m, newMessage(3)}).ok());
  appendN(trash->id, 1);  // trash UIDs start after 1

  auto c = store_->copy(alice_, inbox_, {3, 2, 9}, trash->id, false);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->uidValidity, trash->uidValidity);
  EXPECT_EQ(c->sourceUids, (std::vector<Uid>{2, 3}));
  EXPECT_EQ(c->destUids, (std::vector<Uid>{2, 3}));
  auto copied = store_->getMessages(alice_, trash->id, {2});
  ASSERT_EQ(copied->size(), 1u);
  EXPECT_EQ((*copied)[0].flags, m.flags);
  EXPECT_EQ((*copied)[0].internalDate, m.internalDate);
  EXPECT_EQ((*copied)[0].blobId, m.blobId);
  EXPECT_EQ((*copied)[0].size, 500u);
  EXPECT_EQ(store_->listMessages(alice_, inbox_)->size(), 3u);  // copy leaves the source

  ModSeq seenInbox = store_->getMailbox(alice_, inbox_)->highestModSeq;
  auto mv = store_->copy(alice_, inbox_, {1, 2}, trash->id, true);
  ASSERT_TRUE(mv.ok());
  EXPECT_EQ(mv->sourceUids, (std::vector<Uid>{1, 2}));
  EXPECT_EQ(mv->destUids, (std::vector<Uid>{4, 5}));
  auto left = store_->listMessages(alice_, inbox_);
  ASSERT_EQ(left->size(), 1u);
  EXPECT_EQ((*left)[0].uid, 3u);
  auto ch = store_->changesSince(alice_, inbox_, seenInbox);
  EXPECT_EQ(ch->expunged, (std::vector<Uid>{1, 2}));
  EXPECT_EQ(store_->listMessages(alice_, trash->id)->size(), 5u);
  auto st = store_->status(alice_, trash->id);
  EXPECT_EQ(st->messages, 5u);
  EXPECT_EQ(st->size, 100u + 500 + 3 + 1 + 500);
  EXPECT_EQ(st->unseen, 3u);
  EXPECT_EQ(store_->status(alice_, inbox_)->messages, 1u);

  auto empty = store_->copy(alice_, inbox_, {77}, trash->id, true);
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->destUids.empty());
}

TEST_F(StoreTest, ClaimRecent) {
  appendN(inbox_, 2);
  EXPECT_EQ(store_->status(alice_, inbox_)->recent, 2u);
  EXPECT_EQ(*store_->claimRecent(alice_, inbox_), 1u);  // first session: uids >= 1 are recent
  EXPECT_EQ(store_->status(alice_, inbox_)->recent, 0u);
  EXPECT_EQ(*store_->claimRecent(alice_, inbox_), 3u);  // second session: nothing recent (uidnext)
  appendN(inbox_, 1);
  EXPECT_EQ(store_->status(alice_, inbox_)->recent, 1u);
  EXPECT_EQ(*store_->claimRecent(alice_, inbox_), 3u);
  EXPECT_EQ(store_->status(alice_, inbox_)->recent, 0u);
}

// Claims are made in memory and written without waiting; what was claimed before a clean shutdown
// is not recent again after it.
TEST_F(StoreTest, ClaimRecentIsWrittenBehind) {
  appendN(inbox_, 3);
  EXPECT_EQ(*store_->claimRecent(alice_, inbox_), 1u);
  store_.reset();
  auto s = SqliteStore::open(dir_.path() + "/data", fastOptions());
  ASSERT_TRUE(s.ok());
  store_ = std::move(*s);
  EXPECT_EQ(store_->status(alice_, inbox_)->recent, 0u);
  EXPECT_EQ(*store_->claimRecent(alice_, inbox_), 4u);
}

// STATUS counters kept in the same transactions must equal a recount after any mix of operations.
TEST_F(StoreTest, StatusCountersMatchRecount) {
  auto other = store_->createMailbox(alice_, "Other");
  ASSERT_TRUE(other.ok());
  const MailboxId boxes[] = {inbox_, other->id};
  std::mt19937 rng(12345);
  const uint32_t flagChoices[] = {0, kSeen, kDeleted, kSeen | kDeleted, kFlagged};
  for (int step = 0; step < 300; ++step) {
    MailboxId mb = boxes[rng() % 2];
    MailboxId to = boxes[rng() % 2];
    auto present = *store_->listMessages(alice_, mb);
    std::vector<Uid> pick;
    for (const auto& m : present) {
      if (rng() % 3 == 0) pick.push_back(m.uid);
    }
    switch (rng() % 6) {
      case 0:
      case 1: {
        std::vector<NewMessage> msgs;
        for (int i = 0, n = 1 + rng() % 3; i < n; ++i) msgs.push_back(newMessage(rng() % 1000, flagChoices[rng() % 5]));
        ASSERT_TRUE(store_->append(alice_, mb, msgs).ok());
        break;
      }
      case 2:
        ASSERT_TRUE(store_->storeFlags(alice_, mb, pick, static_cast<FlagOp>(rng() % 3),
                                       Flags{flagChoices[rng() % 5], {}}).ok());
        break;
      case 3:
        ASSERT_TRUE(store_->expunge(alice_, mb, rng() % 2 ? std::optional<std::vector<Uid>>(pick) : std::nullopt).ok());
        break;
      case 4:
        ASSERT_TRUE(store_->copy(alice_, mb, pick, to, rng() % 2).ok());
        break;
      case 5:
        (void)store_->claimRecent(alice_, mb);
        break;
    }
  }
  for (MailboxId mb : boxes) {
    auto msgs = *store_->listMessages(alice_, mb);
    auto st = store_->status(alice_, mb);
    ASSERT_TRUE(st.ok());
    uint32_t unseen = 0, deleted = 0;
    uint64_t size = 0;
    ModSeq maxModSeq = 0;
    for (const auto& m : msgs) {
      unseen += !(m.flags.system & kSeen);
      deleted += (m.flags.system & kDeleted) != 0;
      size += m.size;
      maxModSeq = std::max(maxModSeq, m.modSeq);
    }
    EXPECT_GT(msgs.size(), 0u);
    EXPECT_EQ(st->messages, msgs.size());
    EXPECT_EQ(st->unseen, unseen);
    EXPECT_EQ(st->deleted, deleted);
    EXPECT_EQ(st->size, size);
    EXPECT_GE(st->highestModSeq, maxModSeq);
    if (!msgs.empty()) {
      EXPECT_GT(st->uidNext, msgs.back().uid);
    }
  }
}

}  // namespace
}  // namespace tern::store::test
