// Shared helpers for the store tests: a temp directory removed afterwards and an opened SqliteStore
// with one domain and two accounts.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <memory>
#include <string>

#include "store/sqlite/sqlite_store.h"

namespace tern::store::test {

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/tern-store-test-XXXXXX";
    const char* p = ::mkdtemp(tmpl);
    path_ = p ? p : "";
  }
  ~TempDir() {
    std::error_code ec;
    if (!path_.empty()) std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

inline SqliteOptions fastOptions() {
  SqliteOptions o;
  o.synchronousFull = false;  // the tests check logic, not the disk
  o.externalPollInterval = std::chrono::milliseconds(0);
  return o;
}

inline NewMessage newMessage(uint64_t size, uint32_t flags = 0, std::vector<std::string> keywords = {}) {
  NewMessage m;
  m.blobId = std::string(64, 'a');
  m.size = size;
  m.flags.system = flags;
  m.flags.keywords = std::move(keywords);
  m.internalDate = DateTime{1700000000, 120};
  return m;
}

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(dir_.path().empty());
    auto s = SqliteStore::open(dir_.path() + "/data", fastOptions());
    ASSERT_TRUE(s.ok()) << s.error().detail;
    store_ = std::move(*s);
    ASSERT_TRUE(store_->addDomain("example.com").ok());
    auto a = store_->addAccount("alice@example.com", Credentials{});
    ASSERT_TRUE(a.ok()) << a.error().detail;
    alice_ = *a;
    auto b = store_->addAccount("bob@example.com", Credentials{});
    ASSERT_TRUE(b.ok());
    bob_ = *b;
    auto inbox = store_->findMailbox(alice_, "INBOX");
    ASSERT_TRUE(inbox.ok());
    inbox_ = inbox->id;
  }

  std::vector<Uid> appendN(MailboxId mb, int n, uint32_t flags = 0) {
    std::vector<NewMessage> msgs;
    for (int i = 0; i < n; ++i) msgs.push_back(newMessage(100 + i, flags));
    auto r = store_->append(alice_, mb, msgs);
    EXPECT_TRUE(r.ok());
    return r.ok() ? r->uids : std::vector<Uid>{};
  }

  TempDir dir_;
  std::unique_ptr<SqliteStore> store_;
  AccountId alice_ = 0;
  AccountId bob_ = 0;
  MailboxId inbox_ = 0;
};

}  // namespace tern::store::test
