// Small messages kept inline in the database (schema v5): staged without a file, committed with the
// row that references them, read back through BlobStore::open, and collected in the same
// transaction as the deletion of their last reference (EXPUNGE, MOVE, mailbox and account removal,
// finished queue entries). Large messages still become files.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "store_fixture.h"

namespace tern::store::test {
namespace {

class InlineBlobTest : public StoreTest {
 protected:
  // Stages `bytes` and appends them to `mailbox` of `account`; returns the UID and the blob id.
  std::pair<Uid, std::string> appendBytes(const std::string& bytes, MailboxId mailbox = 0, AccountId account = 0) {
    auto staged = store_->blobs().stage(bytes);
    EXPECT_TRUE(staged.ok()) << staged.error().detail;
    if (!staged.ok()) return {0, ""};
    NewMessage m = newMessage(bytes.size());
    m.blobId = staged->id;
    m.inlineBytes = staged->inlineBytes;
    auto r = store_->append(account ? account : alice_, mailbox ? mailbox : inbox_, {m});
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().detail);
    return {r.ok() ? r->uids.at(0) : 0, staged->id};
  }

  std::string read(const std::string& blobId) {
    auto b = store_->blobs().open(blobId);
    return b.ok() ? std::string((*b)->bytes()) : "<" + b.error().detail + ">";
  }

  // A queued message from alice to one remote recipient, carrying a staged blob.
  static OutboundMessage outbound(const StagedBlob& staged, size_t size, const std::string& rcpt) {
    OutboundMessage out;
    out.sender = "alice@example.com";
    out.blobId = staged.id;
    out.inlineBytes = staged.inlineBytes;
    out.size = size;
    out.recipients.push_back({rcpt, "", ""});
    return out;
  }

  bool readable(const std::string& blobId) { return store_->blobs().open(blobId).ok(); }

  // Regular files under the blob directory (the file-backed blobs).
  size_t blobFiles() {
    size_t n = 0;
    std::error_code ec;
    const std::string dir = store_->blobs().directory();
    if (!std::filesystem::exists(dir)) return 0;
    for (auto& e : std::filesystem::recursive_directory_iterator(dir, ec))
      if (e.is_regular_file()) ++n;
    return n;
  }

  MailboxId createMailbox(const std::string& name, AccountId account = 0) {
    auto r = store_->createMailbox(account ? account : alice_, name, {});
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().detail);
    auto mb = store_->findMailbox(account ? account : alice_, name);
    EXPECT_TRUE(mb.ok());
    return mb.ok() ? mb->id : 0;
  }
};

TEST_F(InlineBlobTest, SmallMessageIsStoredWithItsRowAndNoFile) {
  const std::string body = "Subject: small\r\n\r\nhello\r\n";
  auto staged = store_->blobs().stage(body);
  ASSERT_TRUE(staged.ok());
  ASSERT_TRUE(staged->inlineBytes.has_value());
  // Staged but not yet referenced: nothing is stored, so nothing can leak.
  EXPECT_FALSE(readable(staged->id));
  NewMessage m = newMessage(body.size());
  m.blobId = staged->id;
  m.inlineBytes = staged->inlineBytes;
  auto appended = store_->append(alice_, inbox_, {m});
  ASSERT_TRUE(appended.ok()) << appended.error().detail;
  const std::string id = staged->id;
  EXPECT_EQ(read(id), body);
  EXPECT_TRUE(store_->blobs().exists(id));
  EXPECT_EQ(blobFiles(), 0u);
}

TEST_F(InlineBlobTest, EmptyMessageIsABlobToo) {
  auto [uid, id] = appendBytes("");
  ASSERT_NE(uid, 0u);
  EXPECT_EQ(read(id), "");
}

TEST_F(InlineBlobTest, MessageAboveTheLimitBecomesAFile) {
  const std::string big(store_->blobs().inlineLimit() + 1, 'x');
  auto [uid, id] = appendBytes(big);
  ASSERT_NE(uid, 0u);
  EXPECT_EQ(blobFiles(), 1u);
  EXPECT_EQ(read(id).size(), big.size());
}

TEST_F(InlineBlobTest, SurvivesReopen) {
  const std::string body = "Subject: durable\r\n\r\nbody\r\n";
  auto [uid, id] = appendBytes(body);
  ASSERT_NE(uid, 0u);
  store_.reset();
  auto s = SqliteStore::open(dir_.path() + "/data", fastOptions());
  ASSERT_TRUE(s.ok());
  store_ = std::move(*s);
  EXPECT_EQ(read(id), body);
}

TEST_F(InlineBlobTest, ExpungeOfTheLastCopyDeletesTheBytes) {
  const std::string body = "Subject: shared\r\n\r\nsame bytes\r\n";
  auto [uid1, id] = appendBytes(body);
  const MailboxId archive = createMailbox("Archive2");
  auto copied = store_->copy(alice_, inbox_, {uid1}, archive, false);
  ASSERT_TRUE(copied.ok()) << copied.error().detail;
  ASSERT_EQ(copied->destUids.size(), 1u);
  const Uid uid2 = copied->destUids[0];

  ASSERT_TRUE(store_->storeFlags(alice_, inbox_, {uid1}, FlagOp::Add, Flags{kDeleted, {}}).ok());
  ASSERT_TRUE(store_->expunge(alice_, inbox_).ok());
  EXPECT_EQ(read(id), body) << "still referenced by Archive2";

  ASSERT_TRUE(store_->storeFlags(alice_, archive, {uid2}, FlagOp::Add, Flags{kDeleted, {}}).ok());
  ASSERT_TRUE(store_->expunge(alice_, archive).ok());
  EXPECT_FALSE(readable(id));
}

