// ChangeHub: per-mailbox subscribers hear only their mailbox, subscribeAll hears every mailbox with
// its id, both stop when their Subscription goes; and a SqliteStore commit reaches subscribeAll.
#include "store/change_hub.h"

#include <gtest/gtest.h>

#include <vector>

#include "store_fixture.h"

namespace tern::store::test {
namespace {

TEST(ChangeHub, MailboxAndAllSubscribers) {
  ChangeHub hub;
  int seven = 0;
  std::vector<MailboxId> all;
  auto one = hub.subscribe(7, [&] { ++seven; });
  auto every = hub.subscribeAll([&](MailboxId id) { all.push_back(id); });
  hub.notify(7);
  hub.notify(8);
  EXPECT_EQ(seven, 1);
  EXPECT_EQ(all, (std::vector<MailboxId>{7, 8}));
  EXPECT_EQ(hub.subscriberCount(7), 1u);
  EXPECT_EQ(hub.subscribedMailboxes(), std::vector<MailboxId>{7});  // the all-listener is no mailbox

  every.reset();
  hub.notify(7);
  EXPECT_EQ(seven, 2);
  EXPECT_EQ(all.size(), 2u);
  one.reset();
  hub.notify(7);
  EXPECT_EQ(seven, 2);
  EXPECT_TRUE(hub.subscribedMailboxes().empty());
}

class ChangeHubStoreTest : public StoreTest {};

TEST_F(ChangeHubStoreTest, CommitsReachTheAllSubscriber) {
  std::vector<MailboxId> seen;
  std::mutex mu;
  auto every = store_->changes().subscribeAll([&](MailboxId id) {
    std::lock_guard lock(mu);
    seen.push_back(id);
  });
  appendN(inbox_, 2);
  auto archive = store_->createMailbox(alice_, "Projects");
  ASSERT_TRUE(archive.ok());
  appendN(archive->id, 1);
  std::lock_guard lock(mu);
  EXPECT_NE(std::find(seen.begin(), seen.end(), inbox_), seen.end());
  EXPECT_NE(std::find(seen.begin(), seen.end(), archive->id), seen.end());
  EXPECT_EQ(*store_->mailboxOwner(archive->id), alice_);
  EXPECT_EQ(store_->mailboxOwner(999999).error().code, Errc::NotFound);
}

}  // namespace
}  // namespace tern::store::test
