// The outbound queue's scheduling and administration calls (schema v4): claim with leases, defer,
// complete, hold/release, retry, remove, the admin listings, the v3 -> v4 migration, and `check`
// looking at queued blobs.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <algorithm>
#include <ctime>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "store/sqlite/schema.h"
#include "store_fixture.h"

namespace tern::store::test {
namespace {

int64_t nowSeconds() { return static_cast<int64_t>(::time(nullptr)); }

class QueueTest : public StoreTest {
 protected:
  // One message with the given recipients (NOTIFY/ORCPT filled in per position).
  int64_t enqueue(std::vector<std::string> rcpts, std::string blobId = std::string(64, 'e')) {
    OutboundMessage m;
    m.sender = "alice@example.com";
    m.blobId = std::move(blobId);
    m.size = 4321;
    m.ret = "FULL";
    m.envid = "ENV-1";
    m.eightBit = true;
    m.submitter = alice_;
    for (size_t i = 0; i < rcpts.size(); ++i) {
      m.recipients.push_back({rcpts[i], i == 0 ? "FAILURE,DELAY" : "", i == 0 ? "rfc822;" + rcpts[i] : ""});
    }
    auto id = store_->enqueueOutbound(m);
    EXPECT_TRUE(id.ok()) << (id.ok() ? "" : id.error().detail);
    return id.ok() ? *id : 0;
  }

  std::vector<QueueEntry> queue() {
    auto q = store_->listQueue(1000);
    EXPECT_TRUE(q.ok()) << (q.ok() ? "" : q.error().detail);
    return q.ok() ? *q : std::vector<QueueEntry>{};
  }

  std::vector<QueueEntry> claim(int64_t now, int64_t leaseUntil, size_t limit = 100) {
    auto c = store_->claimOutbound(now, leaseUntil, limit);
    EXPECT_TRUE(c.ok()) << (c.ok() ? "" : c.error().detail);
    return c.ok() ? *c : std::vector<QueueEntry>{};
  }

  size_t dueCount(int64_t at) {
    auto d = store_->listOutbound(at, 1000);
    EXPECT_TRUE(d.ok());
    return d.ok() ? d->size() : 0;
  }

  std::string dbPath() const { return dir_.path() + "/data/tern.db"; }

  // Runs SQL on the database file behind the store's back (as an older Tern or an operator would).
  void sql(const std::string& statement) {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(dbPath().c_str(), &db), SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    char* err = nullptr;
    const int rc = sqlite3_exec(db, statement.c_str(), nullptr, nullptr, &err);
    EXPECT_EQ(rc, SQLITE_OK) << (err ? err : "");
    sqlite3_free(err);
    sqlite3_close(db);
  }

  // The values of one column of a query, as text.
  std::vector<std::string> column(const std::string& query) {
    std::vector<std::string> out;
    sqlite3* db = nullptr;
    EXPECT_EQ(sqlite3_open(dbPath().c_str(), &db), SQLITE_OK);
    sqlite3_stmt* st = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(db, query.c_str(), -1, &st, nullptr), SQLITE_OK) << sqlite3_errmsg(db);
    while (st && sqlite3_step(st) == SQLITE_ROW) {
      const unsigned char* t = sqlite3_column_text(st, 0);
      out.push_back(t ? reinterpret_cast<const char*>(t) : "");
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    return out;
  }

