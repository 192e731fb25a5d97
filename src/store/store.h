// The only face of storage: a Directory (domains, accounts, aliases) and a MailStore (mailboxes and
// messages). Calls are synchronous and thread-safe, and may block (disk, fsync, network), so the
// session layer runs them on the blocking pool. Every write has committed durably before it returns.
// Every mailbox/message call names the account, and an engine must never act on another account's data.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "store/types.h"

namespace tern::store {

class Directory {
 public:
  virtual ~Directory() = default;

  virtual Result<void> addDomain(std::string_view domain) = 0;
  virtual Result<void> removeDomain(std::string_view domain) = 0;  // NotFound; Invalid if accounts remain
  virtual Result<std::vector<std::string>> listDomains() = 0;
  virtual Result<bool> hasDomain(std::string_view domain) = 0;

  // Creates the account and its default mailboxes: INBOX, Drafts, Sent, Trash, Junk, Archive with
  // their special-use attributes, all subscribed. The domain must exist (Invalid otherwise).
  virtual Result<AccountId> addAccount(std::string_view address, const Credentials&) = 0;
  virtual Result<void> setCredentials(std::string_view address, const Credentials&) = 0;
  virtual Result<void> removeAccount(std::string_view address) = 0;  // with all its mail
  virtual Result<std::vector<std::string>> listAccounts() = 0;
  virtual Result<std::optional<Account>> findAccount(std::string_view address) = 0;  // case-insensitive

  virtual Result<void> addAlias(std::string_view address, const std::vector<std::string>& targets) = 0;
  virtual Result<void> removeAlias(std::string_view address) = 0;
  virtual Result<std::vector<Alias>> listAliases() = 0;
  // Address to accounts: the account itself, else an alias, else the domain's catch-all ("@domain").
  virtual Result<std::vector<Account>> resolveAddress(std::string_view address) = 0;

  // A number that changes whenever domains, account addresses or aliases may have changed: at once
  // for changes made through this object, within the engine's poll interval for changes made
  // elsewhere (the CLI is another process). For caches of lookup answers. nullopt: the engine cannot
  // tell, and nothing may be cached.
  virtual std::optional<uint64_t> directoryGeneration() { return std::nullopt; }
};

class MailStore {
 public:
  virtual ~MailStore() = default;

  // --- mailboxes (names are full UTF-8 paths; "INBOX" matches case-insensitively) ---
  virtual Result<std::vector<MailboxInfo>> listMailboxes(AccountId) = 0;
  virtual Result<MailboxInfo> findMailbox(AccountId, std::string_view name) = 0;
  virtual Result<MailboxInfo> getMailbox(AccountId, MailboxId) = 0;
  // Creates missing parents too (RFC 9051 6.3.4). AlreadyExists if the name is taken.
  virtual Result<MailboxInfo> createMailbox(AccountId, std::string_view name,
                                            SpecialUse use = SpecialUse::None) = 0;
  // Deletes the mailbox and its messages; children stay (Invalid for INBOX).
  virtual Result<void> deleteMailbox(AccountId, std::string_view name) = 0;
  // Renames the mailbox and all its children (they keep their UIDs and UIDVALIDITY). Renaming INBOX
  // moves its messages into a new mailbox of the new name and leaves INBOX empty (RFC 9051 6.3.9).
  virtual Result<void> renameMailbox(AccountId, std::string_view from, std::string_view to) = 0;
  // Subscriptions are names and may outlive their mailbox (RFC 9051 6.3.7).
  virtual Result<void> setSubscribed(AccountId, std::string_view name, bool subscribed) = 0;
  virtual Result<std::vector<std::string>> listSubscriptions(AccountId) = 0;
  virtual Result<MailboxStatus> status(AccountId, MailboxId) = 0;
  // The account a mailbox belongs to (for a component that follows ChangeHub notifications, which
  // carry only the mailbox); NotFound once it is deleted.
  virtual Result<AccountId> mailboxOwner(MailboxId) = 0;

  // --- messages ---
  // All present messages in UID order.
  virtual Result<std::vector<MessageMeta>> listMessages(AccountId, MailboxId) = 0;
  virtual Result<std::vector<MessageMeta>> getMessages(AccountId, MailboxId, const std::vector<Uid>& uids) = 0;
  // What SELECT needs and nothing more: calls fn(uid, flags) for every present message in UID order
  // and returns the mailbox as of the same snapshot. `flags` is valid only during the call. Engines
  // should override this with a narrow read; the default goes through listMessages.
  virtual Result<MailboxInfo> scanFlags(AccountId account, MailboxId mailbox,
                                        const std::function<void(Uid, const Flags&)>& fn) {
    auto info = getMailbox(account, mailbox);
    if (!info) return info;
    auto messages = listMessages(account, mailbox);
    if (!messages) return Unexpected<Error>{messages.error()};
    for (const auto& m : *messages) fn(m.uid, m.flags);
    return info;
  }
  virtual Result<Changes> changesSince(AccountId, MailboxId, ModSeq since) = 0;
  // Atomic: all messages or none (MULTIAPPEND). Blobs must already be stored durably.
  virtual Result<AppendResult> append(AccountId, MailboxId, const std::vector<NewMessage>&) = 0;
  // Changes flags of the given present UIDs; each changed message gets a new MODSEQ. A message
  // whose flags would not change is not touched. With unchangedSince, messages whose modSeq is
  // higher are left alone and listed in `conflicted` (RFC 7162).
  virtual Result<StoreFlagsResult> storeFlags(AccountId, MailboxId, const std::vector<Uid>& uids, FlagOp op,
                                              const Flags& flags,
                                              std::optional<ModSeq> unchangedSince = std::nullopt) = 0;
  // Removes messages flagged \Deleted (only those in `only`, when given); leaves tombstones.
  virtual Result<std::vector<Uid>> expunge(AccountId, MailboxId,
                                           const std::optional<std::vector<Uid>>& only = std::nullopt) = 0;
  // Copies (or moves: copy + expunge of the sources, atomically) present UIDs to another mailbox of
  // the same account. Metadata only: the blob is shared.
  virtual Result<CopyResult> copy(AccountId, MailboxId from, const std::vector<Uid>& uids, MailboxId to,
                                  bool move) = 0;
  // IMAP4rev1 \Recent: returns the first UID that is recent for the caller and advances the
  // mailbox's watermark to UIDNEXT, so exactly one session sees each message as recent.
  virtual Result<Uid> claimRecent(AccountId, MailboxId) = 0;

