// Mailboxes: names, hierarchy, create/delete/rename (children, INBOX), subscriptions, isolation.
#include <gtest/gtest.h>

#include <set>

#include "store_fixture.h"

namespace tern::store::test {
namespace {

std::vector<std::string> names(SqliteStore& s, AccountId a) {
  std::vector<std::string> out;
  auto boxes = s.listMailboxes(a);
  EXPECT_TRUE(boxes.ok());
  for (const auto& m : *boxes) out.push_back(m.name);
  return out;
}

TEST_F(StoreTest, InvalidNames) {
  const char* bad[] = {"", "/", "a//b", "a/", "/a", "a\tb", "a\x7f", "a\r\nb", "\xc3", "\xc0\xaf", "a\xc2\x85"};
  for (const char* n : bad) {
    auto r = store_->createMailbox(alice_, n);
    ASSERT_FALSE(r.ok()) << n;
    EXPECT_EQ(r.error().code, Errc::Invalid) << n;
  }
  EXPECT_EQ(store_->createMailbox(alice_, std::string(2000, 'a')).error().code, Errc::Invalid);
  // UTF-8 is fine.
  auto ok = store_->createMailbox(alice_, "Entwürfe/日本語");
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->name, "Entwürfe/日本語");
}

TEST_F(StoreTest, InboxIsCaseInsensitive) {
  auto a = store_->findMailbox(alice_, "inbox");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->id, inbox_);
  EXPECT_EQ(a->name, "INBOX");
  EXPECT_EQ(store_->createMailbox(alice_, "InBoX").error().code, Errc::AlreadyExists);
  auto child = store_->createMailbox(alice_, "inbox/Lists");
  ASSERT_TRUE(child.ok());
  EXPECT_EQ(child->name, "INBOX/Lists");
  EXPECT_EQ(store_->findMailbox(alice_, "Inbox/Lists")->id, child->id);
  // Other names are case-sensitive.
  ASSERT_TRUE(store_->createMailbox(alice_, "work").ok());
  ASSERT_TRUE(store_->createMailbox(alice_, "Work").ok());
}

TEST_F(StoreTest, CreateMakesParentsWithDistinctUidValidity) {
  auto c = store_->createMailbox(alice_, "a/b/c");
  ASSERT_TRUE(c.ok());
  auto a = store_->findMailbox(alice_, "a");
  auto b = store_->findMailbox(alice_, "a/b");
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_FALSE(a->subscribed);
  EXPECT_EQ(store_->createMailbox(alice_, "a/b").error().code, Errc::AlreadyExists);
  std::set<uint32_t> validities;
  auto boxes = store_->listMailboxes(alice_);
  ASSERT_TRUE(boxes.ok());
  for (const auto& m : *boxes) validities.insert(m.uidValidity);
  EXPECT_EQ(validities.size(), boxes->size());
  auto special = store_->createMailbox(alice_, "Everything", SpecialUse::All);
  ASSERT_TRUE(special.ok());
  EXPECT_EQ(special->specialUse, SpecialUse::All);
}

TEST_F(StoreTest, DeleteKeepsChildrenAndRecreateGetsNewUidValidity) {
  auto c = store_->createMailbox(alice_, "p/c");
  ASSERT_TRUE(c.ok());
  auto p = store_->findMailbox(alice_, "p");
  ASSERT_TRUE(p.ok());
  auto uids = appendN(p->id, 2);
  ASSERT_TRUE(store_->deleteMailbox(alice_, "p").ok());
  EXPECT_EQ(store_->findMailbox(alice_, "p").error().code, Errc::NotFound);
  EXPECT_EQ(store_->findMailbox(alice_, "p/c")->id, c->id);
  EXPECT_EQ(store_->listMessages(alice_, p->id).error().code, Errc::NotFound);
  EXPECT_EQ(store_->deleteMailbox(alice_, "p").error().code, Errc::NotFound);
  EXPECT_EQ(store_->deleteMailbox(alice_, "INBOX").error().code, Errc::Invalid);
  EXPECT_EQ(store_->deleteMailbox(alice_, "inbox").error().code, Errc::Invalid);
  auto again = store_->createMailbox(alice_, "p");
  ASSERT_TRUE(again.ok());
  EXPECT_NE(again->id, p->id);
  EXPECT_NE(again->uidValidity, p->uidValidity);
  EXPECT_EQ(again->uidNext, 1u);
}

