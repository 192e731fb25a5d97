// Directory: domains, accounts, aliases, catch-all resolution, case-insensitivity.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <thread>

#include "store_fixture.h"

namespace tern::store::test {
namespace {

std::vector<std::string> addresses(const std::vector<Account>& accounts) {
  std::vector<std::string> out;
  for (const auto& a : accounts) out.push_back(a.address);
  return out;
}

TEST_F(StoreTest, Domains) {
  EXPECT_EQ(store_->addDomain("Example.COM").error().code, Errc::AlreadyExists);
  ASSERT_TRUE(store_->addDomain("Other.Org").ok());
  EXPECT_TRUE(*store_->hasDomain("other.org"));
  EXPECT_TRUE(*store_->hasDomain("OTHER.ORG"));
  EXPECT_FALSE(*store_->hasDomain("nowhere.net"));
  EXPECT_EQ(*store_->listDomains(), (std::vector<std::string>{"example.com", "other.org"}));
  EXPECT_EQ(store_->removeDomain("example.com").error().code, Errc::Invalid);  // has accounts
  EXPECT_EQ(store_->removeDomain("nowhere.net").error().code, Errc::NotFound);
  ASSERT_TRUE(store_->removeDomain("other.org").ok());
  EXPECT_EQ(*store_->listDomains(), (std::vector<std::string>{"example.com"}));
  EXPECT_EQ(store_->addDomain("").error().code, Errc::Invalid);
  EXPECT_EQ(store_->addDomain("a b").error().code, Errc::Invalid);
}

TEST_F(StoreTest, AccountsAndDefaultMailboxes) {
  EXPECT_EQ(store_->addAccount("ALICE@example.com", {}).error().code, Errc::AlreadyExists);
  EXPECT_EQ(store_->addAccount("carol@unknown.org", {}).error().code, Errc::Invalid);
  EXPECT_EQ(store_->addAccount("no-at-sign", {}).error().code, Errc::Invalid);
  EXPECT_EQ(store_->addAccount("@example.com", {}).error().code, Errc::Invalid);

  auto found = store_->findAccount("Alice@Example.Com");
  ASSERT_TRUE(found.ok());
  ASSERT_TRUE(found->has_value());
  EXPECT_EQ((*found)->id, alice_);
  EXPECT_EQ((*found)->address, "alice@example.com");
  EXPECT_FALSE(store_->findAccount("nobody@example.com")->has_value());

  auto boxes = store_->listMailboxes(alice_);
  ASSERT_TRUE(boxes.ok());
  std::vector<std::pair<std::string, SpecialUse>> got;
  for (const auto& m : *boxes) {
    got.emplace_back(m.name, m.specialUse);
    EXPECT_TRUE(m.subscribed) << m.name;
    EXPECT_NE(m.uidValidity, 0u);
    EXPECT_EQ(m.uidNext, 1u);
  }
  std::vector<std::pair<std::string, SpecialUse>> want = {
      {"Archive", SpecialUse::Archive}, {"Drafts", SpecialUse::Drafts}, {"INBOX", SpecialUse::None},
      {"Junk", SpecialUse::Junk},       {"Sent", SpecialUse::Sent},     {"Trash", SpecialUse::Trash}};
  EXPECT_EQ(got, want);
  EXPECT_EQ(*store_->listSubscriptions(alice_),
            (std::vector<std::string>{"Archive", "Drafts", "INBOX", "Junk", "Sent", "Trash"}));
  EXPECT_EQ(*store_->listAccounts(), (std::vector<std::string>{"alice@example.com", "bob@example.com"}));
}

TEST_F(StoreTest, Credentials) {
  Credentials c;
  c.passwordHash = "$argon2id$v=19$m=65536,t=3,p=1$c2FsdA$aGFzaA";
  c.scramSalt = std::string("\0\1\2salt", 7);
  c.scramIterations = 4096;
  c.scramStoredKey = std::string(32, '\0');
  c.scramServerKey = std::string(32, '\xff');
  auto before = store_->findAccount("alice@example.com");
  ASSERT_TRUE(before.ok() && before->has_value());
  ASSERT_TRUE(store_->setCredentials("Alice@example.com", c).ok());
  auto after = store_->findAccount("alice@example.com");
  ASSERT_TRUE(after.ok() && after->has_value());
  EXPECT_EQ((*after)->credentials.passwordHash, c.passwordHash);
  EXPECT_EQ((*after)->credentials.scramSalt, c.scramSalt);
  EXPECT_EQ((*after)->credentials.scramIterations, 4096u);
  EXPECT_EQ((*after)->credentials.scramStoredKey, c.scramStoredKey);
  EXPECT_EQ((*after)->credentials.scramServerKey, c.scramServerKey);
  EXPECT_GT((*after)->credentialsVersion, (*before)->credentialsVersion);
  EXPECT_EQ(store_->setCredentials("nobody@example.com", c).error().code, Errc::NotFound);
}

TEST_F(StoreTest, AliasesAndCatchAll) {
  ASSERT_TRUE(store_->addAlias("Team@Example.com", {"alice@example.com", "BOB@example.com"}).ok());
  EXPECT_EQ(store_->addAlias("team@example.com", {"alice@example.com"}).error().code, Errc::AlreadyExists);
  EXPECT_EQ(store_->addAlias("x@example.com", {}).error().code, Errc::Invalid);

  struct Case {
    const char* address;
    std::vector<std::string> want;
  };
  const Case before[] = {
      {"alice@example.com", {"alice@example.com"}},
      {"ALICE@EXAMPLE.COM", {"alice@example.com"}},
      {"team@example.com", {"alice@example.com", "bob@example.com"}},
      {"TEAM@example.com", {"alice@example.com", "bob@example.com"}},
      {"random@example.com", {}},
      {"alice@other.org", {}},
  };
  for (const auto& c : before) EXPECT_EQ(addresses(*store_->resolveAddress(c.address)), c.want) << c.address;

  ASSERT_TRUE(store_->addAlias("@example.com", {"bob@example.com"}).ok());
  const Case after[] = {
      {"alice@example.com", {"alice@example.com"}},  // the account wins over the catch-all
      {"team@example.com", {"alice@example.com", "bob@example.com"}},  // an alias too
      {"random@Example.com", {"bob@example.com"}},
      {"random@other.org", {}},
  };
  for (const auto& c : after) EXPECT_EQ(addresses(*store_->resolveAddress(c.address)), c.want) << c.address;

  auto aliases = store_->listAliases();
  ASSERT_TRUE(aliases.ok());
  ASSERT_EQ(aliases->size(), 2u);
  EXPECT_EQ((*aliases)[0].address, "@example.com");
  EXPECT_EQ((*aliases)[1].address, "team@example.com");
  EXPECT_EQ((*aliases)[1].targets, (std::vector<std::string>{"alice@example.com", "bob@example.com"}));

  ASSERT_TRUE(store_->removeAlias("@EXAMPLE.com").ok());
  EXPECT_TRUE(store_->resolveAddress("random@example.com")->empty());
  EXPECT_EQ(store_->removeAlias("@example.com").error().code, Errc::NotFound);
}

TEST_F(StoreTest, RemoveAccountDeletesItsMail) {
  appendN(inbox_, 3);
  ASSERT_TRUE(store_->removeAccount("ALICE@example.com").ok());
  EXPECT_FALSE(store_->findAccount("alice@example.com")->has_value());
  EXPECT_EQ(store_->getMailbox(alice_, inbox_).error().code, Errc::NotFound);
  EXPECT_TRUE(store_->listMailboxes(alice_)->empty());
  EXPECT_EQ(store_->removeAccount("alice@example.com").error().code, Errc::NotFound);
  // The new account with the same address is a different account.
  auto again = store_->addAccount("alice@example.com", {});
  ASSERT_TRUE(again.ok());
  EXPECT_NE(*again, alice_);
  EXPECT_EQ(store_->status(*again, store_->findMailbox(*again, "INBOX")->id)->messages, 0u);
}

// Directory generation (what the SMTP server's recipient cache keys on).
SqliteOptions watchingOptions() {
  SqliteOptions o = fastOptions();
  o.externalPollInterval = std::chrono::milliseconds(20);
  return o;
}

// Polls (bounded: 5 s) until the generation differs from `from`.
bool generationMoves(SqliteStore& store, uint64_t from) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (std::chrono::steady_clock::now() < deadline) {
    if (store.directoryGeneration() != from) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return false;
}

TEST(DirectoryGeneration, NoneWithoutThePoller) {
  TempDir dir;
  auto s = SqliteStore::open(dir.path() + "/data", fastOptions());
  ASSERT_TRUE(s.ok());
  EXPECT_FALSE((*s)->directoryGeneration().has_value()) << "other processes' changes would go unseen";
}

TEST(DirectoryGeneration, MovesAtOnceForThisStoresDirectoryWrites) {
  TempDir dir;
  auto s = SqliteStore::open(dir.path() + "/data", watchingOptions());
  ASSERT_TRUE(s.ok());
  SqliteStore& store = **s;
  ASSERT_TRUE(store.directoryGeneration().has_value());
  auto changes = [&](const char* what, const std::function<bool()>& write) {
    const uint64_t before = *store.directoryGeneration();
    ASSERT_TRUE(write()) << what;
    EXPECT_NE(*store.directoryGeneration(), before) << what;  // no waiting for the poller
  };
  changes("addDomain", [&] { return store.addDomain("example.com").ok(); });
  changes("addAccount", [&] { return store.addAccount("alice@example.com", {}).ok(); });
  changes("addAlias", [&] { return store.addAlias("sales@example.com", {"alice@example.com"}).ok(); });
  changes("removeAlias", [&] { return store.removeAlias("sales@example.com").ok(); });
  changes("removeAccount", [&] { return store.removeAccount("alice@example.com").ok(); });
  changes("removeDomain", [&] { return store.removeDomain("example.com").ok(); });
}

TEST(DirectoryGeneration, MovesForAnotherProcesssChangesWithinThePoll) {
  TempDir dir;
  const std::string data = dir.path() + "/data";
  auto a = SqliteStore::open(data, watchingOptions());
  ASSERT_TRUE(a.ok());
  ASSERT_TRUE((*a)->addDomain("example.com").ok());
  ASSERT_TRUE((*a)->addAccount("alice@example.com", {}).ok());
  auto b = SqliteStore::open(data, fastOptions());  // the CLI, as far as A can tell
  ASSERT_TRUE(b.ok());

  uint64_t g = *(*a)->directoryGeneration();
  ASSERT_TRUE((*b)->addAlias("sales@example.com", {"alice@example.com"}).ok());
  EXPECT_TRUE(generationMoves(**a, g)) << "an alias added elsewhere";
  g = *(*a)->directoryGeneration();
  ASSERT_TRUE((*b)->addAccount("carol@example.com", {}).ok());
  EXPECT_TRUE(generationMoves(**a, g)) << "an account added elsewhere";
  g = *(*a)->directoryGeneration();
  ASSERT_TRUE((*b)->removeAccount("alice@example.com").ok());
  EXPECT_TRUE(generationMoves(**a, g)) << "an account removed elsewhere";
}

TEST(DirectoryGeneration, MailAndPasswordChangesLeaveItAlone) {
  // Deliveries bump the account's MODSEQ counter (an UPDATE of accounts): that must not empty the
  // recipient cache, or it would never hit under load.
  TempDir dir;
  const std::string data = dir.path() + "/data";
  auto a = SqliteStore::open(data, watchingOptions());
  ASSERT_TRUE(a.ok());
  ASSERT_TRUE((*a)->addDomain("example.com").ok());
  AccountId alice = *(*a)->addAccount("alice@example.com", {});
  auto b = SqliteStore::open(data, fastOptions());
  ASSERT_TRUE(b.ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(200));  // ten polls: the setup is seen
  const uint64_t g = *(*a)->directoryGeneration();

  NewMessage m = newMessage(10);
  ASSERT_TRUE((*a)->deliver({alice}, m).ok());
  ASSERT_TRUE((*b)->deliver({alice}, m).ok());
  MailboxId inbox = (*b)->findMailbox(alice, "INBOX")->id;
  ASSERT_TRUE((*b)->append(alice, inbox, {newMessage(20)}).ok());
  ASSERT_TRUE((*b)->setCredentials("alice@example.com", Credentials{"hash", {}, 0, {}, {}}).ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_EQ(*(*a)->directoryGeneration(), g);
}

}  // namespace
}  // namespace tern::store::test
