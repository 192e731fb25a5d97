// Value types of the mail store: ids, flags, mailbox and message metadata, the closed error enum.
// Pure data; no engine, no protocol. Mailbox names here are UTF-8 with '/' as the hierarchy delimiter.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.h"

namespace tern::store {

using AccountId = int64_t;
using MailboxId = int64_t;
using Uid = uint32_t;
using ModSeq = uint64_t;

// The one closed error type of storage. imap/server and smtp/server each map it to protocol
// replies in exactly one function; clients never see `detail`.
enum class Errc {
  NotFound,        // no such mailbox/account/message (for this account)
  AlreadyExists,   // name taken
  Invalid,         // the request makes no sense (bad name, INBOX delete, rename into itself ...)
  HasChildren,     // reserved; DELETE of a mailbox with children is allowed (it becomes \Noselect)
  OverQuota,
  Conflict,        // UNCHANGEDSINCE and similar conditional writes lost
  Unavailable,     // temporary: disk, lock timeout; try again
  Internal,        // a bug or corruption; logged with detail
};

struct Error {
  Errc code = Errc::Internal;
  std::string detail;  // for the log only
};

template <class T>
using Result = tern::Result<T, Error>;

inline Unexpected<Error> fail(Errc code, std::string detail = {}) {
  return Unexpected<Error>{Error{code, std::move(detail)}};
}

// System flags as bits; \Recent is session state in IMAP and never stored.
enum SystemFlag : uint32_t {
  kSeen = 1u << 0,
  kAnswered = 1u << 1,
  kFlagged = 1u << 2,
  kDeleted = 1u << 3,
  kDraft = 1u << 4,
};

struct Flags {
  uint32_t system = 0;                // SystemFlag bits
  std::vector<std::string> keywords;  // as first stored; compared case-insensitively
  bool operator==(const Flags&) const = default;
};

enum class FlagOp { Add, Remove, Replace };

enum class SpecialUse { None, Drafts, Sent, Trash, Junk, Archive, All, Flagged };

struct MailboxInfo {
  MailboxId id = 0;
  std::string name;  // full UTF-8 path, "INBOX" always spelled so
  SpecialUse specialUse = SpecialUse::None;
  bool subscribed = false;
  uint32_t uidValidity = 0;
  Uid uidNext = 1;
  ModSeq highestModSeq = 0;
};

struct MailboxStatus {
  uint32_t messages = 0;
  uint32_t unseen = 0;
  uint32_t deleted = 0;
  uint64_t size = 0;  // sum of message sizes
  uint32_t recent = 0;  // messages with uid >= the mailbox's recent watermark
  uint32_t uidValidity = 0;
  Uid uidNext = 1;
  ModSeq highestModSeq = 0;
};

// Unix seconds plus the sender's zone offset, as IMAP INTERNALDATE keeps both.
struct DateTime {
  int64_t unixSeconds = 0;
  int32_t tzOffsetMinutes = 0;
  bool operator==(const DateTime&) const = default;
};

struct MessageMeta {
  Uid uid = 0;
  ModSeq modSeq = 0;
  Flags flags;
  DateTime internalDate;
  DateTime saveDate;
  uint64_t size = 0;
  std::string blobId;  // content address (hex SHA-256) in the blob store
};

struct NewMessage {
  std::string blobId;
  uint64_t size = 0;
  Flags flags;
  DateTime internalDate;
  // The parsed structure (mime::serializeMessage of mime::parseMessage), stored per blob in the same
  // transaction; empty when the caller did not parse (it is then computed on first need).
  std::string structure;
  // For a blob staged inline (BlobStore::stage): its bytes, written with the message row in the
  // same transaction. Unset when the blob is already a durable file. Must outlive the store call.
  std::optional<std::string_view> inlineBytes;
};

struct AppendResult {
  uint32_t uidValidity = 0;
  std::vector<Uid> uids;  // one per appended message, in order
};

struct FlagUpdate {
  Uid uid = 0;
  Flags flags;  // the flags after the change
  ModSeq modSeq = 0;
};

struct StoreFlagsResult {
  std::vector<FlagUpdate> updated;  // messages whose flags changed (or were touched, see store.h)
  std::vector<Uid> conflicted;      // UNCHANGEDSINCE failures (their modseq was higher)
};

struct CopyResult {
  uint32_t uidValidity = 0;  // of the destination
  std::vector<Uid> sourceUids;
  std::vector<Uid> destUids;  // destUids[i] is the copy of sourceUids[i]
};

// What happened to a mailbox after a given MODSEQ: the input to a session's view refresh.
struct Changes {
  MailboxInfo mailbox;                // current uidNext / highestModSeq
  std::vector<MessageMeta> changed;   // present messages with modSeq > since (new or flag change), uid order
  std::vector<Uid> expunged;          // tombstones with modSeq > since, uid order
};

struct Credentials {
  std::string passwordHash;     // Argon2id encoded form ($argon2id$v=19$m=..,t=..,p=..$salt$hash)
  std::string scramSalt;        // raw bytes
  uint32_t scramIterations = 0;
  std::string scramStoredKey;   // raw 32 bytes
  std::string scramServerKey;   // raw 32 bytes
};

struct Account {
  AccountId id = 0;
  std::string address;  // lowercase localpart@domain, the login name
  Credentials credentials;
  uint64_t credentialsVersion = 0;  // bumped on every password change (drops cached logins)
};

struct Alias {
  std::string address;               // "local@domain" or catch-all "@domain"
  std::vector<std::string> targets;  // account addresses
};

// --- local delivery and the outbound queue (SMTP) ---

// One local recipient's outcome of MailStore::deliver.
struct DeliveryResult {
  AccountId account = 0;
  bool delivered = false;    // false: the account (or its INBOX) no longer exists
  MailboxId mailbox = 0;     // the INBOX it went to
  Uid uid = 0;
};

// One remote recipient of a queued message, with its RFC 3461 DSN parameters as received.
struct OutboundRecipient {
  std::string address;       // the forward path as it will be sent (no brackets)
  std::string notify;        // "" (not given), "NEVER", or a comma list of SUCCESS, FAILURE, DELAY
  std::string orcpt;         // "" or "addr-type;xtext" exactly as received
};

struct OutboundMessage {
  std::string sender;        // reverse path ("" for the null sender)
  std::string blobId;        // a durable file, or staged inline with inlineBytes below
  uint64_t size = 0;
  std::string ret;           // "" / "FULL" / "HDRS"
  std::string envid;         // "" or the decoded ENVID
  bool smtputf8 = false;
  bool eightBit = false;     // BODY=8BITMIME
  AccountId submitter = 0;   // the authenticated account (0: none)
  std::vector<OutboundRecipient> recipients;
  std::optional<std::string_view> inlineBytes;  // as NewMessage::inlineBytes
};

// One queue row (one recipient of one message), as a delivery scheduler sees it.
struct QueueEntry {
  int64_t id = 0;            // recipient row id
  int64_t messageId = 0;
  std::string sender;
  std::string blobId;
  uint64_t size = 0;
  std::string ret;
  std::string envid;
  bool smtputf8 = false;
  bool eightBit = false;
  OutboundRecipient recipient;
  int64_t created = 0;       // unix seconds
  int64_t nextAttempt = 0;   // unix seconds
  uint32_t attempts = 0;
  std::string lastError;
  bool held = false;         // `tern queue hold`: never due until released
  bool delayNotified = false;  // a "delayed" DSN went out for this recipient
  AccountId submitter = 0;
  int64_t leaseUntil = 0;    // unix seconds: a scheduler's claim ends then (0: not claimed)
};

}  // namespace tern::store
