// Store calls behind SMTP: deliver (one blob into several INBOXes in one commit) and the outbound
// queue (message + per-recipient rows with RFC 3461 parameters, listed by due time).
#include <ctime>

#include "store_fixture.h"

namespace tern::store::test {
namespace {

class DeliveryTest : public StoreTest {};

TEST_F(DeliveryTest, DeliversToEveryInboxInOneCommitAndNotifies) {
  auto bobInbox = store_->findMailbox(bob_, "INBOX");
  ASSERT_TRUE(bobInbox.ok());
  int notified = 0;
  auto sub = store_->changes().subscribe(bobInbox->id, [&] { ++notified; });
  const uint64_t commitsBefore = store_->commitCount();
  NewMessage m = newMessage(1234);
  // Duplicates (two RCPTs resolving to one account) deliver once.
  auto r = store_->deliver({alice_, bob_, alice_}, m);
  ASSERT_TRUE(r.ok()) << r.error().detail;
  EXPECT_EQ(store_->commitCount(), commitsBefore + 1);
  ASSERT_EQ(r->size(), 2u);
  EXPECT_EQ((*r)[0].account, alice_);
  EXPECT_TRUE((*r)[0].delivered);
  EXPECT_EQ((*r)[0].mailbox, inbox_);
  EXPECT_EQ((*r)[0].uid, 1u);
  EXPECT_EQ((*r)[1].account, bob_);
  EXPECT_EQ((*r)[1].mailbox, bobInbox->id);
  EXPECT_EQ(notified, 1);

  for (auto [account, mailbox] : {std::pair{alice_, inbox_}, std::pair{bob_, bobInbox->id}}) {
    auto msgs = store_->listMessages(account, mailbox);
    ASSERT_TRUE(msgs.ok());
    ASSERT_EQ(msgs->size(), 1u);
    EXPECT_EQ((*msgs)[0].blobId, m.blobId);
    EXPECT_EQ((*msgs)[0].size, 1234u);
    EXPECT_EQ((*msgs)[0].flags.system, 0u);  // unseen
    auto st = store_->status(account, mailbox);
    ASSERT_TRUE(st.ok());
    EXPECT_EQ(st->messages, 1u);
    EXPECT_EQ(st->unseen, 1u);
    EXPECT_EQ(st->uidNext, 2u);
    EXPECT_EQ(st->highestModSeq, (*msgs)[0].modSeq);
  }
  // A second delivery gets the next UID; its flags count in the mailbox's counters.
  NewMessage flagged = newMessage(100);
  flagged.flags.system = kSeen | kDeleted;
  auto again = store_->deliver({alice_}, flagged);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ((*again)[0].uid, 2u);
  auto st = store_->status(alice_, inbox_);
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(st->messages, 2u);
  EXPECT_EQ(st->unseen, 1u);
  EXPECT_EQ(st->deleted, 1u);
  EXPECT_EQ(st->size, 1334u);
  EXPECT_EQ(st->uidNext, 3u);
  auto msgs = store_->listMessages(alice_, inbox_);
  ASSERT_TRUE(msgs.ok());
  ASSERT_EQ(msgs->size(), 2u);
  EXPECT_GT((*msgs)[1].modSeq, (*msgs)[0].modSeq);
  EXPECT_EQ(st->highestModSeq, (*msgs)[1].modSeq);
}

TEST_F(DeliveryTest, VanishedAccountIsReportedOthersStillDelivered) {
  ASSERT_TRUE(store_->removeAccount("bob@example.com").ok());
  auto r = store_->deliver({bob_, alice_}, newMessage(10));
  ASSERT_TRUE(r.ok()) << r.error().detail;
  ASSERT_EQ(r->size(), 2u);
  EXPECT_FALSE((*r)[0].delivered);
  EXPECT_TRUE((*r)[1].delivered);
}

TEST_F(DeliveryTest, RejectsEmptyInput) {
  EXPECT_FALSE(store_->deliver({}, newMessage(10)).ok());
  NewMessage noBlob = newMessage(10);
  noBlob.blobId.clear();
  auto r = store_->deliver({alice_}, noBlob);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::Invalid);
}

TEST_F(DeliveryTest, OutboundQueueKeepsDsnParametersPerRecipient) {
  OutboundMessage m;
  m.sender = "alice@example.com";
  m.blobId = std::string(64, 'b');
  m.size = 777;
  m.ret = "HDRS";
  m.envid = "QQ314159";
  m.smtputf8 = true;
  m.submitter = alice_;
  m.recipients = {{"one@remote.example", "SUCCESS,FAILURE", "rfc822;one@remote.example"},
                  {"two@remote.example", "NEVER", ""}};
  const int64_t now = static_cast<int64_t>(::time(nullptr));
  auto id = store_->enqueueOutbound(m);
  ASSERT_TRUE(id.ok()) << id.error().detail;
  EXPECT_GT(*id, 0);

  auto due = store_->listOutbound(now + 5, 100);
  ASSERT_TRUE(due.ok()) << due.error().detail;
  ASSERT_EQ(due->size(), 2u);
  for (const auto& e : *due) {
    EXPECT_EQ(e.messageId, *id);
    EXPECT_EQ(e.sender, "alice@example.com");
    EXPECT_EQ(e.blobId, m.blobId);
    EXPECT_EQ(e.size, 777u);
    EXPECT_EQ(e.ret, "HDRS");
    EXPECT_EQ(e.envid, "QQ314159");
    EXPECT_TRUE(e.smtputf8);
    EXPECT_EQ(e.attempts, 0u);
    EXPECT_TRUE(e.lastError.empty());
    EXPECT_GE(e.nextAttempt, now);
    EXPECT_LE(e.nextAttempt, now + 5);
  }
  EXPECT_EQ((*due)[0].recipient.address, "one@remote.example");
  EXPECT_EQ((*due)[0].recipient.notify, "SUCCESS,FAILURE");
  EXPECT_EQ((*due)[0].recipient.orcpt, "rfc822;one@remote.example");
  EXPECT_EQ((*due)[1].recipient.address, "two@remote.example");
  EXPECT_EQ((*due)[1].recipient.notify, "NEVER");

  // Not yet due in the past; the limit is honoured.
  auto early = store_->listOutbound(now - 3600, 100);
  ASSERT_TRUE(early.ok());
  EXPECT_TRUE(early->empty());
  auto one = store_->listOutbound(now + 5, 1);
  ASSERT_TRUE(one.ok());
  EXPECT_EQ(one->size(), 1u);
}

TEST_F(DeliveryTest, OutboundQueueIsAllOrNothing) {
  OutboundMessage m;
  m.sender = "alice@example.com";
  m.blobId = std::string(64, 'c');
  m.recipients = {{"ok@remote.example", "", ""}, {"", "", ""}};  // the second is invalid
  EXPECT_FALSE(store_->enqueueOutbound(m).ok());
  auto due = store_->listOutbound(static_cast<int64_t>(::time(nullptr)) + 5, 100);
  ASSERT_TRUE(due.ok());
  EXPECT_TRUE(due->empty());
  m.recipients.clear();
  EXPECT_FALSE(store_->enqueueOutbound(m).ok());
}

TEST_F(DeliveryTest, DeliverAndEnqueueIsOneTransaction) {
  OutboundMessage out;
  out.sender = "alice@example.com";
  out.blobId = std::string(64, 'a');
  out.recipients = {{"far@remote.example", "", ""}};
  const uint64_t commitsBefore = store_->commitCount();
  auto r = store_->deliverAndEnqueue({bob_}, newMessage(50), out);
  ASSERT_TRUE(r.ok()) << r.error().detail;
  EXPECT_EQ(store_->commitCount(), commitsBefore + 1);
  ASSERT_EQ(r->size(), 1u);
  EXPECT_TRUE((*r)[0].delivered);
  const int64_t soon = static_cast<int64_t>(::time(nullptr)) + 5;
  auto due = store_->listOutbound(soon, 10);
  ASSERT_TRUE(due.ok());
  EXPECT_EQ(due->size(), 1u);

  // Invalid local part: the queue rows are not written either.
  NewMessage flagged = newMessage(50);
  flagged.flags.keywords = {std::string(1000, 'k')};  // over the keyword length limit
  auto bad = store_->deliverAndEnqueue({bob_}, flagged, out);
  EXPECT_FALSE(bad.ok());
  auto dueAfter = store_->listOutbound(soon, 10);
  ASSERT_TRUE(dueAfter.ok());
  EXPECT_EQ(dueAfter->size(), 1u);
  auto bobInbox = store_->findMailbox(bob_, "INBOX");
  ASSERT_TRUE(bobInbox.ok());
  auto msgs = store_->listMessages(bob_, bobInbox->id);
  ASSERT_TRUE(msgs.ok());
  EXPECT_EQ(msgs->size(), 1u);
}

TEST_F(DeliveryTest, QueueSurvivesReopen) {
  OutboundMessage m;
  m.sender = "";
  m.blobId = std::string(64, 'd');
  m.recipients = {{"x@remote.example", "", ""}};
  ASSERT_TRUE(store_->enqueueOutbound(m).ok());
  store_.reset();
  auto s = SqliteStore::open(dir_.path() + "/data", fastOptions());
  ASSERT_TRUE(s.ok());
  auto due = (*s)->listOutbound(static_cast<int64_t>(::time(nullptr)) + 5, 10);
  ASSERT_TRUE(due.ok());
  ASSERT_EQ(due->size(), 1u);
  EXPECT_EQ((*due)[0].sender, "");
}

}  // namespace
}  // namespace tern::store::test
