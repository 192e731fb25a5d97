// Tests for bootstrapDemo: creates the demo account only on an empty directory.
#include "app/bootstrap.h"

#include <gtest/gtest.h>

#include "../auth/fake_directory.h"
#include "auth/password.h"

namespace tern::app {
namespace {

TEST(BootstrapTest, CreatesDemoAccountOnEmptyDirectory) {
  auth::test::FakeDirectory dir;
  auto password = bootstrapDemo(dir);
  ASSERT_TRUE(password.has_value());
  EXPECT_EQ(password->size(), 20u);
  EXPECT_EQ(dir.listDomains().value(), (std::vector<std::string>{"example.test"}));
  auto account = dir.findAccount("demo@example.test");
  ASSERT_TRUE(account.ok());
  ASSERT_TRUE(account->has_value());
  EXPECT_TRUE(auth::verifyPassword((*account)->credentials.passwordHash, *password));
  EXPECT_EQ((*account)->credentials.scramStoredKey.size(), 32u);
  // Second start: nothing happens, nothing is printed.
  EXPECT_FALSE(bootstrapDemo(dir).has_value());
}

TEST(BootstrapTest, LeavesNonEmptyDirectoryAlone) {
  auth::test::FakeDirectory dir;
  ASSERT_TRUE(dir.addDomain("real.example").ok());
  EXPECT_FALSE(bootstrapDemo(dir).has_value());
  EXPECT_FALSE(dir.findAccount("demo@example.test").value().has_value());
}

}  // namespace
}  // namespace tern::app