  void reopen() {
    store_.reset();
    auto s = SqliteStore::open(dir_.path() + "/data", fastOptions());
    ASSERT_TRUE(s.ok()) << s.error().detail;
    store_ = std::move(*s);
  }
};

TEST_F(QueueTest, FreshStoreIsTheCurrentVersionWithQueueColumns) {
  EXPECT_EQ(column("SELECT version FROM schema_version"),
            std::vector<std::string>{std::to_string(sqlite::kSchemaVersion)});
  auto cols = column("SELECT name FROM pragma_table_info('outbound_recipients')");
  for (const char* c : {"held", "delay_notified", "lease_until"}) {
    EXPECT_NE(std::find(cols.begin(), cols.end(), c), cols.end()) << c;
  }
}

TEST_F(QueueTest, MigratesAVersion3Store) {
  const int64_t id = enqueue({"old@remote.example"});
  // Turn the file back into what version 3 wrote: no v4 columns or index, no v5 table or triggers,
  // no v6 index, no v7 directory version, version 3 recorded.
  store_.reset();
  sql("DROP TRIGGER domains_insert_version; DROP TRIGGER domains_delete_version;"
      "DROP TRIGGER accounts_insert_version; DROP TRIGGER accounts_delete_version;"
      "DROP TRIGGER accounts_address_version; DROP TRIGGER aliases_insert_version;"
      "DROP TRIGGER aliases_delete_version; DROP TRIGGER aliases_update_version;"
      "DELETE FROM meta WHERE key = 'directory_version';"
      "DROP INDEX messages_flags;"
      "DROP TRIGGER messages_release_blob; DROP TRIGGER outbound_release_blob; DROP TABLE blob_data;"
      "DROP INDEX outbound_recipients_message;"
      "ALTER TABLE outbound_recipients DROP COLUMN held;"
      "ALTER TABLE outbound_recipients DROP COLUMN delay_notified;"
      "ALTER TABLE outbound_recipients DROP COLUMN lease_until;"
      "UPDATE schema_version SET version = 3;");
  auto cols = column("SELECT name FROM pragma_table_info('outbound_recipients')");
  ASSERT_EQ(std::find(cols.begin(), cols.end(), "held"), cols.end());
  reopen();
  EXPECT_EQ(column("SELECT version FROM schema_version"),
            std::vector<std::string>{std::to_string(sqlite::kSchemaVersion)});
  EXPECT_EQ(column("SELECT value FROM meta WHERE key = 'directory_version'"), std::vector<std::string>{"0"});
  ASSERT_TRUE(store_->addAlias("sales@example.com", {"alice@example.com"}).ok());
  EXPECT_EQ(column("SELECT value FROM meta WHERE key = 'directory_version'"), std::vector<std::string>{"1"});
  auto rows = store_->getQueuedMessage(id);
  ASSERT_TRUE(rows.ok()) << rows.error().detail;
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ((*rows)[0].recipient.address, "old@remote.example");
  EXPECT_FALSE((*rows)[0].held);
  EXPECT_FALSE((*rows)[0].delayNotified);
  // The old row is due and claimable (lease_until defaulted to 0).
  EXPECT_EQ(claim(nowSeconds() + 5, nowSeconds() + 60).size(), 1u);
}

TEST_F(QueueTest, NewerSchemaIsRefused) {
  store_.reset();
  sql("UPDATE schema_version SET version = 99;");
  auto s = SqliteStore::open(dir_.path() + "/data", fastOptions());
  EXPECT_FALSE(s.ok());
}

TEST_F(QueueTest, ListQueueAndShowMessage) {
  const int64_t a = enqueue({"one@remote.example", "two@remote.example"});
  const int64_t b = enqueue({"three@far.example"});
  ASSERT_LT(a, b);
  auto all = queue();
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[0].messageId, a);
  EXPECT_EQ(all[1].messageId, a);
  EXPECT_EQ(all[2].messageId, b);
  EXPECT_LT(all[0].id, all[1].id);
  const QueueEntry& e = all[0];
  EXPECT_EQ(e.sender, "alice@example.com");
  EXPECT_EQ(e.size, 4321u);
  EXPECT_EQ(e.ret, "FULL");
  EXPECT_EQ(e.envid, "ENV-1");
  EXPECT_TRUE(e.eightBit);
  EXPECT_FALSE(e.smtputf8);
  EXPECT_EQ(e.submitter, alice_);
  EXPECT_EQ(e.recipient.notify, "FAILURE,DELAY");
  EXPECT_EQ(e.recipient.orcpt, "rfc822;one@remote.example");
  EXPECT_FALSE(e.held);
  EXPECT_FALSE(e.delayNotified);
  EXPECT_EQ(e.attempts, 0u);
  EXPECT_GT(e.created, 0);

  auto limited = store_->listQueue(2);
  ASSERT_TRUE(limited.ok());
  EXPECT_EQ(limited->size(), 2u);

