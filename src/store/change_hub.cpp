// ChangeHub: copies the callbacks out under the lock, then calls them without it.
#include "store/change_hub.h"

#include <vector>

namespace tern::store {

ChangeHub::Subscription& ChangeHub::Subscription::operator=(Subscription&& o) noexcept {
  if (this != &o) {
    reset();
    hub_ = o.hub_;
    mailbox_ = o.mailbox_;
    id_ = o.id_;
    o.hub_ = nullptr;
  }
  return *this;
}

void ChangeHub::Subscription::reset() {
  if (hub_) hub_->unsubscribe(mailbox_, id_);
  hub_ = nullptr;
}

ChangeHub::Subscription ChangeHub::subscribe(MailboxId mailbox, Callback cb) {
  std::lock_guard lock(mu_);
  uint64_t id = nextId_++;
  subs_[mailbox][id] = std::make_shared<Callback>(std::move(cb));
  return Subscription(this, mailbox, id);
}

ChangeHub::Subscription ChangeHub::subscribeAll(AnyCallback cb) {
  std::lock_guard lock(mu_);
  uint64_t id = nextId_++;
  allSubs_[id] = std::make_shared<AnyCallback>(std::move(cb));
  return Subscription(this, 0, id);  // mailbox ids start at 1
}

void ChangeHub::unsubscribe(MailboxId mailbox, uint64_t id) {
  std::lock_guard lock(mu_);
  if (mailbox == 0) {
    allSubs_.erase(id);
    return;
  }
  auto it = subs_.find(mailbox);
  if (it == subs_.end()) return;
  it->second.erase(id);
  if (it->second.empty()) subs_.erase(it);
}

void ChangeHub::notify(MailboxId mailbox) {
  std::vector<std::shared_ptr<Callback>> targets;
  std::vector<std::shared_ptr<AnyCallback>> all;
  {
    std::lock_guard lock(mu_);
    for (auto& [id, cb] : allSubs_) all.push_back(cb);
    auto it = subs_.find(mailbox);
    if (it != subs_.end()) {
      targets.reserve(it->second.size());
      for (auto& [id, cb] : it->second) targets.push_back(cb);
    }
  }
  for (auto& cb : all) (*cb)(mailbox);
  for (auto& cb : targets) (*cb)();
}

size_t ChangeHub::subscriberCount(MailboxId mailbox) const {
  std::lock_guard lock(mu_);
  auto it = subs_.find(mailbox);
  return it == subs_.end() ? 0 : it->second.size();
}

std::vector<MailboxId> ChangeHub::subscribedMailboxes() const {
  std::lock_guard lock(mu_);
  std::vector<MailboxId> ids;
  ids.reserve(subs_.size());
  for (const auto& [mailbox, callbacks] : subs_) ids.push_back(mailbox);
  return ids;
}

}  // namespace tern::store
