// Dropping root after the listening sockets are bound (ports below 1024), so that nothing that talks
// to the network keeps root's powers. No untrusted input: the user name comes from configuration.
#pragma once

#include <string>

#include "util/result.h"

namespace tern::net {

bool runningAsRoot();

// When running as root and user is non-empty: switches the process to user's uid and primary gid,
// with no supplementary groups. An error when the user does not exist or a step fails (the caller
// must then exit rather than serve as root). A no-op when not root or user is empty.
tern::Result<void, std::string> dropPrivileges(const std::string& user);

}  // namespace tern::net