  auto shown = store_->getQueuedMessage(b);
  ASSERT_TRUE(shown.ok());
  ASSERT_EQ(shown->size(), 1u);
  EXPECT_EQ((*shown)[0].recipient.address, "three@far.example");
  auto missing = store_->getQueuedMessage(b + 100);
  ASSERT_TRUE(missing.ok());
  EXPECT_TRUE(missing->empty());
}

TEST_F(QueueTest, ClaimedRowsAreLeasedUntilTheLeaseEnds) {
  enqueue({"a@remote.example", "b@remote.example", "c@remote.example"});
  const int64_t now = nowSeconds() + 5;
  auto first = claim(now, now + 60, 2);
  ASSERT_EQ(first.size(), 2u);
  EXPECT_EQ(first[0].leaseUntil, now + 60);
  EXPECT_EQ(first[0].recipient.address, "a@remote.example");
  EXPECT_EQ(first[1].recipient.address, "b@remote.example");
  // The leased rows are neither claimed again nor listed as due while the lease lasts.
  auto second = claim(now, now + 60);
  ASSERT_EQ(second.size(), 1u);
  EXPECT_EQ(second[0].recipient.address, "c@remote.example");
  EXPECT_TRUE(claim(now + 59, now + 120).empty());
  EXPECT_EQ(dueCount(now), 0u);
  // Leased rows still show in the admin listing, with their lease.
  auto listed = queue();
  ASSERT_EQ(listed.size(), 3u);
  for (const auto& e : listed) EXPECT_EQ(e.leaseUntil, now + 60);
  // A lease that is never settled expires: the rows are due again (a retry, never a loss).
  EXPECT_EQ(dueCount(now + 60), 3u);
  EXPECT_EQ(claim(now + 60, now + 120).size(), 3u);
}

TEST_F(QueueTest, ReleaseOutboundLeasesEndsEveryLease) {
  enqueue({"a@remote.example", "b@remote.example"});
  const int64_t now = nowSeconds() + 5;
  ASSERT_EQ(claim(now, now + 3600).size(), 2u);
  EXPECT_TRUE(claim(now, now + 3600).empty());
  ASSERT_TRUE(store_->releaseOutboundLeases().ok());
  EXPECT_EQ(claim(now, now + 3600).size(), 2u);
}

TEST_F(QueueTest, ClaimRejectsALeaseInThePast) {
  enqueue({"a@remote.example"});
  const int64_t now = nowSeconds() + 5;
  auto r = store_->claimOutbound(now, now, 10);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, Errc::Invalid);
}

TEST_F(QueueTest, ClaimOrdersByNextAttempt) {
  const int64_t a = enqueue({"late@remote.example"});
  enqueue({"early@remote.example"});
  const int64_t now = nowSeconds() + 5;
  auto rows = store_->getQueuedMessage(a);
  ASSERT_TRUE(rows.ok() && rows->size() == 1);
  // The first message was deferred to a time that is still in the past: it is due, but after the other.
  ASSERT_TRUE(store_->deferOutbound((*rows)[0].id, now - 1, "x", false).ok());
  sql("UPDATE outbound_recipients SET next_attempt = next_attempt - 100 WHERE recipient = 'early@remote.example'");
  auto claimed = claim(now, now + 60);
  ASSERT_EQ(claimed.size(), 2u);
  EXPECT_EQ(claimed[0].recipient.address, "early@remote.example");
  EXPECT_EQ(claimed[1].recipient.address, "late@remote.example");
}

TEST_F(QueueTest, HeldRowsAreNeverDueUntilReleased) {
  const int64_t a = enqueue({"a@remote.example", "b@remote.example"});
  const int64_t b = enqueue({"c@remote.example"});
  const int64_t now = nowSeconds() + 5;
  auto held = store_->holdOutbound(a, true);
  ASSERT_TRUE(held.ok()) << held.error().detail;
  EXPECT_EQ(*held, 2u);
  // Holding again changes nothing.
  auto again = store_->holdOutbound(a, true);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, 0u);
  EXPECT_EQ(dueCount(now), 1u);
  auto claimed = claim(now, now + 60);
  ASSERT_EQ(claimed.size(), 1u);
  EXPECT_EQ(claimed[0].messageId, b);
  // Held rows are listed for the operator, marked held.
  auto all = queue();
  ASSERT_EQ(all.size(), 3u);
  EXPECT_TRUE(all[0].held);
  EXPECT_TRUE(all[1].held);
  EXPECT_FALSE(all[2].held);
  // retry leaves held rows held.
  auto retried = store_->retryOutbound(a, now);
  ASSERT_TRUE(retried.ok());
  EXPECT_EQ(*retried, 0u);
  EXPECT_TRUE(claim(now, now + 60).empty());

  auto released = store_->holdOutbound(a, false);
  ASSERT_TRUE(released.ok());
  EXPECT_EQ(*released, 2u);
  EXPECT_EQ(claim(now, now + 60).size(), 2u);
}

