// IndexCache against a real SqliteStore: a cached index caught up with changesSince equals a fresh
// scan after appends, flag changes and expunges; other accounts never get it; small mailboxes and
// over-budget indexes are not kept.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>

#include "imap/server/index_cache.h"
#include "store/sqlite/sqlite_store.h"

using namespace tern;
using tern::imap::server::IndexCache;
using tern::imap::server::MessageIndex;

namespace {

class IndexCacheTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/tern-index-cache-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    store::SqliteOptions o;
    o.synchronousFull = false;
    o.externalPollInterval = std::chrono::milliseconds(0);
    auto s = store::SqliteStore::open(dir_ + "/data", o);
    ASSERT_TRUE(s.ok()) << s.error().detail;
    store_ = std::move(*s);
    ASSERT_TRUE(store_->addDomain("example.com").ok());
    alice_ = *store_->addAccount("alice@example.com", store::Credentials{});
    bob_ = *store_->addAccount("bob@example.com", store::Credentials{});
    inbox_ = store_->findMailbox(alice_, "INBOX")->id;
  }
  void TearDown() override {
    store_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  void append(int n, uint32_t flags = 0, std::vector<std::string> keywords = {}) {
    std::vector<store::NewMessage> batch;
    for (int i = 0; i < n; ++i) {
      store::NewMessage m;
      m.blobId = std::string(64, 'c');
      m.size = 10;
      m.flags = store::Flags{flags, keywords};
      batch.push_back(m);
    }
    ASSERT_TRUE(store_->append(alice_, inbox_, batch).ok());
  }
  // The index as a plain list, for comparison with a fresh scan.
  static std::vector<std::pair<store::Uid, store::Flags>> flatten(const MessageIndex& index) {
    std::vector<std::pair<store::Uid, store::Flags>> out;
    for (size_t i = 0; i < index.size(); ++i) out.emplace_back(index[i].uid, index.flags(i));
    return out;
  }
  std::vector<std::pair<store::Uid, store::Flags>> scan() {
    std::vector<std::pair<store::Uid, store::Flags>> out;
    EXPECT_TRUE(store_->scanFlags(alice_, inbox_, [&](store::Uid u, const store::Flags& f) { out.emplace_back(u, f); }).ok());
    return out;
  }

  std::string dir_;
  std::unique_ptr<store::SqliteStore> store_;
  store::AccountId alice_ = 0, bob_ = 0;
  store::MailboxId inbox_ = 0;
};

TEST_F(IndexCacheTest, CachedIndexCatchesUpExactly) {
  IndexCache cache(1000, 10);
  append(50, store::kSeen);
  MessageIndex first;
  auto info = cache.load(*store_, alice_, inbox_, first);
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(first.size(), 50u);
  EXPECT_EQ(cache.cachedMessages(), 50u);
  EXPECT_EQ(cache.hits(), 0u);

  // Changes after the cached snapshot: new messages, flag changes, expunges.
  append(5, 0, {"$New"});
  ASSERT_TRUE(store_->storeFlags(alice_, inbox_, {3, 4, 52}, store::FlagOp::Replace, store::Flags{store::kFlagged, {"Work"}}).ok());
  ASSERT_TRUE(store_->storeFlags(alice_, inbox_, {10, 20, 54}, store::FlagOp::Add, store::Flags{store::kDeleted, {}}).ok());
  ASSERT_TRUE(store_->expunge(alice_, inbox_).ok());

  MessageIndex second;
  auto info2 = cache.load(*store_, alice_, inbox_, second);
  ASSERT_TRUE(info2.ok());
  EXPECT_EQ(cache.hits(), 1u);
  EXPECT_EQ(flatten(second), scan());
  EXPECT_EQ(second.size(), 52u);
  auto mb = store_->getMailbox(alice_, inbox_);
  EXPECT_EQ(info2->highestModSeq, mb->highestModSeq);
  EXPECT_EQ(info2->uidNext, mb->uidNext);

  // Changing the copy handed out leaves the cache alone.
  second.setFlags(0, store::Flags{store::kDraft, {}});
  MessageIndex third;
  ASSERT_TRUE(cache.load(*store_, alice_, inbox_, third).ok());
  EXPECT_EQ(flatten(third), scan());
}

