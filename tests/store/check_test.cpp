// Tests for SqliteStore::check: a healthy store is clean; each kind of damage a crash or a manual
// edit can leave is reported, the safe ones are repaired (and then stay clean), the others are not.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>

#include "store_fixture.h"

namespace tern::store::test {
namespace {

class CheckTest : public StoreTest {
 protected:
  // Appends messages with real blobs (the fixture's fake blob ids would all be "missing").
  std::vector<Uid> appendReal(MailboxId mb, std::vector<std::string> bodies, uint32_t flags = 0) {
    std::vector<NewMessage> msgs;
    for (const auto& b : bodies) {
      auto id = store_->blobs().put(b);
      EXPECT_TRUE(id.ok());
      NewMessage m = newMessage(b.size(), flags);
      m.blobId = id.ok() ? *id : "";
      msgs.push_back(std::move(m));
    }
    auto r = store_->append(alice_, mb, msgs);
    EXPECT_TRUE(r.ok());
    return r.ok() ? r->uids : std::vector<Uid>{};
  }

  // Damages the database behind the store's back, as a crash or a manual edit would.
  void sql(const std::string& statement) {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open((dir_.path() + "/data/tern.db").c_str(), &db), SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    char* err = nullptr;
    const int rc = sqlite3_exec(db, statement.c_str(), nullptr, nullptr, &err);
    EXPECT_EQ(rc, SQLITE_OK) << (err ? err : "");
    sqlite3_free(err);
    sqlite3_close(db);
  }

  std::string blobPath(const std::string& id) {
    return store_->blobs().directory() + "/" + id.substr(0, 2) + "/" + id.substr(2, 2) + "/" + id;
  }

  std::string firstBlobId() {
    auto msgs = store_->listMessages(alice_, inbox_);
    EXPECT_TRUE(msgs.ok() && !msgs->empty());
    return msgs.ok() && !msgs->empty() ? (*msgs)[0].blobId : "";
  }

  void populate() {
    appendReal(inbox_, {"Subject: a\r\n\r\none\r\n", "Subject: b\r\n\r\ntwo\r\n"});
    appendReal(inbox_, {"Subject: c\r\n\r\nthree\r\n"}, kSeen | kDeleted);
    auto other = store_->createMailbox(alice_, "Checked");
    ASSERT_TRUE(other.ok());
    appendReal(other->id, {"Subject: a\r\n\r\none\r\n"});  // the same blob twice: hashed once
    ASSERT_TRUE(store_->storeFlags(alice_, inbox_, {1}, FlagOp::Add, Flags{kSeen, {}}).ok());
    ASSERT_TRUE(store_->expunge(alice_, inbox_, std::vector<Uid>{3}).ok());  // leaves a tombstone, UID 3
  }
};

TEST_F(CheckTest, HealthyStoreIsClean) {
  populate();
  auto r = store_->check(false);
  ASSERT_TRUE(r.ok()) << r.error().detail;
  EXPECT_TRUE(r->problems.empty()) << r->problems.front();
  EXPECT_EQ(r->messages, 3u);
  EXPECT_EQ(r->blobs, 2u);
  EXPECT_GE(r->mailboxes, 2u);
  EXPECT_EQ(r->repaired, 0u);
}

TEST_F(CheckTest, EmptyStoreIsClean) {
  auto r = store_->check(true);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->problems.empty());
}

struct Damage {
  const char* name;
  const char* sql;        // run against tern.db; %I is replaced by the INBOX id
  const char* expected;   // a substring of the reported problem
  bool repairable;
};

const Damage kDamages[] = {
    {"MessagesCounter", "UPDATE mailboxes SET messages = messages + 1 WHERE id = %I", "STATUS counters", true},
    {"UnseenCounter", "UPDATE mailboxes SET unseen = 0 WHERE id = %I", "STATUS counters", true},
    {"DeletedCounter", "UPDATE mailboxes SET deleted = 7 WHERE id = %I", "STATUS counters", true},
    {"SizeCounter", "UPDATE mailboxes SET size = size - 3 WHERE id = %I", "STATUS counters", true},
    {"UidnextBelowMessage", "UPDATE mailboxes SET uidnext = 2 WHERE id = %I", "UIDNEXT 2 is not above UID 3", true},
    // UID 3 exists only as a tombstone: UIDNEXT must stay above expunged UIDs too.
    {"UidnextAtTombstone", "UPDATE mailboxes SET uidnext = 3 WHERE id = %I", "UIDNEXT 3 is not above UID 3", true},
    {"HighestModseqBelow", "UPDATE mailboxes SET highestmodseq = 1 WHERE id = %I", "HIGHESTMODSEQ 1 is below", true},
    {"AccountModseqBelow", "UPDATE accounts SET modseq = 0 WHERE address = 'alice@example.com'", "MODSEQ counter 0",
     true},
    {"RecentAboveUidnext", "UPDATE mailboxes SET recent_uid = 99 WHERE id = %I", "Recent watermark 99", true},
    {"UidLiveAndExpunged", "INSERT INTO tombstones(mailbox_id, uid, modseq) VALUES (%I, 1, 1)",
     "UID 1 is both a message and expunged", false},
    {"MalformedBlobId", "UPDATE messages SET blob_id = '../../etc/passwd' WHERE mailbox_id = %I AND uid = 2",
     "malformed blob id", false},
    {"MissingBlob", "UPDATE messages SET blob_id = '" "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
     "' WHERE mailbox_id = %I AND uid = 2", "is missing", false},
    {"SizeDiffersFromBlob", "UPDATE messages SET size = 5 WHERE mailbox_id = %I AND uid = 2", "differs from its blob",
     false},
};

class CheckDamageTest : public CheckTest, public ::testing::WithParamInterface<Damage> {};

TEST_P(CheckDamageTest, ReportsAndRepairsWhatIsSafe) {
  const Damage& d = GetParam();
  populate();
  std::string statement = d.sql;
  if (auto at = statement.find("%I"); at != std::string::npos) statement.replace(at, 2, std::to_string(inbox_));
  sql(statement);

  auto found = store_->check(false);
  ASSERT_TRUE(found.ok()) << found.error().detail;
  ASSERT_FALSE(found->problems.empty());
  bool named = false;
  for (const auto& p : found->problems) named = named || p.find(d.expected) != std::string::npos;
  EXPECT_TRUE(named) << "got: " << found->problems.front();
  // A plain check changes nothing.
  auto again = store_->check(false);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->problems, found->problems);