  // Runs `work` (which calls write methods of this store) where the engine's writes are made, as
  // part of its next commit, then `committed` with that commit's outcome; returns at once. For
  // callers that must not block (a worker thread): nobody waits on a thread for the commit.
  // `work` must not block on anything else; both run on an engine thread.
  virtual void runOnWriter(std::function<void()> work, std::function<void(Result<void>)> committed) = 0;

  // --- parsed message structure (mime/serialize.h bytes): one per blob, shared by its copies ---
  // For each blob id, its stored structure, or nullopt when none is stored yet or the account has no
  // message with that blob (an account never reads another's data).
  virtual Result<std::vector<std::optional<std::string>>> getStructures(AccountId,
                                                                        const std::vector<std::string>& blobIds) = 0;
  // Stores structures computed after the fact (messages stored before structures existed). Blobs the
  // account has no message for are skipped; an existing structure is kept.
  virtual Result<void> putStructures(AccountId,
                                     const std::vector<std::pair<std::string, std::string>>& blobStructures) = 0;
  // --- SMTP ---
  // Local delivery: links one already-stored blob into the INBOX of every given account, all in one
  // durable transaction (each account once, whatever the number of RCPTs that resolved to it).
  // Accounts that vanished meanwhile are reported undelivered; the others are still delivered.
  virtual Result<std::vector<DeliveryResult>> deliver(const std::vector<AccountId>& accounts,
                                                      const NewMessage& message) = 0;
  // Durable outbound queue: one message row and one row per recipient, in one transaction; every
  // recipient is due now. Returns the message's queue id.
  virtual Result<int64_t> enqueueOutbound(const OutboundMessage& message) = 0;
  // Recipient rows due at or before `dueBy` (unix seconds), oldest due first, at most `limit`.
  // Held rows and rows leased by claimOutbound are left out.
  virtual Result<std::vector<QueueEntry>> listOutbound(int64_t dueBy, size_t limit) = 0;
  // Every recipient row, held ones included, by message id then recipient id (`tern queue list`).
  virtual Result<std::vector<QueueEntry>> listQueue(size_t limit) = 0;
  // The rows of one message (`tern queue show`); empty when the message is not queued.
  virtual Result<std::vector<QueueEntry>> getQueuedMessage(int64_t messageId) = 0;
  // The delivery scheduler takes due rows: like listOutbound, and in the same transaction leases them
  // until `leaseUntil`, so another scheduler (process or node) does not take them meanwhile. A lease
  // that is never settled (crash) simply expires and the row is due again: a retry, never a loss.
  virtual Result<std::vector<QueueEntry>> claimOutbound(int64_t now, int64_t leaseUntil, size_t limit) = 0;
  // At start-up of the only scheduler: leases left by a previous run end now.
  virtual Result<void> releaseOutboundLeases() = 0;
  // Delivered, or failed for good (the DSN already stored): removes the row, and the message row
  // with it when it was the last. NotFound if the row is gone (deleted by an operator meanwhile).
  virtual Result<void> completeOutbound(int64_t recipientId) = 0;
  // A temporary failure: attempts+1, last error, next attempt, lease ended; delayNotified is sticky.
  virtual Result<void> deferOutbound(int64_t recipientId, int64_t nextAttempt, std::string_view lastError,
                                     bool delayNotified) = 0;
  // Operator actions on one message (all queued messages when messageId is nullopt); the number of
  // recipient rows changed. retry: due now (held rows stay held); hold/release: set/clear held;
  // remove: rows and message gone (no DSN).
  virtual Result<size_t> retryOutbound(std::optional<int64_t> messageId, int64_t now) = 0;
  virtual Result<size_t> holdOutbound(std::optional<int64_t> messageId, bool held) = 0;
  virtual Result<size_t> removeOutbound(std::optional<int64_t> messageId) = 0;
  // Both of the above in one transaction, for a message with local and remote recipients: either
  // every local copy and every queue row commit, or nothing does (a retried message is not duplicated).
  virtual Result<std::vector<DeliveryResult>> deliverAndEnqueue(const std::vector<AccountId>& accounts,
                                                                const NewMessage& message,
                                                                const OutboundMessage& outbound) = 0;
};

}  // namespace tern::store
