// The DKIM keys the server signs with: <dir>/<domain>.<selector>.pem for the configured selector,
// loaded at start (files are the administrator's; unreadable ones are logged and skipped).
#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "dkim/dkim.h"

namespace tern::smtp::delivery {

class DkimKeys {
 public:
  DkimKeys() = default;
  // Loads every key of `selector` in `dir` (a missing directory is no keys). Returns how many loaded.
  size_t load(const std::string& dir, const std::string& selector);
  // The key for a domain (lower case), or null when the domain signs nothing.
  std::shared_ptr<const dkim::SigningKey> forDomain(std::string_view domain) const;
  size_t size() const { return keys_.size(); }

 private:
  std::map<std::string, std::shared_ptr<const dkim::SigningKey>, std::less<>> keys_;
};

}  // namespace tern::smtp::delivery
