// Writer thread and group commit, concurrent appends, reopening, the external-change poller, and a
// STATUS timing on a 100k-message mailbox.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "store_fixture.h"

namespace tern::store::test {
namespace {

TEST_F(StoreTest, ConcurrentAppendsGetUniqueUidsInModSeqOrder) {
  constexpr int kThreads = 8, kPerThread = 50;
  std::vector<std::vector<Uid>> got(kThreads);
  uint64_t commitsBefore = store_->commitCount();
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        auto r = store_->append(alice_, inbox_, {newMessage(t * 1000 + i)});
        ASSERT_TRUE(r.ok());
        got[t].push_back(r->uids.at(0));
        // Reads from this thread see its own committed write.
        auto back = store_->getMessages(alice_, inbox_, {r->uids[0]});
        ASSERT_EQ(back->size(), 1u);
        ASSERT_EQ(back->at(0).size, static_cast<uint64_t>(t * 1000 + i));
      }
    });
  }
  for (auto& th : threads) th.join();
  std::set<Uid> all;
  for (int t = 0; t < kThreads; ++t) {
    EXPECT_TRUE(std::is_sorted(got[t].begin(), got[t].end()));
    all.insert(got[t].begin(), got[t].end());
  }
  EXPECT_EQ(all.size(), static_cast<size_t>(kThreads * kPerThread));
  auto msgs = *store_->listMessages(alice_, inbox_);
  ASSERT_EQ(msgs.size(), static_cast<size_t>(kThreads * kPerThread));
  for (size_t i = 1; i < msgs.size(); ++i) {
    ASSERT_LT(msgs[i - 1].uid, msgs[i].uid);
    ASSERT_LT(msgs[i - 1].modSeq, msgs[i].modSeq) << "UID order must equal MODSEQ order";
  }
  uint64_t commits = store_->commitCount() - commitsBefore;
  RecordProperty("commits_for_400_appends", std::to_string(commits));
  std::printf("[ info ] %d concurrent appends took %llu commits\n", kThreads * kPerThread,
              static_cast<unsigned long long>(commits));
  EXPECT_LE(commits, static_cast<uint64_t>(kThreads * kPerThread));
}

TEST_F(StoreTest, GroupCommitBatchesQueuedWriters) {
  constexpr int kWriters = 12;
  store_->pauseWriterForTest(true);
  uint64_t before = store_->commitCount();
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int i = 0; i < kWriters; ++i) {
    threads.emplace_back([&, i] {
      Result<void> r = (i == 5)
          ? Result<void>(store_->createMailbox(alice_, "INBOX").ok() ? Result<void>() : fail(Errc::AlreadyExists))
          : Result<void>(store_->append(alice_, inbox_, {newMessage(i)}).ok() ? Result<void>() : fail(Errc::Internal));
      if (r.ok()) ok.fetch_add(1);
    });
  }
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (store_->queuedWrites() < static_cast<size_t>(kWriters) && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  ASSERT_EQ(store_->queuedWrites(), static_cast<size_t>(kWriters));
  EXPECT_EQ(store_->commitCount(), before);  // nobody has committed yet
  store_->pauseWriterForTest(false);
  for (auto& th : threads) th.join();
  EXPECT_EQ(store_->commitCount() - before, 1u);  // one commit for all twelve
  EXPECT_EQ(ok.load(), kWriters - 1);             // the failing request rolled back only itself
  EXPECT_EQ(store_->listMessages(alice_, inbox_)->size(), static_cast<size_t>(kWriters - 1));
  EXPECT_EQ(store_->status(alice_, inbox_)->messages, static_cast<uint32_t>(kWriters - 1));
}

TEST_F(StoreTest, NotifiesSubscribersAfterCommit) {
  std::atomic<int> calls{0};
  auto sub = store_->changes().subscribe(inbox_, [&] { calls.fetch_add(1); });
  appendN(inbox_, 1);
  EXPECT_EQ(calls.load(), 1);
  ASSERT_TRUE(store_->storeFlags(alice_, inbox_, {1}, FlagOp::Add, Flags{kSeen, {}}).ok());
  EXPECT_EQ(calls.load(), 2);
  ASSERT_TRUE(store_->storeFlags(alice_, inbox_, {1}, FlagOp::Add, Flags{kSeen, {}}).ok());  // no change
  EXPECT_EQ(calls.load(), 2);
  EXPECT_FALSE(store_->append(alice_, inbox_, {newMessage(1, 0, {"bad(kw"})}).ok());
  EXPECT_EQ(calls.load(), 2);
}