  auto repaired = store_->check(true);
  ASSERT_TRUE(repaired.ok()) << repaired.error().detail;
  EXPECT_EQ(repaired->problems.size(), found->problems.size());
  auto after = store_->check(false);
  ASSERT_TRUE(after.ok());
  if (d.repairable) {
    EXPECT_EQ(repaired->repaired, found->problems.size());
    EXPECT_TRUE(after->problems.empty()) << after->problems.front();
  } else {
    // The damage itself stays (only side effects on counters may have been repaired).
    named = false;
    for (const auto& p : after->problems) {
      named = named || p.find(d.expected) != std::string::npos;
      EXPECT_NE(std::find(found->problems.begin(), found->problems.end(), p), found->problems.end()) << p;
    }
    EXPECT_TRUE(named);
    EXPECT_EQ(repaired->repaired + after->problems.size(), found->problems.size());
  }
}

INSTANTIATE_TEST_SUITE_P(All, CheckDamageTest, ::testing::ValuesIn(kDamages),
                         [](const auto& info) { return std::string(info.param.name); });

TEST_F(CheckTest, RepairRecountsToTheTrueValues) {
  populate();
  sql("UPDATE mailboxes SET messages = 40, unseen = 40, deleted = 40, size = 40, uidnext = 1 WHERE id = " +
      std::to_string(inbox_));
  ASSERT_TRUE(store_->check(true).ok());
  auto s = store_->status(alice_, inbox_);
  ASSERT_TRUE(s.ok());
  // Left after populate(): UIDs 1 (\Seen) and 2; UID 3 expunged.
  EXPECT_EQ(s->messages, 2u);
  EXPECT_EQ(s->unseen, 1u);
  EXPECT_EQ(s->deleted, 0u);
  EXPECT_EQ(s->size, std::string("Subject: a\r\n\r\none\r\n").size() + std::string("Subject: b\r\n\r\ntwo\r\n").size());
  EXPECT_EQ(s->uidNext, 4u);
  // New mail continues above every UID ever used.
  auto uids = appendReal(inbox_, {"Subject: d\r\n\r\nfour\r\n"});
  ASSERT_EQ(uids.size(), 1u);
  EXPECT_EQ(uids[0], 4u);
}

TEST_F(CheckTest, CorruptBlobIsReportedNotRepaired) {
  populate();
  const std::string id = firstBlobId();
  const std::string path = blobPath(id);
  ASSERT_TRUE(std::filesystem::exists(path));
  std::filesystem::permissions(path, std::filesystem::perms::owner_write, std::filesystem::perm_options::add);
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << "Subject: X\r\n\r\none\r\n";  // same size, other bytes
  }
  auto r = store_->check(true);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->problems.size(), 1u);
  EXPECT_NE(r->problems[0].find("does not match its SHA-256"), std::string::npos) << r->problems[0];
  EXPECT_EQ(r->repaired, 0u);

  std::filesystem::remove(path);
  auto gone = store_->check(false);
  ASSERT_TRUE(gone.ok());
  ASSERT_FALSE(gone->problems.empty());
  EXPECT_NE(gone->problems[0].find("is missing"), std::string::npos) << gone->problems[0];
}

TEST_F(CheckTest, CorruptInlineBlobIsReported) {
  // Inline blobs have time-ordered ids (inlineBlobIdOf) whose hash part still names the content.
  const std::string body = "Subject: inline\r\n\r\nkept in the database\r\n";
  auto staged = store_->blobs().stage(body);
  ASSERT_TRUE(staged.ok());
  ASSERT_TRUE(staged->inlineBytes.has_value());
  NewMessage m = newMessage(body.size());
  m.blobId = staged->id;
  m.inlineBytes = staged->inlineBytes;
  ASSERT_TRUE(store_->append(alice_, inbox_, {m}).ok());
  auto clean = store_->check(false);
  ASSERT_TRUE(clean.ok());
  EXPECT_TRUE(clean->problems.empty()) << clean->problems.front();

  sql("UPDATE blob_data SET bytes = CAST('Subject: inline\r\n\r\nkept in the databasE\r\n' AS BLOB) "
      "WHERE blob_id = '" + staged->id + "'");
  auto r = store_->check(false);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->problems.size(), 1u);
  EXPECT_NE(r->problems[0].find("does not match its SHA-256"), std::string::npos) << r->problems[0];
}

}  // namespace
}  // namespace tern::store::test