TEST_F(IndexCacheTest, OtherAccountsAndSmallOrHugeMailboxes) {
  IndexCache cache(100, 10);
  append(5);
  MessageIndex index;
  ASSERT_TRUE(cache.load(*store_, alice_, inbox_, index).ok());
  EXPECT_EQ(cache.cachedMessages(), 0u);  // under minMessages
  append(20);
  ASSERT_TRUE(cache.load(*store_, alice_, inbox_, index).ok());
  EXPECT_EQ(cache.cachedMessages(), 25u);
  // Bob may not read alice's mailbox through the cache: the store says NotFound.
  MessageIndex stolen;
  auto r = cache.load(*store_, bob_, inbox_, stolen);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, store::Errc::NotFound);
  EXPECT_TRUE(stolen.empty());
  append(100);  // 125 messages: over the whole budget, dropped
  ASSERT_TRUE(cache.load(*store_, alice_, inbox_, index).ok());
  EXPECT_EQ(index.size(), 125u);
  EXPECT_EQ(cache.cachedMessages(), 0u);
}

}  // namespace

namespace {

TEST_F(IndexCacheTest, WarmLoadsLargeMailboxesSoTheFirstLoadIsAHit) {
  IndexCache cache(1000, 50);  // keep mailboxes of 50..1000 messages
  append(60);
  auto bobInbox = store_->findMailbox(bob_, "INBOX")->id;
  ASSERT_TRUE(store_->append(bob_, bobInbox, std::vector<store::NewMessage>(10, store::NewMessage{std::string(64, 'd'), 5})).ok());
  EXPECT_EQ(cache.warm(*store_, *store_), 1u);  // alice's INBOX only: bob's is small
  EXPECT_EQ(cache.cachedMessages(), 60u);
  EXPECT_EQ(cache.hits(), 0u);
  // The first SELECT after the warm-up copies the cached index, and it equals a fresh scan.
  append(3, store::kSeen);
  MessageIndex index;
  ASSERT_TRUE(cache.load(*store_, alice_, inbox_, index).ok());
  EXPECT_EQ(cache.hits(), 1u);
  EXPECT_EQ(flatten(index), scan());
}

TEST_F(IndexCacheTest, WarmStaysWithinTheBudget) {
  IndexCache cache(50, 10);  // room for 50 messages
  append(60);
  EXPECT_EQ(cache.warm(*store_, *store_), 0u);
  EXPECT_EQ(cache.cachedMessages(), 0u);
}

// Following changes: a small mailbox is not loaded, one that grows past the threshold is, a cached
// one is brought up to date (the next SELECT's load is a hit with nothing to catch up), and a
// deleted one is dropped. Background refreshes do not count as hits.
TEST_F(IndexCacheTest, NotedMailboxesAreRefreshedOrLoaded) {
  IndexCache cache(1000, 50);
  append(10);
  cache.noteChanged(inbox_);
  EXPECT_TRUE(cache.hasNoted());
  EXPECT_EQ(cache.refreshNoted(*store_), 0u);  // 10 messages: not worth keeping
  EXPECT_FALSE(cache.hasNoted());
  EXPECT_EQ(cache.cachedMessages(), 0u);

  append(60, store::kSeen);
  cache.noteChanged(inbox_);
  EXPECT_EQ(cache.refreshNoted(*store_), 1u);  // grew past 50: loaded without a SELECT
  EXPECT_EQ(cache.cachedMessages(), 70u);

  append(3, 0, {"$Later"});
  ASSERT_TRUE(store_->storeFlags(alice_, inbox_, {2, 5}, store::FlagOp::Add, store::Flags{store::kDeleted, {}}).ok());
  ASSERT_TRUE(store_->expunge(alice_, inbox_).ok());
  cache.noteChanged(inbox_);
  EXPECT_EQ(cache.refreshNoted(*store_), 1u);
  EXPECT_EQ(cache.cachedMessages(), 71u);
  EXPECT_EQ(cache.hits(), 0u);

  MessageIndex index;
  auto info = cache.load(*store_, alice_, inbox_, index);
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(cache.hits(), 1u);
  EXPECT_EQ(flatten(index), scan());
  EXPECT_EQ(info->highestModSeq, store_->getMailbox(alice_, inbox_)->highestModSeq);

  // A large mailbox that is deleted leaves the cache at the next refresh.
  auto big = store_->createMailbox(alice_, "Big");
  ASSERT_TRUE(big.ok());
  std::vector<store::NewMessage> batch(60);
  for (auto& m : batch) {
    m.blobId = std::string(64, 'd');
    m.size = 10;
  }
  ASSERT_TRUE(store_->append(alice_, big->id, batch).ok());
  cache.noteChanged(big->id);
  EXPECT_EQ(cache.refreshNoted(*store_), 1u);
  EXPECT_EQ(cache.cachedMessages(), 131u);
  ASSERT_TRUE(store_->deleteMailbox(alice_, "Big").ok());
  cache.noteChanged(big->id);
  EXPECT_EQ(cache.refreshNoted(*store_), 0u);
  EXPECT_EQ(cache.cachedMessages(), 71u);
}

}  // namespace