TEST_F(StoreTest, RenameMovesChildren) {
  auto a = store_->createMailbox(alice_, "a/b/c");
  ASSERT_TRUE(a.ok());
  auto ab = store_->findMailbox(alice_, "a/b");
  ASSERT_TRUE(ab.ok());
  ASSERT_TRUE(store_->createMailbox(alice_, "ab").ok());  // shares a prefix, not a child
  auto uids = appendN(ab->id, 2);
  ASSERT_TRUE(store_->setSubscribed(alice_, "a/b/c", true).ok());

  ASSERT_TRUE(store_->renameMailbox(alice_, "a", "x/y").ok());
  EXPECT_EQ(names(*store_, alice_), (std::vector<std::string>{"Archive", "Drafts", "INBOX", "Junk", "Sent",
                                                                "Trash", "ab", "x", "x/y", "x/y/b", "x/y/b/c"}));
  auto moved = store_->findMailbox(alice_, "x/y/b");
  ASSERT_TRUE(moved.ok());
  EXPECT_EQ(moved->id, ab->id);
  EXPECT_EQ(moved->uidValidity, ab->uidValidity);
  EXPECT_EQ(store_->listMessages(alice_, moved->id)->size(), 2u);
  auto subs = *store_->listSubscriptions(alice_);
  EXPECT_NE(std::find(subs.begin(), subs.end(), "x/y/b/c"), subs.end());
  EXPECT_EQ(std::find(subs.begin(), subs.end(), "a/b/c"), subs.end());

  EXPECT_EQ(store_->renameMailbox(alice_, "x", "x/z").error().code, Errc::Invalid);
  EXPECT_EQ(store_->renameMailbox(alice_, "nope", "z").error().code, Errc::NotFound);
  EXPECT_EQ(store_->renameMailbox(alice_, "ab", "Sent").error().code, Errc::AlreadyExists);
  EXPECT_EQ(store_->renameMailbox(alice_, "ab", "inbox").error().code, Errc::AlreadyExists);
  // A child's new name taken: nothing is renamed.
  ASSERT_TRUE(store_->createMailbox(alice_, "q/b").ok());
  ASSERT_TRUE(store_->deleteMailbox(alice_, "q").ok());
  ASSERT_TRUE(store_->createMailbox(alice_, "r/b").ok());
  EXPECT_EQ(store_->renameMailbox(alice_, "r", "q").error().code, Errc::AlreadyExists);
  EXPECT_TRUE(store_->findMailbox(alice_, "r").ok());
}

TEST_F(StoreTest, RenameInboxMovesMessages) {
  auto uids = appendN(inbox_, 3);
  ASSERT_TRUE(store_->createMailbox(alice_, "INBOX/child").ok());
  auto before = store_->getMailbox(alice_, inbox_);
  ASSERT_TRUE(before.ok());
  ASSERT_TRUE(store_->renameMailbox(alice_, "inbox", "Old").ok());
  auto inbox = store_->findMailbox(alice_, "INBOX");
  ASSERT_TRUE(inbox.ok());
  EXPECT_EQ(inbox->id, inbox_);
  EXPECT_TRUE(store_->listMessages(alice_, inbox_)->empty());
  EXPECT_EQ(store_->status(alice_, inbox_)->messages, 0u);
  auto old = store_->findMailbox(alice_, "Old");
  ASSERT_TRUE(old.ok());
  EXPECT_NE(old->uidValidity, before->uidValidity);
  auto msgs = store_->listMessages(alice_, old->id);
  ASSERT_EQ(msgs->size(), 3u);
  EXPECT_EQ((*msgs)[0].size, 100u);
  EXPECT_EQ((*msgs)[2].size, 102u);
  EXPECT_TRUE(store_->findMailbox(alice_, "INBOX/child").ok());  // INBOX's children stay
  auto ch = store_->changesSince(alice_, inbox_, before->highestModSeq);
  EXPECT_EQ(ch->expunged, uids);

  // Again, into a child of INBOX (allowed: INBOX's children are not renamed with it).
  appendN(inbox_, 1);
  ASSERT_TRUE(store_->renameMailbox(alice_, "INBOX", "INBOX/old").ok());
  auto child = store_->findMailbox(alice_, "INBOX/old");
  ASSERT_TRUE(child.ok());
  EXPECT_EQ(store_->listMessages(alice_, child->id)->size(), 1u);
  EXPECT_TRUE(store_->listMessages(alice_, inbox_)->empty());
  // The next message delivered to INBOX continues INBOX's UID sequence.
  EXPECT_EQ(appendN(inbox_, 1), std::vector<Uid>{5});
}

