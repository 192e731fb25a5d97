// dropPrivileges: a no-op without root or without a user; as root, checked in a forked child so the
// test process keeps its own privileges.
#include "net/privileges.h"

#include <gtest/gtest.h>
#include <pwd.h>
#include <sys/wait.h>
#include <unistd.h>

namespace tern::net {
namespace {

TEST(Privileges, RunningAsRootReflectsEffectiveUid) { EXPECT_EQ(runningAsRoot(), ::geteuid() == 0); }

TEST(Privileges, EmptyUserIsANoOp) {
  uid_t before = ::geteuid();
  EXPECT_TRUE(dropPrivileges("").ok());
  EXPECT_EQ(::geteuid(), before);
}

TEST(Privileges, UnknownUserIsAnErrorAsRoot) {
  if (!runningAsRoot()) {
    EXPECT_TRUE(dropPrivileges("no-such-user-tern").ok());  // nothing to drop
    return;
  }
  auto r = dropPrivileges("no-such-user-tern");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().find("no-such-user-tern"), std::string::npos) << r.error();
  EXPECT_EQ(::geteuid(), 0u);
  auto rootUser = dropPrivileges("root");
  EXPECT_FALSE(rootUser.ok());
}

TEST(Privileges, DropsToTheUserInAChild) {
  if (!runningAsRoot()) GTEST_SKIP() << "needs root";
  passwd* pw = ::getpwnam("nobody");
  if (pw == nullptr) GTEST_SKIP() << "no user 'nobody'";
  uid_t wantUid = pw->pw_uid;
  gid_t wantGid = pw->pw_gid;
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    // Child: exit codes say which check failed; only async-signal-safe-ish calls after fork.
    if (!dropPrivileges("nobody").ok()) ::_exit(2);
    if (::getuid() != wantUid || ::geteuid() != wantUid) ::_exit(3);
    if (::getgid() != wantGid || ::getegid() != wantGid) ::_exit(4);
    gid_t groups[8];
    int n = ::getgroups(8, groups);
    if (n > 1 || (n == 1 && groups[0] != wantGid)) ::_exit(5);
    if (::setuid(0) == 0) ::_exit(6);  // root must be gone for good
    ::_exit(0);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

}  // namespace
}  // namespace tern::net
