// setgroups/setgid/setuid to the configured service user, verified afterwards. Runs once at start-up,
// before any connection is accepted; no peer bytes.
#include "net/privileges.h"

#include <grp.h>
#include <pwd.h>
#include <sys/types.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

namespace tern::net {

bool runningAsRoot() { return ::geteuid() == 0; }

tern::Result<void, std::string> dropPrivileges(const std::string& user) {
  if (user.empty() || !runningAsRoot()) return {};
  struct passwd pw;
  struct passwd* found = nullptr;
  std::vector<char> buf(16384);
  int rc = ::getpwnam_r(user.c_str(), &pw, buf.data(), buf.size(), &found);
  if (rc != 0) return tern::unexpected("cannot look up user " + user + ": " + std::strerror(rc));
  if (found == nullptr) return tern::unexpected("user " + user + " does not exist");
  uid_t uid = pw.pw_uid;
  gid_t gid = pw.pw_gid;
  if (uid == 0) return tern::unexpected("user " + user + " is root: refusing to serve as root");
  // Order matters: groups and gid can only be changed while still root.
  if (::setgroups(1, &gid) != 0) return tern::unexpected(std::string("setgroups: ") + std::strerror(errno));
  if (::setresgid(gid, gid, gid) != 0) return tern::unexpected(std::string("setgid: ") + std::strerror(errno));
  if (::setresuid(uid, uid, uid) != 0) return tern::unexpected(std::string("setuid: ") + std::strerror(errno));
  // A process that could regain root has not dropped anything.
  if (::setuid(0) == 0 || ::geteuid() != uid || ::getegid() != gid) {
    return tern::unexpected("privileges were not dropped to " + user);
  }
  return {};
}

}  // namespace tern::net