TEST_F(StoreTest, Subscriptions) {
  ASSERT_TRUE(store_->setSubscribed(alice_, "Ghost", true).ok());  // may name a missing mailbox
  ASSERT_TRUE(store_->setSubscribed(alice_, "Ghost", true).ok());
  ASSERT_TRUE(store_->setSubscribed(alice_, "Junk", false).ok());
  EXPECT_EQ(*store_->listSubscriptions(alice_),
            (std::vector<std::string>{"Archive", "Drafts", "Ghost", "INBOX", "Sent", "Trash"}));
  EXPECT_FALSE(store_->findMailbox(alice_, "Junk")->subscribed);
  ASSERT_TRUE(store_->createMailbox(alice_, "Keep").ok());
  ASSERT_TRUE(store_->setSubscribed(alice_, "Keep", true).ok());
  ASSERT_TRUE(store_->deleteMailbox(alice_, "Keep").ok());
  auto subs = *store_->listSubscriptions(alice_);
  EXPECT_NE(std::find(subs.begin(), subs.end(), "Keep"), subs.end());  // outlives its mailbox
  EXPECT_EQ(store_->setSubscribed(alice_, "a//b", true).error().code, Errc::Invalid);
  EXPECT_EQ(store_->listSubscriptions(bob_)->size(), 6u);
}

TEST_F(StoreTest, IsolationBetweenAccounts) {
  auto uids = appendN(inbox_, 2);
  auto bobInbox = store_->findMailbox(bob_, "INBOX");
  ASSERT_TRUE(bobInbox.ok());
  EXPECT_NE(bobInbox->id, inbox_);
  const Errc nf = Errc::NotFound;
  EXPECT_EQ(store_->getMailbox(bob_, inbox_).error().code, nf);
  EXPECT_EQ(store_->status(bob_, inbox_).error().code, nf);
  EXPECT_EQ(store_->listMessages(bob_, inbox_).error().code, nf);
  EXPECT_EQ(store_->getMessages(bob_, inbox_, uids).error().code, nf);
  EXPECT_EQ(store_->changesSince(bob_, inbox_, 0).error().code, nf);
  EXPECT_EQ(store_->append(bob_, inbox_, {newMessage(1)}).error().code, nf);
  EXPECT_EQ(store_->storeFlags(bob_, inbox_, uids, FlagOp::Add, Flags{kDeleted, {}}).error().code, nf);
  EXPECT_EQ(store_->expunge(bob_, inbox_).error().code, nf);
  EXPECT_EQ(store_->copy(bob_, inbox_, uids, bobInbox->id, false).error().code, nf);
  EXPECT_EQ(store_->copy(alice_, inbox_, uids, bobInbox->id, true).error().code, nf);
  EXPECT_EQ(store_->copy(bob_, bobInbox->id, {1}, inbox_, false).error().code, nf);
  EXPECT_EQ(store_->claimRecent(bob_, inbox_).error().code, nf);
  // Nothing changed in alice's mailbox.
  auto msgs = store_->listMessages(alice_, inbox_);
  ASSERT_EQ(msgs->size(), 2u);
  EXPECT_EQ((*msgs)[0].flags.system, 0u);
  EXPECT_TRUE(store_->listMessages(bob_, bobInbox->id)->empty());
  // Names are per account.
  ASSERT_TRUE(store_->createMailbox(alice_, "Shared").ok());
  EXPECT_EQ(store_->findMailbox(bob_, "Shared").error().code, nf);
  ASSERT_TRUE(store_->createMailbox(bob_, "Shared").ok());
}

}  // namespace
}  // namespace tern::store::test
