// In-memory store::Directory for auth tests: accounts, aliases and a catch-all, with call counters.
// Test code only; no limits needed.
#pragma once

#include <map>
#include <mutex>

#include "store/store.h"
#include "util/strings.h"

namespace tern::auth::test {

class FakeDirectory : public store::Directory {
 public:
  // Test helpers.
  void putAccount(const std::string& address, store::Credentials creds) {
    std::lock_guard lock(mu_);
    auto& a = accounts_[asciiLowercase(address)];
    if (a.id == 0) a.id = nextId_++;
    a.address = asciiLowercase(address);
    a.credentials = std::move(creds);
    ++a.credentialsVersion;
  }
  int findCalls() const { return findCalls_; }
  bool failLookups = false;  // simulate an unavailable store

  store::Result<void> addDomain(std::string_view d) override {
    domains_.emplace(asciiLowercase(d), true);
    return {};
  }
  store::Result<void> removeDomain(std::string_view d) override {
    domains_.erase(asciiLowercase(d));
    return {};
  }
  store::Result<std::vector<std::string>> listDomains() override {
    std::vector<std::string> out;
    for (const auto& [d, _] : domains_) out.push_back(d);
    return out;
  }
  store::Result<bool> hasDomain(std::string_view d) override { return domains_.count(asciiLowercase(d)) > 0; }

  store::Result<store::AccountId> addAccount(std::string_view address, const store::Credentials& c) override {
    putAccount(std::string(address), c);
    return accounts_[asciiLowercase(address)].id;
  }
  store::Result<void> setCredentials(std::string_view address, const store::Credentials& c) override {
    if (!accounts_.count(asciiLowercase(address))) return store::fail(store::Errc::NotFound);
    putAccount(std::string(address), c);
    return {};
  }
  store::Result<void> removeAccount(std::string_view address) override {
    std::lock_guard lock(mu_);
    accounts_.erase(asciiLowercase(address));
    return {};
  }
  store::Result<std::vector<std::string>> listAccounts() override {
    std::vector<std::string> out;
    for (const auto& [a, _] : accounts_) out.push_back(a);
    return out;
  }
  store::Result<std::optional<store::Account>> findAccount(std::string_view address) override {
    std::lock_guard lock(mu_);
    ++findCalls_;
    if (failLookups) return store::fail(store::Errc::Unavailable, "fake outage");
    auto it = accounts_.find(asciiLowercase(address));
    if (it == accounts_.end()) return std::optional<store::Account>{};
    return std::optional<store::Account>{it->second};
  }

  store::Result<void> addAlias(std::string_view address, const std::vector<std::string>& targets) override {
    aliases_[asciiLowercase(address)] = targets;
    return {};
  }
  store::Result<void> removeAlias(std::string_view address) override {
    aliases_.erase(asciiLowercase(address));
    return {};
  }
  store::Result<std::vector<store::Alias>> listAliases() override {
    std::vector<store::Alias> out;
    for (const auto& [a, t] : aliases_) out.push_back(store::Alias{a, t});
    return out;
  }
  store::Result<std::vector<store::Account>> resolveAddress(std::string_view address) override {
    const std::string addr = asciiLowercase(address);
    std::vector<store::Account> out;
    if (auto it = accounts_.find(addr); it != accounts_.end()) return std::vector<store::Account>{it->second};
    auto targets = aliases_.find(addr);
    const size_t at = addr.find('@');
    if (targets == aliases_.end() && at != std::string::npos) targets = aliases_.find(addr.substr(at));  // catch-all
    if (targets == aliases_.end()) return out;
    for (const auto& t : targets->second) {
      if (auto it = accounts_.find(asciiLowercase(t)); it != accounts_.end()) out.push_back(it->second);
    }
    return out;
  }

 private:
  std::mutex mu_;
  std::map<std::string, bool> domains_;
  std::map<std::string, store::Account> accounts_;
  std::map<std::string, std::vector<std::string>> aliases_;
  store::AccountId nextId_ = 1;
  int findCalls_ = 0;
};

}  // namespace tern::auth::test