TEST_F(QueueTest, HoldAndReleaseEverything) {
  enqueue({"a@remote.example"});
  enqueue({"b@remote.example", "c@remote.example"});
  auto held = store_->holdOutbound(std::nullopt, true);
  ASSERT_TRUE(held.ok());
  EXPECT_EQ(*held, 3u);
  EXPECT_EQ(dueCount(nowSeconds() + 5), 0u);
  auto released = store_->holdOutbound(std::nullopt, false);
  ASSERT_TRUE(released.ok());
  EXPECT_EQ(*released, 3u);
  EXPECT_EQ(dueCount(nowSeconds() + 5), 3u);
}

TEST_F(QueueTest, DeferCountsAttemptsAndEndsTheLease) {
  enqueue({"a@remote.example"});
  const int64_t now = nowSeconds() + 5;
  auto claimed = claim(now, now + 600);
  ASSERT_EQ(claimed.size(), 1u);
  const int64_t id = claimed[0].id;
  ASSERT_TRUE(store_->deferOutbound(id, now + 300, "451 4.3.0 try later", false).ok());
  auto rows = queue();
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].attempts, 1u);
  EXPECT_EQ(rows[0].lastError, "451 4.3.0 try later");
  EXPECT_EQ(rows[0].nextAttempt, now + 300);
  EXPECT_EQ(rows[0].leaseUntil, 0);
  EXPECT_FALSE(rows[0].delayNotified);
  // Not due before the next attempt; due then, although the old lease (now + 600) has not run out.
  EXPECT_TRUE(claim(now + 299, now + 1000).empty());
  ASSERT_EQ(claim(now + 300, now + 1000).size(), 1u);

  // delayNotified is sticky: once set, a later defer without it keeps it.
  ASSERT_TRUE(store_->deferOutbound(id, now + 2000, "timeout", true).ok());
  ASSERT_TRUE(store_->deferOutbound(id, now + 3000, "timeout again", false).ok());
  rows = queue();
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].attempts, 3u);
  EXPECT_TRUE(rows[0].delayNotified);
  EXPECT_EQ(rows[0].lastError, "timeout again");

  // A huge remote reply is bounded.
  ASSERT_TRUE(store_->deferOutbound(id, now + 4000, std::string(100000, 'x'), false).ok());
  rows = queue();
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_LE(rows[0].lastError.size(), 2000u);
  EXPECT_GE(rows[0].lastError.size(), 1000u);

  auto gone = store_->deferOutbound(id + 1000, now, "x", false);
  ASSERT_FALSE(gone.ok());
  EXPECT_EQ(gone.error().code, Errc::NotFound);
}

TEST_F(QueueTest, CompletingTheLastRecipientRemovesTheMessage) {
  const int64_t a = enqueue({"a@remote.example", "b@remote.example"});
  const int64_t b = enqueue({"c@remote.example"});
  auto rows = store_->getQueuedMessage(a);
  ASSERT_TRUE(rows.ok());
  ASSERT_EQ(rows->size(), 2u);
  ASSERT_TRUE(store_->completeOutbound((*rows)[0].id).ok());
  EXPECT_EQ(column("SELECT count(*) FROM outbound_messages WHERE id = " + std::to_string(a)),
            std::vector<std::string>{"1"});
  auto left = store_->getQueuedMessage(a);
  ASSERT_TRUE(left.ok());
  ASSERT_EQ(left->size(), 1u);
  EXPECT_EQ((*left)[0].recipient.address, "b@remote.example");

  ASSERT_TRUE(store_->completeOutbound((*rows)[1].id).ok());
  EXPECT_EQ(column("SELECT count(*) FROM outbound_messages WHERE id = " + std::to_string(a)),
            std::vector<std::string>{"0"});
  left = store_->getQueuedMessage(a);
  ASSERT_TRUE(left.ok());
  EXPECT_TRUE(left->empty());
  // The other message is untouched.
  auto other = store_->getQueuedMessage(b);
  ASSERT_TRUE(other.ok());
  EXPECT_EQ(other->size(), 1u);

  auto twice = store_->completeOutbound((*rows)[1].id);
  ASSERT_FALSE(twice.ok());
  EXPECT_EQ(twice.error().code, Errc::NotFound);
}

