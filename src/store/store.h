// The only face of storage: a Directory (domains, accounts, aliases) and a MailStore (mailboxes and
// messages). Calls are synchronous and thread-safe, and may block (disk, fsync, network), so the
// session layer runs them on the blocking pool. Every write has committed durably before it returns.
// Every mailbox/message call names the account, and an engine must never act on another account's data.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
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

  // --- messages ---
  // All present messages in UID order.
  virtual Result<std::vector<MessageMeta>> listMessages(AccountId, MailboxId) = 0;
  virtual Result<std::vector<MessageMeta>> getMessages(AccountId, MailboxId, const std::vector<Uid>& uids) = 0;
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
};

}  // namespace tern::store
