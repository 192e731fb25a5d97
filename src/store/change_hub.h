// In-process publish/subscribe of "mailbox X changed" hints. A store engine calls notify() after
// each commit; sessions subscribe for the mailbox they have selected. Notifications are hints, never
// data: a woken session reads changesSince(its modseq), so a lost or duplicated one is harmless.
// Callbacks run on the notifying thread and must only post work (e.g. asio::post) and return.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "store/types.h"

namespace tern::store {

class ChangeHub {
 public:
  using Callback = std::function<void()>;

  // RAII: unsubscribes when destroyed.
  class Subscription {
   public:
    Subscription() = default;
    Subscription(ChangeHub* hub, MailboxId mailbox, uint64_t id) : hub_(hub), mailbox_(mailbox), id_(id) {}
    Subscription(Subscription&& o) noexcept { *this = std::move(o); }
    Subscription& operator=(Subscription&& o) noexcept;
    ~Subscription() { reset(); }
    void reset();

   private:
    ChangeHub* hub_ = nullptr;
    MailboxId mailbox_ = 0;
    uint64_t id_ = 0;
  };

  [[nodiscard]] Subscription subscribe(MailboxId mailbox, Callback cb);
  // Told of every notify, with the mailbox (e.g. a cache that follows all mailboxes); same rules.
  using AnyCallback = std::function<void(MailboxId)>;
  [[nodiscard]] Subscription subscribeAll(AnyCallback cb);
  void notify(MailboxId mailbox);
  size_t subscriberCount(MailboxId mailbox) const;
  // Mailboxes that have at least one subscriber (the external-change poller watches only these).
  std::vector<MailboxId> subscribedMailboxes() const;

 private:
  void unsubscribe(MailboxId mailbox, uint64_t id);
  mutable std::mutex mu_;
  uint64_t nextId_ = 1;
  std::unordered_map<MailboxId, std::unordered_map<uint64_t, std::shared_ptr<Callback>>> subs_;
  std::unordered_map<uint64_t, std::shared_ptr<AnyCallback>> allSubs_;  // Subscription's mailbox 0
};

}  // namespace tern::store