TEST_F(InlineBlobTest, IdenticalBytesStoredTwiceAreSeparateRows) {
  // Inline ids start with the staging time: the same bytes appended again are a row of their own,
  // collected on their own.
  const std::string body = "Subject: twice\r\n\r\nsame bytes\r\n";
  auto [uid1, id1] = appendBytes(body);
  auto [uid2, id2] = appendBytes(body);
  ASSERT_NE(id1, id2);
  EXPECT_LT(id1, id2);
  ASSERT_TRUE(store_->storeFlags(alice_, inbox_, {uid1}, FlagOp::Add, Flags{kDeleted, {}}).ok());
  ASSERT_TRUE(store_->expunge(alice_, inbox_).ok());
  EXPECT_FALSE(readable(id1));
  EXPECT_EQ(read(id2), body);
}

TEST_F(InlineBlobTest, MoveKeepsTheBytes) {
  const std::string body = "Subject: moved\r\n\r\nx\r\n";
  auto [uid, id] = appendBytes(body);
  const MailboxId dest = createMailbox("Dest");
  auto r = store_->copy(alice_, inbox_, {uid}, dest, true);
  ASSERT_TRUE(r.ok()) << r.error().detail;
  EXPECT_EQ(read(id), body);
}

TEST_F(InlineBlobTest, DeletingTheMailboxOrTheAccountCollects) {
  const MailboxId box = createMailbox("Doomed");
  auto [uid1, id1] = appendBytes("Subject: one\r\n\r\n1\r\n", box);
  ASSERT_TRUE(store_->deleteMailbox(alice_, "Doomed").ok());
  EXPECT_FALSE(readable(id1));

  auto bobInbox = store_->findMailbox(bob_, "INBOX");
  ASSERT_TRUE(bobInbox.ok());
  auto [uid2, id2] = appendBytes("Subject: two\r\n\r\n2\r\n", bobInbox->id, bob_);
  ASSERT_TRUE(readable(id2));
  ASSERT_TRUE(store_->removeAccount("bob@example.com").ok());
  EXPECT_FALSE(readable(id2));
}

TEST_F(InlineBlobTest, DeliveryToSeveralAccountsAndTheQueueSharesOneCopy) {
  const std::string body = "Subject: fan-out\r\n\r\nto many\r\n";
  auto staged = store_->blobs().stage(body);
  ASSERT_TRUE(staged.ok());
  NewMessage m = newMessage(body.size());
  m.blobId = staged->id;
  m.inlineBytes = staged->inlineBytes;
  OutboundMessage out = outbound(*staged, body.size(), "carol@remote.example");
  auto d = store_->deliverAndEnqueue({alice_, bob_}, m, out);
  ASSERT_TRUE(d.ok()) << d.error().detail;
  EXPECT_EQ(read(staged->id), body);

  // Both mailbox copies gone: the queued message still needs the bytes.
  ASSERT_TRUE(store_->removeAccount("alice@example.com").ok());
  ASSERT_TRUE(store_->removeAccount("bob@example.com").ok());
  EXPECT_EQ(read(staged->id), body);

  // Delivered remotely: the last reference is gone.
  auto q = store_->listQueue(10);
  ASSERT_TRUE(q.ok());
  ASSERT_EQ(q->size(), 1u);
  ASSERT_TRUE(store_->completeOutbound((*q)[0].id).ok());
  EXPECT_FALSE(readable(staged->id));
}

TEST_F(InlineBlobTest, QueueOnlyMessageIsCollectedWhenRemoved) {
  const std::string body = "Subject: queued\r\n\r\nq\r\n";
  auto staged = store_->blobs().stage(body);
  ASSERT_TRUE(staged.ok());
  OutboundMessage out = outbound(*staged, body.size(), "dave@remote.example");
  auto id = store_->enqueueOutbound(out);
  ASSERT_TRUE(id.ok());
  EXPECT_EQ(read(staged->id), body);
  ASSERT_TRUE(store_->removeOutbound(*id).ok());
  EXPECT_FALSE(readable(staged->id));
}

TEST_F(InlineBlobTest, CheckVerifiesInlineBlobs) {
  auto [uid, id] = appendBytes("Subject: checked\r\n\r\nok\r\n");
  auto report = store_->check(false);
  ASSERT_TRUE(report.ok()) << report.error().detail;
  EXPECT_TRUE(report->problems.empty()) << report->problems.front();
  EXPECT_EQ(report->blobs, 1u);
}

TEST_F(InlineBlobTest, DisabledKeepsEveryMessageInAFile) {
  TempDir other;
  SqliteOptions o = fastOptions();
  o.inlineBlobLimit = 0;
  auto s = SqliteStore::open(other.path() + "/data", o);
  ASSERT_TRUE(s.ok());
  auto staged = (*s)->blobs().stage("Subject: file\r\n\r\n");
  ASSERT_TRUE(staged.ok());
  EXPECT_FALSE(staged->inlineBytes.has_value());
  EXPECT_TRUE((*s)->blobs().exists(staged->id));
}

}  // namespace
}  // namespace tern::store::test
