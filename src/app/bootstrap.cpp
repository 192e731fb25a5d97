// Creates the development demo domain and account on an empty directory (see bootstrap.h).
// No untrusted input; runs once at start-up before any listener accepts.
#include "app/bootstrap.h"

#include "auth/password.h"
#include "util/log.h"

namespace tern::app {

std::optional<std::string> bootstrapDemo(store::Directory& directory) {
  auto domains = directory.listDomains();
  auto accounts = directory.listAccounts();
  if (!domains || !accounts) {
    log::error("bootstrap") << "cannot read the directory: "
                            << (!domains ? domains.error().detail : accounts.error().detail);
    return std::nullopt;
  }
  if (!domains->empty() || !accounts->empty()) return std::nullopt;

  if (auto r = directory.addDomain(kDemoDomain); !r) {
    log::error("bootstrap") << "cannot add domain " << kDemoDomain << ": " << r.error().detail;
    return std::nullopt;
  }
  std::string password = auth::randomPassword();
  if (auto r = directory.addAccount(kDemoAddress, auth::makeCredentials(password)); !r) {
    log::error("bootstrap") << "cannot add account " << kDemoAddress << ": " << r.error().detail;
    return std::nullopt;
  }
  log::info("bootstrap") << "created demo domain " << kDemoDomain << " and account " << kDemoAddress;
  return password;
}

}  // namespace tern::app