TEST_F(QueueTest, RetryMakesRowsDueNowButKeepsLiveLeases) {
  const int64_t a = enqueue({"a@remote.example", "b@remote.example"});
  const int64_t b = enqueue({"c@remote.example"});
  const int64_t now = nowSeconds() + 5;
  for (const auto& e : claim(now, now + 60)) {
    ASSERT_TRUE(store_->deferOutbound(e.id, now + 86400, "later", false).ok());
  }
  EXPECT_EQ(dueCount(now), 0u);
  auto one = store_->retryOutbound(a, now);
  ASSERT_TRUE(one.ok()) << one.error().detail;
  EXPECT_EQ(*one, 2u);
  auto due = store_->listOutbound(now, 100);
  ASSERT_TRUE(due.ok());
  ASSERT_EQ(due->size(), 2u);
  EXPECT_EQ((*due)[0].messageId, a);

  // A row that a scheduler is delivering right now stays leased: retry must not make it claimable
  // twice.
  ASSERT_EQ(claim(now, now + 60).size(), 2u);
  auto all = store_->retryOutbound(std::nullopt, now);
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(*all, 3u);
  auto claimed = claim(now, now + 60);
  ASSERT_EQ(claimed.size(), 1u);
  EXPECT_EQ(claimed[0].messageId, b);
}

TEST_F(QueueTest, RemoveDeletesRowsAndMessages) {
  const int64_t a = enqueue({"a@remote.example", "b@remote.example"});
  enqueue({"c@remote.example"});
  enqueue({"d@remote.example"});
  auto removed = store_->removeOutbound(a);
  ASSERT_TRUE(removed.ok()) << removed.error().detail;
  EXPECT_EQ(*removed, 2u);
  auto shown = store_->getQueuedMessage(a);
  ASSERT_TRUE(shown.ok());
  EXPECT_TRUE(shown->empty());
  EXPECT_EQ(queue().size(), 2u);
  auto none = store_->removeOutbound(a);
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(*none, 0u);

  auto rest = store_->removeOutbound(std::nullopt);
  ASSERT_TRUE(rest.ok());
  EXPECT_EQ(*rest, 2u);
  EXPECT_TRUE(queue().empty());
  EXPECT_EQ(column("SELECT count(*) FROM outbound_messages"), std::vector<std::string>{"0"});
}

TEST_F(QueueTest, ConcurrentClaimsNeverReturnTheSameRow) {
  constexpr int kMessages = 40, kPerMessage = 5;
  for (int m = 0; m < kMessages; ++m) {
    std::vector<std::string> rcpts;
    for (int r = 0; r < kPerMessage; ++r) rcpts.push_back("r" + std::to_string(m * kPerMessage + r) + "@remote.example");
    enqueue(rcpts);
  }
  const int64_t now = nowSeconds() + 5;
  std::mutex mu;
  std::vector<int64_t> seen;
  std::vector<std::thread> threads;
  for (int t = 0; t < 2; ++t) {
    threads.emplace_back([&] {
      for (int round = 0; round < 1000; ++round) {  // bounded: 200 rows at >= 1 per claim
        auto c = store_->claimOutbound(now, now + 600, 7);
        if (!c.ok() || c->empty()) return;
        std::lock_guard lock(mu);
        for (const auto& e : *c) seen.push_back(e.id);
      }
    });
  }
  for (auto& t : threads) t.join();
  std::set<int64_t> unique(seen.begin(), seen.end());
  EXPECT_EQ(seen.size(), static_cast<size_t>(kMessages * kPerMessage));
  EXPECT_EQ(unique.size(), seen.size());
}

TEST_F(QueueTest, CheckVerifiesQueuedBlobs) {
  const std::string body = "Subject: queued\r\n\r\nhello\r\n";
  auto blob = store_->blobs().put(body);
  ASSERT_TRUE(blob.ok());
  OutboundMessage m;
  m.sender = "alice@example.com";
  m.blobId = *blob;
  m.size = body.size();
  m.recipients = {{"x@remote.example", "", ""}};
  ASSERT_TRUE(store_->enqueueOutbound(m).ok());
  auto clean = store_->check(false);
  ASSERT_TRUE(clean.ok()) << clean.error().detail;
  EXPECT_TRUE(clean->problems.empty()) << clean->problems.front();
  EXPECT_EQ(clean->blobs, 1u);

  enqueue({"y@remote.example"}, std::string(64, 'f'));  // a blob that was never stored
  auto damaged = store_->check(false);
  ASSERT_TRUE(damaged.ok());
  ASSERT_EQ(damaged->problems.size(), 1u);
  EXPECT_NE(damaged->problems[0].find("queued message"), std::string::npos) << damaged->problems[0];
  EXPECT_NE(damaged->problems[0].find("missing"), std::string::npos) << damaged->problems[0];
}

}  // namespace
}  // namespace tern::store::test