TEST(SqliteStoreLifecycle, ReopenKeepsEverythingAndPermissions) {
  TempDir dir;
  const std::string data = dir.path() + "/data";
  AccountId alice = 0;
  MailboxId box = 0;
  uint32_t validity = 0;
  ModSeq hms = 0;
  std::string blobId;
  {
    auto s = SqliteStore::open(data, fastOptions());
    ASSERT_TRUE(s.ok()) << s.error().detail;
    auto& store = **s;
    ASSERT_TRUE(store.addDomain("example.com").ok());
    alice = *store.addAccount("alice@example.com", Credentials{"hash", "salt", 4096, "k1", "k2"});
    auto mb = store.createMailbox(alice, "Projects/Tern");
    ASSERT_TRUE(mb.ok());
    box = mb->id;
    validity = mb->uidValidity;
    auto id = store.blobs().put("Subject: hi\r\n\r\nbody\r\n");
    ASSERT_TRUE(id.ok());
    blobId = *id;
    NewMessage m{blobId, 21, Flags{kSeen, {"Keep"}}, DateTime{1600000000, -300}};
    ASSERT_TRUE(store.append(alice, box, {m, m}).ok());
    ASSERT_TRUE(store.storeFlags(alice, box, {1}, FlagOp::Add, Flags{kDeleted, {}}).ok());
    ASSERT_TRUE(store.expunge(alice, box).ok());
    ASSERT_TRUE(store.addAlias("all@example.com", {"alice@example.com"}).ok());
    hms = store.getMailbox(alice, box)->highestModSeq;
  }
  struct stat st{};
  ASSERT_EQ(::stat(data.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  ASSERT_EQ(::stat((data + "/tern.db").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(::stat((data + "/blobs").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);

  auto s = SqliteStore::open(data, fastOptions());
  ASSERT_TRUE(s.ok()) << s.error().detail;
  auto& store = **s;
  auto acct = store.findAccount("alice@example.com");
  ASSERT_TRUE(acct.ok() && acct->has_value());
  EXPECT_EQ((*acct)->credentials.scramIterations, 4096u);
  auto mb = store.findMailbox(alice, "Projects/Tern");
  ASSERT_TRUE(mb.ok());
  EXPECT_EQ(mb->id, box);
  EXPECT_EQ(mb->uidValidity, validity);
  EXPECT_EQ(mb->highestModSeq, hms);
  EXPECT_EQ(mb->uidNext, 3u);
  auto msgs = store.listMessages(alice, box);
  ASSERT_EQ(msgs->size(), 1u);
  EXPECT_EQ((*msgs)[0].uid, 2u);
  EXPECT_EQ((*msgs)[0].flags.keywords, std::vector<std::string>{"Keep"});
  EXPECT_EQ((*msgs)[0].internalDate, (DateTime{1600000000, -300}));
  EXPECT_EQ(store.changesSince(alice, box, 0)->expunged, std::vector<Uid>{1});
  EXPECT_EQ((*store.blobs().open((*msgs)[0].blobId))->bytes(), "Subject: hi\r\n\r\nbody\r\n");
  EXPECT_EQ(store.resolveAddress("all@example.com")->size(), 1u);
  // New allocations continue above the old ones.
  auto more = store.append(alice, box, {NewMessage{blobId, 21, {}, {}}});
  ASSERT_TRUE(more.ok());
  EXPECT_EQ(more->uids, std::vector<Uid>{3});
  EXPECT_GT(store.getMailbox(alice, box)->highestModSeq, hms);
}

TEST(SqliteStoreLifecycle, PollerNotifiesForAnotherInstancesCommits) {
  TempDir dir;
  const std::string data = dir.path() + "/data";
  SqliteOptions watching = fastOptions();
  watching.externalPollInterval = std::chrono::milliseconds(20);
  auto a = SqliteStore::open(data, watching);
  ASSERT_TRUE(a.ok()) << a.error().detail;
  ASSERT_TRUE((*a)->addDomain("example.com").ok());
  AccountId alice = *(*a)->addAccount("alice@example.com", {});
  MailboxId inbox = (*a)->findMailbox(alice, "INBOX")->id;
  MailboxId sent = (*a)->findMailbox(alice, "Sent")->id;

  std::mutex mu;
  std::condition_variable cv;
  int inboxCalls = 0, sentCalls = 0;
  auto subInbox = (*a)->changes().subscribe(inbox, [&] {
    std::lock_guard lock(mu);
    ++inboxCalls;
    cv.notify_all();
  });
  auto subSent = (*a)->changes().subscribe(sent, [&] {
    std::lock_guard lock(mu);
    ++sentCalls;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(80));  // let the poller take baselines
  {
    std::lock_guard lock(mu);
    EXPECT_EQ(inboxCalls, 0);
  }

  auto b = SqliteStore::open(data, fastOptions());  // a second process, as far as A can tell
  ASSERT_TRUE(b.ok()) << b.error().detail;
  ASSERT_TRUE((*b)->append(alice, inbox, {newMessage(10)}).ok());
  {
    std::unique_lock lock(mu);
    EXPECT_TRUE(cv.wait_for(lock, std::chrono::seconds(5), [&] { return inboxCalls > 0; }));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(80));
  {
    std::lock_guard lock(mu);
    EXPECT_EQ(sentCalls, 0);  // only mailboxes that changed are announced
  }
  EXPECT_EQ((*a)->listMessages(alice, inbox)->size(), 1u);
  subInbox.reset();  // subscriptions must not outlive the store's hub
  subSent.reset();
  b->reset();
  auto t0 = std::chrono::steady_clock::now();
  a->reset();  // the destructor stops the poller promptly
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(2));
}

TEST(SqliteStoreLifecycle, StatusOn100kMailbox) {
  TempDir dir;
  auto s = SqliteStore::open(dir.path() + "/data", fastOptions());
  ASSERT_TRUE(s.ok());
  auto& store = **s;
  ASSERT_TRUE(store.addDomain("example.com").ok());
  AccountId a = *store.addAccount("big@example.com", {});
  MailboxId inbox = store.findMailbox(a, "INBOX")->id;
  std::vector<NewMessage> batch;
  for (int i = 0; i < 10000; ++i) batch.push_back(newMessage(1000 + i % 7, i % 3 ? uint32_t{kSeen} : 0u));
  auto t0 = std::chrono::steady_clock::now();
  for (int k = 0; k < 10; ++k) ASSERT_TRUE(store.append(a, inbox, batch).ok());
  auto t1 = std::chrono::steady_clock::now();
  constexpr int kRuns = 100;
  Result<MailboxStatus> st = store.status(a, inbox);
  for (int i = 0; i < kRuns; ++i) st = store.status(a, inbox);
  auto t2 = std::chrono::steady_clock::now();
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(st->messages, 100000u);
  EXPECT_EQ(st->unseen, 33340u);  // i % 3 == 0 for 3334 of i in [0, 10000), ten batches
  EXPECT_EQ(st->recent, 100000u);
  auto perStatusUs = std::chrono::duration_cast<std::chrono::microseconds>(t2 - t1).count() / kRuns;
  RecordProperty("append_100k_ms",
                 std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(t1 - t0).count()));
  RecordProperty("status_us", std::to_string(perStatusUs));
  std::printf("[ info ] 100k appends: %lld ms; STATUS (with \\Recent count): %lld us\n",
              static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(t1 - t0).count()),
              static_cast<long long>(perStatusUs));
  (void)store.claimRecent(a, inbox);
  auto t3 = std::chrono::steady_clock::now();
  for (int i = 0; i < kRuns; ++i) st = store.status(a, inbox);
  auto t4 = std::chrono::steady_clock::now();
  EXPECT_EQ(st->recent, 0u);
  std::printf("[ info ] STATUS after claimRecent: %lld us\n",
              static_cast<long long>(std::chrono::duration_cast<std::chrono::microseconds>(t4 - t3).count() / kRuns));
}

}  // namespace
}  // namespace tern::store::test

namespace tern::store::test {
namespace {

// runOnWriter: work runs on the writer inside a group commit; its writes commit with the batch and
// `committed` reports the commit; a failing write inside rolls back alone.
TEST_F(StoreTest, RunOnWriterCommitsWorkWithTheBatch) {
  constexpr int kWorks = 40;
  std::mutex mu;
  std::condition_variable cv;
  int done = 0, okCommits = 0, appended = 0, failedInside = 0;
  const uint64_t commitsBefore = store_->commitCount();
  store_->pauseWriterForTest(true);  // line them up so they share commits
  for (int i = 0; i < kWorks; ++i) {
    store_->runOnWriter(
        [&, i] {
          auto r = store_->append(alice_, inbox_, {newMessage(100 + i)});
          auto bad = store_->append(alice_, 987654, {newMessage(1)});  // no such mailbox
          std::lock_guard lock(mu);
          if (r.ok()) ++appended;
          if (!bad.ok()) ++failedInside;
        },
        [&](Result<void> r) {
          std::lock_guard lock(mu);
          if (r.ok()) ++okCommits;
          ++done;
          cv.notify_all();
        });
  }
  store_->pauseWriterForTest(false);
  std::unique_lock lock(mu);
  ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(30), [&] { return done == kWorks; }));
  EXPECT_EQ(okCommits, kWorks);
  EXPECT_EQ(appended, kWorks);
  EXPECT_EQ(failedInside, kWorks);
  EXPECT_EQ(store_->status(alice_, inbox_)->messages, static_cast<uint32_t>(kWorks));
  EXPECT_LT(store_->commitCount() - commitsBefore, static_cast<uint64_t>(kWorks));  // grouped
}

}  // namespace
}  // namespace tern::store::test
