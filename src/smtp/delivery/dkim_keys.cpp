// Loads DKIM signing keys by file name (see dkim_keys.h). File names are listed from a directory the
// administrator owns; the domain part is checked to be a plain host name before it is used.
#include "smtp/delivery/dkim_keys.h"

#include <filesystem>

#include "util/log.h"
#include "util/strings.h"

namespace tern::smtp::delivery {

size_t DkimKeys::load(const std::string& dir, const std::string& selector) {
  namespace fs = std::filesystem;
  std::error_code ec;
  keys_.clear();
  const std::string suffix = "." + selector + ".pem";
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.size() <= suffix.size() || name.compare(name.size() - suffix.size(), suffix.size(), suffix) != 0) continue;
    const std::string domain = asciiLowercase(name.substr(0, name.size() - suffix.size()));
    if (domain.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789-.") != std::string::npos) continue;
    auto key = dkim::loadKey(it->path().string(), domain, selector);
    if (!key) {
      log::warn("dkim") << "cannot load " << it->path().string() << ": " << key.error();
      continue;
    }
    keys_[domain] = *key;
    log::info("dkim") << "signing mail from " << domain << " with selector " << selector;
  }
  return keys_.size();
}

std::shared_ptr<const dkim::SigningKey> DkimKeys::forDomain(std::string_view domain) const {
  auto it = keys_.find(domain);
  return it == keys_.end() ? nullptr : it->second;
}

}  // namespace tern::smtp::delivery
