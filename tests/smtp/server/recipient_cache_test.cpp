// RecipientCache: answers live for one directory generation, only positive ones are kept, a late
// answer from an older generation is dropped, and the cache stays bounded.
#include "smtp/server/recipient_cache.h"

#include <gtest/gtest.h>

namespace tern::smtp::server {
namespace {

using Ids = std::vector<store::AccountId>;

TEST(RecipientCache, AnswersHoldForTheirGenerationOnly) {
  RecipientCache cache;
  EXPECT_FALSE(cache.knownLocalDomain("example.test", 5));
  EXPECT_FALSE(cache.accounts("bob@example.test", 5).has_value());
  cache.addLocalDomain("example.test", 5);
  cache.addAccounts("bob@example.test", 5, {7});
  EXPECT_TRUE(cache.knownLocalDomain("example.test", 5));
  EXPECT_EQ(cache.accounts("bob@example.test", 5), Ids{7});
  EXPECT_FALSE(cache.knownLocalDomain("other.test", 5));

  // The directory changed: nothing from generation 5 is answered any more, and the first answer of
  // generation 6 drops them.
  EXPECT_FALSE(cache.knownLocalDomain("example.test", 6));
  EXPECT_FALSE(cache.accounts("bob@example.test", 6).has_value());
  cache.addAccounts("alias@example.test", 6, {7, 8});
  EXPECT_EQ(cache.size(), 1u);
  EXPECT_EQ(cache.accounts("alias@example.test", 6), (Ids{7, 8}));
}

TEST(RecipientCache, AnAnswerFromAnOlderGenerationIsDropped) {
  // A lookup that started before a change and finishes after it must not be kept.
  RecipientCache cache;
  cache.addLocalDomain("example.test", 6);
  cache.addAccounts("bob@example.test", 5, {7});
  cache.addLocalDomain("late.test", 5);
  EXPECT_FALSE(cache.accounts("bob@example.test", 5).has_value());
  EXPECT_FALSE(cache.accounts("bob@example.test", 6).has_value());
  EXPECT_FALSE(cache.knownLocalDomain("late.test", 6));
  EXPECT_TRUE(cache.knownLocalDomain("example.test", 6));
  EXPECT_EQ(cache.size(), 1u);
}

TEST(RecipientCache, NegativeAnswersAreNotKept) {
  RecipientCache cache;
  cache.addAccounts("nobody@example.test", 1, {});
  EXPECT_FALSE(cache.accounts("nobody@example.test", 1).has_value());
  EXPECT_EQ(cache.size(), 0u);
}

TEST(RecipientCache, StartsOverWhenFull) {
  RecipientCache cache(3);
  cache.addLocalDomain("a.test", 1);
  cache.addAccounts("x@a.test", 1, {1});
  cache.addAccounts("y@a.test", 1, {2});
  EXPECT_EQ(cache.size(), 3u);
  cache.addAccounts("z@a.test", 1, {3});
  EXPECT_EQ(cache.size(), 1u);
  EXPECT_EQ(cache.accounts("z@a.test", 1), Ids{3});
  EXPECT_FALSE(cache.knownLocalDomain("a.test", 1));
}

}  // namespace
}  // namespace tern::smtp::server
