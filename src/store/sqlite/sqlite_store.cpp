// SqliteStore: the embedded Directory + MailStore. Writes run as closures on one writer thread that
// commits everything queued at once (group commit), each request in its own SAVEPOINT; reads use a
// query-only connection per calling thread. Names, addresses and keywords come from clients and are
// validated here (length caps, UTF-8, no control characters) before they reach SQL as bound values.
#include "store/sqlite/sqlite_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <pthread.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <future>
#include <set>

#include "store/sqlite/db.h"
#include "store/sqlite/schema.h"
#include "util/log.h"
#include "util/strings.h"

namespace tern::store {

namespace sqlite {
// What a write closure sees: the writer's connection (inside BEGIN IMMEDIATE + SAVEPOINT) and the set
// of mailboxes it changed, which are notified after the commit.
struct WriteCtx {
  Db& db;
  std::set<MailboxId> touched;
};
}  // namespace sqlite

using sqlite::Db;
using sqlite::Stmt;
using sqlite::WriteCtx;

namespace {

constexpr size_t kMaxNameBytes = 1024;
constexpr size_t kMaxAddressBytes = 320;
constexpr size_t kMaxKeywordBytes = 128;
constexpr size_t kMaxKeywordsPerMessage = 256;
constexpr uint32_t kSystemFlagMask = kSeen | kAnswered | kFlagged | kDeleted | kDraft;

template <class T>
Unexpected<Error> forward(const Result<T>& r) {
  return Unexpected<Error>{r.error()};
}

#define TERN_ASSIGN(var, expr)            \
  auto var##Result_ = (expr);             \
  if (!var##Result_) return forward(var##Result_); \
  auto& var = *var##Result_

DateTime nowDate() { return DateTime{static_cast<int64_t>(::time(nullptr)), 0}; }

// --- validation of client-supplied strings ---

// Decodes UTF-8 strictly (no overlongs, surrogates or values past U+10FFFF) and rejects C0/C1
// control characters and DEL.
bool validNameText(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    auto c = static_cast<unsigned char>(s[i]);
    uint32_t cp;
    size_t len;
    if (c < 0x80) {
      cp = c;
      len = 1;
    } else if ((c & 0xe0) == 0xc0) {
      cp = c & 0x1f;
      len = 2;
    } else if ((c & 0xf0) == 0xe0) {
      cp = c & 0x0f;
      len = 3;
    } else if ((c & 0xf8) == 0xf0) {
      cp = c & 0x07;
      len = 4;
    } else {
      return false;
    }
    if (i + len > s.size()) return false;
    for (size_t k = 1; k < len; ++k) {
      auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3f);
    }
    static constexpr uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < kMin[len] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return false;
    if (cp < 0x20 || (cp >= 0x7f && cp <= 0x9f)) return false;
    i += len;
  }
  return true;
}

// Mailbox name to its stored form: '/'-separated non-empty components, "INBOX" (any case) as the
// first component spelled "INBOX".
Result<std::string> normalizeName(std::string_view name) {
  if (name.empty() || name.size() > kMaxNameBytes) return fail(Errc::Invalid, "mailbox name length");
  if (!validNameText(name)) return fail(Errc::Invalid, "mailbox name has invalid characters");
  if (name.front() == '/' || name.back() == '/' || name.find("//") != std::string_view::npos) {
    return fail(Errc::Invalid, "mailbox name has an empty component");
  }
  std::string out(name);
  size_t slash = out.find('/');
  std::string_view first = std::string_view(out).substr(0, slash);
  if (iequals(first, "INBOX")) out.replace(0, first.size(), "INBOX");
  return out;
}

bool validDomainText(std::string_view d) {
  if (d.empty() || d.size() > 255) return false;
  for (char ch : d) {
    auto c = static_cast<unsigned char>(ch);
    if (c <= 0x20 || c == 0x7f || c == '@') return false;
  }
  return true;
}

Result<std::string> normalizeDomain(std::string_view domain) {
  if (!validDomainText(domain)) return fail(Errc::Invalid, "bad domain");
  return asciiLowercase(domain);
}

struct Address {
  std::string full;    // lowercase
  std::string domain;  // lowercase
};

Result<Address> normalizeAddress(std::string_view address, bool allowCatchAll) {
  if (address.empty() || address.size() > kMaxAddressBytes) return fail(Errc::Invalid, "bad address");
  for (char ch : address) {
    auto c = static_cast<unsigned char>(ch);
    if (c <= 0x20 || c == 0x7f) return fail(Errc::Invalid, "bad address");
  }
  size_t at = address.rfind('@');
  if (at == std::string_view::npos) return fail(Errc::Invalid, "address without domain");
  if (at == 0 && !allowCatchAll) return fail(Errc::Invalid, "empty local part");
  std::string_view domain = address.substr(at + 1);
  if (!validDomainText(domain)) return fail(Errc::Invalid, "bad domain");
  return Address{asciiLowercase(address), asciiLowercase(domain)};
}

bool validKeyword(std::string_view k) {
  if (k.empty() || k.size() > kMaxKeywordBytes) return false;
  for (char ch : k) {
    auto c = static_cast<unsigned char>(ch);
    // IMAP atom-specials and non-ASCII cannot appear in a flag keyword.
    if (c <= 0x20 || c >= 0x7f || std::strchr("(){%*\"\\]", c) != nullptr) return false;
  }
  return true;
}

Result<void> validateFlags(const Flags& f) {
  if (f.keywords.size() > kMaxKeywordsPerMessage) return fail(Errc::Invalid, "too many keywords");
  for (const auto& k : f.keywords) {
    if (!validKeyword(k)) return fail(Errc::Invalid, "bad keyword");
  }
  return {};
}

std::string joinKeywords(const std::vector<std::string>& kws) {
  std::string out;
  for (const auto& k : kws) {
    if (!out.empty()) out += ' ';
    out += k;
  }
  return out;
}

std::vector<std::string> splitKeywords(std::string_view s) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos < s.size()) {
    size_t sp = s.find(' ', pos);
    if (sp == std::string_view::npos) sp = s.size();
    if (sp > pos) out.emplace_back(s.substr(pos, sp - pos));
    pos = sp + 1;
  }
  return out;
}

bool hasKeyword(const std::vector<std::string>& kws, std::string_view k) {
  return std::any_of(kws.begin(), kws.end(), [&](const std::string& x) { return iequals(x, k); });
}

bool sameFlags(const Flags& a, const Flags& b) {
  if (a.system != b.system || a.keywords.size() != b.keywords.size()) return false;
  for (const auto& k : a.keywords) {
    if (!hasKeyword(b.keywords, k)) return false;
  }
  return true;
}

// --- rows ---

#define TERN_MAILBOX_COLS                                                                      \
  "m.id, m.name, m.special_use, m.uidvalidity, m.uidnext, m.highestmodseq, "                   \
  "EXISTS(SELECT 1 FROM subscriptions s WHERE s.account_id = m.account_id AND s.name = m.name)"

#define TERN_MESSAGE_COLS                                                                          \
  "uid, modseq, flags, keywords, internaldate, internaldate_tz, savedate, savedate_tz, size, blob_id"

MailboxInfo readMailbox(const Stmt& st) {
  MailboxInfo m;
  m.id = st.i64(0);
  m.name = st.text(1);
  int64_t use = st.i64(2);
  m.specialUse = (use >= 0 && use <= static_cast<int64_t>(SpecialUse::Flagged)) ? static_cast<SpecialUse>(use)
                                                                                  : SpecialUse::None;
  m.uidValidity = static_cast<uint32_t>(st.i64(3));
  m.uidNext = static_cast<Uid>(st.i64(4));
  m.highestModSeq = static_cast<ModSeq>(st.i64(5));
  m.subscribed = st.i64(6) != 0;
  return m;
}

MessageMeta readMessage(const Stmt& st) {
  MessageMeta m;
  m.uid = static_cast<Uid>(st.i64(0));
  m.modSeq = static_cast<ModSeq>(st.i64(1));
  m.flags.system = static_cast<uint32_t>(st.i64(2));
  m.flags.keywords = splitKeywords(st.text(3));
  m.internalDate = DateTime{st.i64(4), static_cast<int32_t>(st.i64(5))};
  m.saveDate = DateTime{st.i64(6), static_cast<int32_t>(st.i64(7))};
  m.size = static_cast<uint64_t>(st.i64(8));
  m.blobId = st.text(9);
  return m;
}

Result<std::optional<MailboxInfo>> mailboxByName(Db& db, AccountId account, const std::string& name) {
  TERN_ASSIGN(st, db.prepare("SELECT " TERN_MAILBOX_COLS " FROM mailboxes m WHERE m.account_id = ? AND m.name = ?"));
  st.bind(1, account).bindText(2, name);
  TERN_ASSIGN(row, st.step());
  if (!row) return std::optional<MailboxInfo>();
  return std::optional<MailboxInfo>(readMailbox(st));
}

Result<MailboxInfo> mailboxById(Db& db, AccountId account, MailboxId id) {
  TERN_ASSIGN(st, db.prepare("SELECT " TERN_MAILBOX_COLS " FROM mailboxes m WHERE m.account_id = ? AND m.id = ?"));
  st.bind(1, account).bind(2, id);
  TERN_ASSIGN(row, st.step());
  if (!row) return fail(Errc::NotFound, "no such mailbox for this account");
  return readMailbox(st);
}

Result<std::optional<MessageMeta>> messageByUid(Db& db, MailboxId mailbox, Uid uid) {
  TERN_ASSIGN(st, db.prepare("SELECT " TERN_MESSAGE_COLS " FROM messages WHERE mailbox_id = ? AND uid = ?"));
  st.bind(1, mailbox).bind(2, uid);
  TERN_ASSIGN(row, st.step());
  if (!row) return std::optional<MessageMeta>();
  return std::optional<MessageMeta>(readMessage(st));
}

Result<std::optional<Account>> accountByAddress(Db& db, const std::string& address) {
  TERN_ASSIGN(st, db.prepare("SELECT id, address, password_hash, scram_salt, scram_iterations, scram_stored_key, "
                             "scram_server_key, credentials_version FROM accounts WHERE address = ?"));
  st.bindText(1, address);
  TERN_ASSIGN(row, st.step());
  if (!row) return std::optional<Account>();
  Account a;
  a.id = st.i64(0);
  a.address = st.text(1);
  a.credentials.passwordHash = st.text(2);
  a.credentials.scramSalt = st.text(3);
  a.credentials.scramIterations = static_cast<uint32_t>(st.i64(4));
  a.credentials.scramStoredKey = st.text(5);
  a.credentials.scramServerKey = st.text(6);
  a.credentialsVersion = static_cast<uint64_t>(st.i64(7));
  return std::optional<Account>(std::move(a));
}

// --- allocation (always inside the writer's transaction) ---

// Bumps the account's MODSEQ counter by n and returns the first of the n new values. Called before
// any row of the transaction is written, so MODSEQ order is commit order.
Result<ModSeq> allocModSeq(Db& db, AccountId account, uint64_t n) {
  TERN_ASSIGN(st, db.prepare("UPDATE accounts SET modseq = modseq + ? WHERE id = ? RETURNING modseq"));
  st.bind(1, static_cast<int64_t>(n)).bind(2, account);
  TERN_ASSIGN(row, st.step());
  if (!row) return fail(Errc::NotFound, "no such account");
  return static_cast<ModSeq>(st.i64(0)) - n + 1;
}

// Reserves n UIDs in the mailbox and returns the first.
Result<Uid> allocUids(Db& db, MailboxId mailbox, uint32_t n) {
  TERN_ASSIGN(st, db.prepare("UPDATE mailboxes SET uidnext = uidnext + ? WHERE id = ? RETURNING uidnext"));
  st.bind(1, n).bind(2, mailbox);
  TERN_ASSIGN(row, st.step());
  if (!row) return fail(Errc::NotFound, "no such mailbox");
  int64_t next = st.i64(0);
  if (next > static_cast<int64_t>(UINT32_MAX)) return fail(Errc::OverQuota, "UID space exhausted");
  return static_cast<Uid>(next - n);
}

// Delivery's whole mailbox update in one statement (it runs for every message received): a UID, the
// HIGHESTMODSEQ and the STATUS counters of the account's INBOX. The mailbox and UID, or nullopt when
// the account has no INBOX (removed meanwhile).
Result<std::optional<std::pair<MailboxId, Uid>>> addToInbox(Db& db, AccountId account, ModSeq modseq,
                                                             uint32_t systemFlags, uint64_t size) {
  TERN_ASSIGN(st, db.prepare("UPDATE mailboxes SET uidnext = uidnext + 1, highestmodseq = max(highestmodseq, ?), "
                             "messages = messages + 1, unseen = unseen + ?, deleted = deleted + ?, size = size + ? "
                             "WHERE account_id = ? AND name = 'INBOX' RETURNING id, uidnext"));
  st.bind(1, static_cast<int64_t>(modseq)).bind(2, (systemFlags & kSeen) ? 0 : 1);
  st.bind(3, (systemFlags & kDeleted) ? 1 : 0).bind(4, static_cast<int64_t>(size)).bind(5, account);
  TERN_ASSIGN(row, st.step());
  if (!row) return std::optional<std::pair<MailboxId, Uid>>();
  const MailboxId id = st.i64(0);
  const int64_t next = st.i64(1);
  if (next > static_cast<int64_t>(UINT32_MAX)) return fail(Errc::OverQuota, "UID space exhausted");
  return std::optional<std::pair<MailboxId, Uid>>(std::pair<MailboxId, Uid>{id, static_cast<Uid>(next - 1)});
}

// A UIDVALIDITY never handed out before in this database: the current time, or one more than the
// last value if the clock has not moved (or went back).
Result<uint32_t> newUidValidity(Db& db) {
  int64_t last = 0;
  {
    TERN_ASSIGN(st, db.prepare("SELECT value FROM meta WHERE key = 'uidvalidity'"));
    TERN_ASSIGN(row, st.step());
    if (row) last = st.i64(0);
  }
  int64_t v = std::max<int64_t>(static_cast<int64_t>(::time(nullptr)), last + 1);
  if (v > static_cast<int64_t>(UINT32_MAX)) return fail(Errc::Internal, "UIDVALIDITY space exhausted");
  TERN_ASSIGN(st, db.prepare("INSERT INTO meta(key, value) VALUES ('uidvalidity', ?) "
                             "ON CONFLICT(key) DO UPDATE SET value = excluded.value"));
  st.bind(1, v);
  TERN_TRY(st.run());
  return static_cast<uint32_t>(v);
}

Result<void> setHighestModSeq(Db& db, MailboxId mailbox, ModSeq modseq) {
  TERN_ASSIGN(st, db.prepare("UPDATE mailboxes SET highestmodseq = max(highestmodseq, ?) WHERE id = ?"));
  st.bind(1, static_cast<int64_t>(modseq)).bind(2, mailbox);
  return st.run();
}

Result<void> adjustCounters(Db& db, MailboxId mailbox, int64_t messages, int64_t unseen, int64_t deleted,
                            int64_t size) {
  TERN_ASSIGN(st, db.prepare("UPDATE mailboxes SET messages = messages + ?, unseen = unseen + ?, "
                             "deleted = deleted + ?, size = size + ? WHERE id = ?"));
  st.bind(1, messages).bind(2, unseen).bind(3, deleted).bind(4, size).bind(5, mailbox);
  return st.run();
}

// Maps each keyword to the mailbox's first-seen spelling (recording new ones) and drops
// case-insensitive duplicates.
Result<std::vector<std::string>> canonicalKeywords(Db& db, MailboxId mailbox, const std::vector<std::string>& kws) {
  std::vector<std::string> out;
  for (const auto& k : kws) {
    if (hasKeyword(out, k)) continue;
    std::string folded = asciiLowercase(k);
    {
      TERN_ASSIGN(ins, db.prepare("INSERT INTO mailbox_keywords(mailbox_id, folded, spelling) VALUES (?, ?, ?) "
                                  "ON CONFLICT DO NOTHING"));
      ins.bind(1, mailbox).bindText(2, folded).bindText(3, k);
      TERN_TRY(ins.run());
    }
    TERN_ASSIGN(sel, db.prepare("SELECT spelling FROM mailbox_keywords WHERE mailbox_id = ? AND folded = ?"));
    sel.bind(1, mailbox).bindText(2, folded);
    TERN_ASSIGN(row, sel.step());
    out.push_back(row ? sel.text(0) : k);
  }
  return out;
}

Result<MailboxId> insertMailbox(Db& db, AccountId account, const std::string& name, SpecialUse use,
                                ModSeq highestModSeq) {
  TERN_ASSIGN(uidValidity, newUidValidity(db));
  TERN_ASSIGN(st, db.prepare("INSERT INTO mailboxes(account_id, name, special_use, uidvalidity, highestmodseq) "
                             "VALUES (?, ?, ?, ?, ?) RETURNING id"));
  st.bind(1, account).bindText(2, name).bind(3, static_cast<int64_t>(use)).bind(4, uidValidity);
  st.bind(5, static_cast<int64_t>(highestModSeq));
  TERN_ASSIGN(row, st.step());
  if (!row) return fail(Errc::Internal, "insert mailbox returned no id");
  return st.i64(0);
}

// Creates `name` and any missing parents. AlreadyExists if `name` itself exists.
Result<MailboxInfo> createMailboxTx(WriteCtx& ctx, AccountId account, const std::string& name, SpecialUse use) {
  TERN_ASSIGN(existing, mailboxByName(ctx.db, account, name));
  if (existing) return fail(Errc::AlreadyExists, "mailbox exists");
  TERN_ASSIGN(modseq, allocModSeq(ctx.db, account, 1));
  for (size_t pos = name.find('/'); pos != std::string::npos; pos = name.find('/', pos + 1)) {
    std::string parent = name.substr(0, pos);
    TERN_ASSIGN(p, mailboxByName(ctx.db, account, parent));
    if (!p) {
      TERN_ASSIGN(id, insertMailbox(ctx.db, account, parent, SpecialUse::None, modseq));
      ctx.touched.insert(id);
    }
  }
  TERN_ASSIGN(id, insertMailbox(ctx.db, account, name, use, modseq));
  ctx.touched.insert(id);
  return mailboxById(ctx.db, account, id);
}

Result<void> subscribeTx(Db& db, AccountId account, const std::string& name) {
  TERN_ASSIGN(st, db.prepare("INSERT INTO subscriptions(account_id, name) VALUES (?, ?) ON CONFLICT DO NOTHING"));
  st.bind(1, account).bindText(2, name);
  return st.run();
}

Result<void> insertMessage(Db& db, MailboxId mailbox, Uid uid, ModSeq modseq, const Flags& flags,
                           const DateTime& internalDate, const DateTime& saveDate, uint64_t size,
                           const std::string& blobId) {
  TERN_ASSIGN(st, db.prepare("INSERT INTO messages(mailbox_id, uid, modseq, flags, keywords, internaldate, "
                             "internaldate_tz, savedate, savedate_tz, size, blob_id) "
                             "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"));
  st.bind(1, mailbox).bind(2, uid).bind(3, static_cast<int64_t>(modseq)).bind(4, flags.system);
  st.bindText(5, joinKeywords(flags.keywords)).bind(6, internalDate.unixSeconds).bind(7, internalDate.tzOffsetMinutes);
  st.bind(8, saveDate.unixSeconds).bind(9, saveDate.tzOffsetMinutes).bind(10, static_cast<int64_t>(size));
  st.bindText(11, blobId);
  return st.run();
}

// meta 'directory_version' (schema v7), moved by triggers on every change to the directory.
Result<int64_t> readDirectoryVersion(Db& db) {
  TERN_ASSIGN(st, db.prepare("SELECT value FROM meta WHERE key = 'directory_version'"));
  TERN_ASSIGN(row, st.step());
  if (!row) return fail(Errc::Internal, "meta has no directory_version");
  return st.i64(0);
}

// The parsed structure of a blob; the first one stored wins (the blob is immutable, so all agree).
Result<void> insertStructure(Db& db, const std::string& blobId, std::string_view structure) {
  TERN_ASSIGN(st, db.prepare("INSERT INTO blob_structure(blob_id, structure) VALUES (?, ?) "
                             "ON CONFLICT(blob_id) DO NOTHING"));
  st.bindText(1, blobId).bindBlob(2, structure);
  return st.run();
}

// The bytes of a blob staged inline (BlobStore::stage), in the transaction of the row that references
// it; identical content already stored is kept.
Result<void> insertInlineBlob(Db& db, const std::string& blobId, const std::optional<std::string_view>& bytes) {
  if (!bytes) return {};
  TERN_ASSIGN(st, db.prepare("INSERT INTO blob_data(blob_id, bytes) VALUES (?, ?) ON CONFLICT(blob_id) DO NOTHING"));
  st.bindText(1, blobId).bindBlob(2, *bytes);
  return st.run();
}

// Whether the account has a message with this blob (the messages_blob index makes this cheap).
Result<bool> accountHasBlob(Db& db, AccountId account, const std::string& blobId) {
  TERN_ASSIGN(st, db.prepare("SELECT 1 FROM messages JOIN mailboxes ON mailboxes.id = messages.mailbox_id "
                             "WHERE messages.blob_id = ? AND mailboxes.account_id = ? LIMIT 1"));
  st.bindText(1, blobId).bind(2, account);
  return st.step();
}

// Deletes present messages and leaves tombstones with fresh MODSEQs (already allocated by caller
// starting at `modseq`).
Result<void> expungeRows(Db& db, MailboxId mailbox, const std::vector<MessageMeta>& rows, ModSeq modseq) {
  int64_t unseen = 0, deleted = 0, size = 0;
  for (const auto& m : rows) {
    {
      TERN_ASSIGN(del, db.prepare("DELETE FROM messages WHERE mailbox_id = ? AND uid = ?"));
      del.bind(1, mailbox).bind(2, m.uid);
      TERN_TRY(del.run());
    }
    TERN_ASSIGN(tomb, db.prepare("INSERT INTO tombstones(mailbox_id, uid, modseq) VALUES (?, ?, ?) "
                                 "ON CONFLICT(mailbox_id, uid) DO UPDATE SET modseq = excluded.modseq"));
    tomb.bind(1, mailbox).bind(2, m.uid).bind(3, static_cast<int64_t>(modseq++));
    TERN_TRY(tomb.run());
    if (!(m.flags.system & kSeen)) ++unseen;
    if (m.flags.system & kDeleted) ++deleted;
    size += static_cast<int64_t>(m.size);
  }
  if (rows.empty()) return {};
  TERN_TRY(setHighestModSeq(db, mailbox, modseq - 1));
  return adjustCounters(db, mailbox, -static_cast<int64_t>(rows.size()), -unseen, -deleted, -size);
}

// Copies the given present rows into `to` with new UIDs (and moves them if `move`), all in the
// caller's transaction. Order of allocation: account MODSEQ, then destination UIDNEXT, then rows.
Result<CopyResult> copyRowsTx(WriteCtx& ctx, AccountId account, MailboxId from, const std::vector<MessageMeta>& rows,
                              MailboxId to, bool move) {
  CopyResult out;
  TERN_ASSIGN(dest, mailboxById(ctx.db, account, to));
  out.uidValidity = dest.uidValidity;
  if (rows.empty()) return out;
  const auto n = static_cast<uint32_t>(rows.size());
  TERN_ASSIGN(firstModSeq, allocModSeq(ctx.db, account, move ? 2ull * n : n));
  TERN_ASSIGN(firstUid, allocUids(ctx.db, to, n));
  const DateTime now = nowDate();
  int64_t unseen = 0, deleted = 0, size = 0;
  for (uint32_t i = 0; i < n; ++i) {
    const MessageMeta& m = rows[i];
    Flags flags = m.flags;
    TERN_ASSIGN(kws, canonicalKeywords(ctx.db, to, flags.keywords));
    flags.keywords = std::move(kws);
    TERN_TRY(insertMessage(ctx.db, to, firstUid + i, firstModSeq + i, flags, m.internalDate, now, m.size, m.blobId));
    if (!(flags.system & kSeen)) ++unseen;
    if (flags.system & kDeleted) ++deleted;
    size += static_cast<int64_t>(m.size);
    out.sourceUids.push_back(m.uid);
    out.destUids.push_back(firstUid + i);
  }
  TERN_TRY(setHighestModSeq(ctx.db, to, firstModSeq + n - 1));
  TERN_TRY(adjustCounters(ctx.db, to, n, unseen, deleted, size));
  ctx.touched.insert(to);
  if (move) {
    TERN_TRY(expungeRows(ctx.db, from, rows, firstModSeq + n));
    ctx.touched.insert(from);
  }
  return out;
}

Result<std::vector<MessageMeta>> presentRows(Db& db, MailboxId mailbox, const std::vector<Uid>& uids) {
  std::vector<Uid> sorted = uids;
  std::sort(sorted.begin(), sorted.end());
  sorted.erase(std::unique(sorted.begin(), sorted.end()), sorted.end());
  std::vector<MessageMeta> out;
  out.reserve(sorted.size());
  if (sorted.empty()) return out;
  // Dense UID lists (FETCH 1:*, a chunk of a SEARCH) read one range instead of one lookup per UID.
  const uint64_t span = uint64_t{sorted.back()} - sorted.front() + 1;
  if (sorted.size() >= 8 && span <= 4 * sorted.size()) {
    TERN_ASSIGN(st, db.prepare("SELECT " TERN_MESSAGE_COLS
                               " FROM messages WHERE mailbox_id = ? AND uid BETWEEN ? AND ? ORDER BY uid"));
    st.bind(1, mailbox).bind(2, static_cast<int64_t>(sorted.front())).bind(3, static_cast<int64_t>(sorted.back()));
    auto want = sorted.begin();
    for (;;) {
      TERN_ASSIGN(row, st.step());
      if (!row) break;
      const Uid uid = static_cast<Uid>(st.i64(0));
      while (want != sorted.end() && *want < uid) ++want;
      if (want == sorted.end()) break;
      if (*want == uid) out.push_back(readMessage(st));
    }
    return out;
  }
  for (Uid uid : sorted) {
    TERN_ASSIGN(m, messageByUid(db, mailbox, uid));
    if (m) out.push_back(std::move(*m));
  }
  return out;
}

// Read transaction guard: a consistent snapshot across the statements of one read call.
class ReadTx {
 public:
  explicit ReadTx(Db& db) : db_(db), ok_(db.exec("BEGIN").ok()) {}
  ~ReadTx() {
    if (ok_) (void)db_.exec("COMMIT");
  }
  ReadTx(const ReadTx&) = delete;
  ReadTx& operator=(const ReadTx&) = delete;

 private:
  Db& db_;
  bool ok_;
};

}  // namespace

// ---------------------------------------------------------------------------------------------
// Lifecycle, writer, readers, poller

struct SqliteStore::WriteRequest {
  std::function<Result<void>(WriteCtx&)> fn;
  // Called by the writer after the commit, as its last use of the request (which it may free).
  std::function<void(Result<void>)> done;
};

SqliteStore::SqliteStore(std::string dataDir, SqliteOptions options)
    : dataDir_(std::move(dataDir)),
      dbPath_(dataDir_ + "/tern.db"),
      options_(options),
      blobs_(dataDir_ + "/blobs") {
  if (options_.inlineBlobLimit > 0) blobs_.setInlineSource(&inlineBlobs_, options_.inlineBlobLimit);
}

Result<std::optional<std::string>> SqliteStore::InlineBlobs::readInlineBlob(std::string_view blobId) const {
  return store_.read<std::optional<std::string>>([&](Db& db) -> Result<std::optional<std::string>> {
    TERN_ASSIGN(st, db.prepare("SELECT bytes FROM blob_data WHERE blob_id = ?"));
    st.bindText(1, blobId);
    TERN_ASSIGN(row, st.step());
    if (!row) return std::optional<std::string>();
    return std::optional<std::string>(st.text(0));
  });
}

Result<std::unique_ptr<SqliteStore>> SqliteStore::open(const std::string& dataDir, SqliteOptions options) {
  if (dataDir.empty()) return fail(Errc::Invalid, "empty data directory");
  if (::mkdir(dataDir.c_str(), 0700) != 0 && errno == ENOENT) {
    std::error_code ec;
    std::filesystem::create_directories(std::filesystem::path(dataDir).parent_path(), ec);
    if (ec) return fail(Errc::Unavailable, "create parents of " + dataDir + ": " + ec.message());
  }
  if (::mkdir(dataDir.c_str(), 0700) != 0 && errno != EEXIST) {
    return fail(Errc::Unavailable, "mkdir " + dataDir + ": " + std::strerror(errno));
  }
  std::string blobDir = dataDir + "/blobs";
  if (::mkdir(blobDir.c_str(), 0700) != 0 && errno != EEXIST) {
    return fail(Errc::Unavailable, "mkdir " + blobDir + ": " + std::strerror(errno));
  }
  std::unique_ptr<SqliteStore> store(new SqliteStore(dataDir, options));
  // Create the database file 0600 ourselves; SQLite gives -wal and -shm the same mode.
  int fd = ::open(store->dbPath_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return fail(Errc::Unavailable, "create " + store->dbPath_ + ": " + std::strerror(errno));
  ::close(fd);
  TERN_ASSIGN(db, Db::open(store->dbPath_, false, options.synchronousFull));
  TERN_TRY(sqlite::migrate(*db));
  // The poller's baseline, read before any thread can answer a lookup: a change made by another
  // process from here on moves directoryGeneration().
  TERN_ASSIGN(directoryVersion, readDirectoryVersion(*db));
  store->directoryVersionAtOpen_ = directoryVersion;
  store->writerDb_ = std::move(db);
  store->writer_ = std::thread([s = store.get()] {
    ::pthread_setname_np(::pthread_self(), "tern-writer");  // shows in top -H, perf, gdb
    s->writerLoop();
  });
  if (options.externalPollInterval.count() > 0) {
    store->poller_ = std::thread([s = store.get()] {
      ::pthread_setname_np(::pthread_self(), "tern-poller");
      s->pollerLoop();
    });
  }
  return store;
}

SqliteStore::~SqliteStore() {
  {
    std::lock_guard lock(pollMu_);
    pollStop_ = true;
  }
  pollCv_.notify_all();
  if (poller_.joinable()) poller_.join();
  {
    std::lock_guard lock(queueMu_);
    stopping_ = true;
  }
  queueCv_.notify_all();
  if (writer_.joinable()) writer_.join();
  std::lock_guard lock(readersMu_);
  readers_.clear();
}

BlobStore& SqliteStore::blobs() { return blobs_; }
ChangeHub& SqliteStore::changes() { return hub_; }

void SqliteStore::pauseWriterForTest(bool paused) {
  {
    std::lock_guard lock(queueMu_);
    paused_ = paused;
  }
  queueCv_.notify_all();
}

size_t SqliteStore::queuedWrites() const {
  std::lock_guard lock(queueMu_);
  return queue_.size();
}

namespace {
// Set on the writer thread while runOnWriter work runs: the writes it makes join the batch in progress.
thread_local WriteCtx* tWriterWork = nullptr;
}  // namespace

void SqliteStore::runOnWriter(std::function<void()> work, std::function<void(Result<void>)> committed) {
  auto* req = new WriteRequest;
  req->fn = [work = std::move(work)](WriteCtx& ctx) -> Result<void> {
    struct Scope {
      explicit Scope(WriteCtx& c) { tWriterWork = &c; }
      ~Scope() { tWriterWork = nullptr; }
    } scope(ctx);
    work();
    return {};
  };
  req->done = [req, committed = std::move(committed)](Result<void> r) {
    committed(std::move(r));
    delete req;  // runBatch moved this function out of *req before calling it
  };
  {
    std::lock_guard lock(queueMu_);
    if (!stopping_) {
      queue_.push_back(req);
      req = nullptr;
    }
  }
  if (req) {
    auto done = std::move(req->done);
    done(fail(Errc::Unavailable, "store is shutting down"));
    return;
  }
  queueCv_.notify_one();
}

void SqliteStore::submitDetached(std::function<Result<void>(WriteCtx&)> fn) {
  auto* req = new WriteRequest;
  req->fn = std::move(fn);
  req->done = [req](Result<void> r) {
    if (!r) log::warn("store") << "background write failed: " << r.error().detail;
    delete req;  // runBatch moved this function out of *req before calling it
  };
  {
    std::lock_guard lock(queueMu_);
    if (stopping_) {
      delete req;
      return;
    }
    queue_.push_back(req);
  }
  queueCv_.notify_one();
}

Result<void> SqliteStore::submit(std::function<Result<void>(WriteCtx&)> fn) {
  if (WriteCtx* ctx = tWriterWork) {
    // Called by runOnWriter work: a nested savepoint in the batch being built, committed with it.
    TERN_TRY(ctx->db.exec("SAVEPOINT nested"));
    Result<void> res;
    try {
      res = fn(*ctx);
    } catch (const std::exception& e) {
      res = fail(Errc::Internal, std::string("write threw: ") + e.what());
    }
    if (res) {
      auto rel = ctx->db.exec("RELEASE nested");
      if (rel) return res;
      res = rel;
    }
    (void)ctx->db.exec("ROLLBACK TO nested");
    (void)ctx->db.exec("RELEASE nested");
    return res;
  }
  WriteRequest req;
  req.fn = std::move(fn);
  std::promise<Result<void>> promise;
  auto future = promise.get_future();
  req.done = [&promise](Result<void> r) { promise.set_value(std::move(r)); };
  {
    std::lock_guard lock(queueMu_);
    if (stopping_) return fail(Errc::Unavailable, "store is shutting down");
    queue_.push_back(&req);
  }
  queueCv_.notify_one();
  return future.get();
}

template <class T, class F>
Result<T> SqliteStore::write(F&& fn) {
  if constexpr (std::is_void_v<T>) {
    return submit([&](WriteCtx& ctx) -> Result<void> { return fn(ctx); });
  } else {
    std::optional<T> out;
    auto r = submit([&](WriteCtx& ctx) -> Result<void> {
      auto v = fn(ctx);
      if (!v) return forward(v);
      out = std::move(*v);
      return {};
    });
    if (!r) return forward(r);
    return std::move(*out);
  }
}

template <class T, class F>
Result<T> SqliteStore::read(F&& fn) {
  TERN_ASSIGN(db, reader());
  ReadTx tx(*db);
  return fn(*db);
}

Result<Db*> SqliteStore::reader() {
  std::lock_guard lock(readersMu_);
  auto& slot = readers_[std::this_thread::get_id()];
  if (!slot) {
    TERN_ASSIGN(db, Db::open(dbPath_, true, options_.synchronousFull));
    slot = std::move(db);
  }
  return slot.get();
}

void SqliteStore::writerLoop() {
  for (;;) {
    std::deque<WriteRequest*> batch;
    {
      std::unique_lock lock(queueMu_);
      queueCv_.wait(lock, [&] { return stopping_ || (!paused_ && !queue_.empty()); });
      if (queue_.empty()) {
        if (stopping_) return;
        continue;
      }
      batch.swap(queue_);
    }
    runBatch(batch);
  }
}

void SqliteStore::runBatch(std::deque<WriteRequest*>& batch) {
  Db& db = *writerDb_;
  std::vector<Result<void>> results;
  results.reserve(batch.size());
  std::set<MailboxId> touched;
  auto begin = db.exec("BEGIN IMMEDIATE");
  if (!begin) {
    for (auto* r : batch) {
      auto done = std::move(r->done);  // may free r
      done(begin);
    }
    return;
  }
  for (auto* r : batch) {
    auto sp = db.exec("SAVEPOINT request");
    if (!sp) {
      results.push_back(sp);
      continue;
    }
    WriteCtx ctx{db, {}};
    Result<void> res;
    try {
      res = r->fn(ctx);
    } catch (const std::exception& e) {
      res = fail(Errc::Internal, std::string("write threw: ") + e.what());
    }
    if (res) {
      auto rel = db.exec("RELEASE request");
      if (rel) {
        touched.insert(ctx.touched.begin(), ctx.touched.end());
      } else {
        res = rel;
      }
    }
    if (!res) {
      (void)db.exec("ROLLBACK TO request");
      (void)db.exec("RELEASE request");
    }
    results.push_back(std::move(res));
  }
  auto commit = db.exec("COMMIT");
  if (!commit) {
    log::error("store") << "commit failed: " << commit.error().detail;
    (void)db.exec("ROLLBACK");
    for (auto& r : results) r = commit;
    touched.clear();
  } else {
    commits_.fetch_add(1);
  }
  for (MailboxId id : touched) {
    if (poller_.joinable() && hub_.subscriberCount(id) > 0) refreshSnapshot(db, id, false);
    hub_.notify(id);
  }
  for (size_t i = 0; i < batch.size(); ++i) {
    auto done = std::move(batch[i]->done);  // may free the request
    done(std::move(results[i]));
  }
}

// Records the mailbox's current (uidnext, highestmodseq); notifies if it differs from what was
// recorded before (or the mailbox is gone) and notifyOnChange is set.
void SqliteStore::refreshSnapshot(Db& db, MailboxId mailbox, bool notifyOnChange) {
  std::optional<std::pair<Uid, ModSeq>> now;
  {
    auto st = db.prepare("SELECT uidnext, highestmodseq FROM mailboxes WHERE id = ?");
    if (!st) return;
    st->bind(1, mailbox);
    auto row = st->step();
    if (!row) return;
    if (*row) now = std::make_pair(static_cast<Uid>(st->i64(0)), static_cast<ModSeq>(st->i64(1)));
  }
  bool changed = false;
  {
    std::lock_guard lock(snapMu_);
    auto it = snapshot_.find(mailbox);
    if (!now) {
      changed = true;  // deleted elsewhere: wake the sessions so they notice
      if (it != snapshot_.end()) snapshot_.erase(it);
    } else if (it == snapshot_.end()) {
      changed = true;  // no baseline: a commit happened, announce once
      snapshot_.emplace(mailbox, *now);
    } else if (it->second != *now) {
      changed = true;
      it->second = *now;
    }
  }
  if (changed && notifyOnChange) hub_.notify(mailbox);
}

void SqliteStore::pollerLoop() {
  auto dbResult = Db::open(dbPath_, true, options_.synchronousFull);
  if (!dbResult) {
    log::error("store") << "external change poller disabled: " << dbResult.error().detail;
    return;
  }
  Db& db = **dbResult;
  int64_t lastVersion = -1;
  int64_t lastDirectory = directoryVersionAtOpen_;  // meta 'directory_version' at the last poll
  for (;;) {
    {
      std::unique_lock lock(pollMu_);
      if (pollCv_.wait_for(lock, options_.externalPollInterval, [&] { return pollStop_; })) break;
    }
    int64_t version = -1;
    {
      auto st = db.prepare("PRAGMA data_version");
      if (!st) continue;
      auto row = st->step();
      if (!row || !*row) continue;
      version = st->i64(0);
    }
    std::vector<MailboxId> ids = hub_.subscribedMailboxes();
    if (version == lastVersion) {
      // Nothing committed anywhere: just take baselines for newly watched mailboxes.
      for (MailboxId id : ids) {
        bool known;
        {
          std::lock_guard lock(snapMu_);
          known = snapshot_.count(id) != 0;
        }
        if (!known) refreshSnapshot(db, id, false);
      }
    } else {
      const bool first = lastVersion < 0;
      lastVersion = version;
      ReadTx tx(db);
      for (MailboxId id : ids) refreshSnapshot(db, id, !first);
      if (auto directory = readDirectoryVersion(db); directory && *directory != lastDirectory) {
        directoryGeneration_.fetch_add(1, std::memory_order_acq_rel);
        lastDirectory = *directory;
      }
    }
    std::lock_guard lock(snapMu_);
    std::set<MailboxId> watched(ids.begin(), ids.end());
    for (auto it = snapshot_.begin(); it != snapshot_.end();) {
      it = watched.count(it->first) ? std::next(it) : snapshot_.erase(it);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Directory

Result<void> SqliteStore::addDomain(std::string_view domain) {
  TERN_ASSIGN(d, normalizeDomain(domain));
  return directoryChanged(write<void>([&](WriteCtx& ctx) -> Result<void> {
    TERN_ASSIGN(st, ctx.db.prepare("INSERT INTO domains(name) VALUES (?) ON CONFLICT DO NOTHING"));
    st.bindText(1, d);
    TERN_TRY(st.run());
    if (ctx.db.changes() == 0) return fail(Errc::AlreadyExists, "domain exists");
    return {};
  }));
}

Result<void> SqliteStore::removeDomain(std::string_view domain) {
  TERN_ASSIGN(d, normalizeDomain(domain));
  return directoryChanged(write<void>([&](WriteCtx& ctx) -> Result<void> {
    {
      TERN_ASSIGN(st, ctx.db.prepare("SELECT 1 FROM accounts WHERE domain = ? LIMIT 1"));
      st.bindText(1, d);
      TERN_ASSIGN(row, st.step());
      if (row) return fail(Errc::Invalid, "domain still has accounts");
    }
    {
      TERN_ASSIGN(st, ctx.db.prepare("DELETE FROM domains WHERE name = ?"));
      st.bindText(1, d);
      TERN_TRY(st.run());
      if (ctx.db.changes() == 0) return fail(Errc::NotFound, "no such domain");
    }
    // The domain's aliases (and its catch-all) would be dead entries now.
    TERN_ASSIGN(st, ctx.db.prepare("DELETE FROM aliases WHERE substr(address, -length(?)) = ?"));
    std::string suffix = "@" + d;
    st.bindText(1, suffix).bindText(2, suffix);
    return st.run();
  }));
}

Result<std::vector<std::string>> SqliteStore::listDomains() {
  return read<std::vector<std::string>>([&](Db& db) -> Result<std::vector<std::string>> {
    TERN_ASSIGN(st, db.prepare("SELECT name FROM domains ORDER BY name"));
    std::vector<std::string> out;
    for (;;) {
      TERN_ASSIGN(row, st.step());
      if (!row) break;
      out.push_back(st.text(0));
    }
    return out;
  });
}

Result<bool> SqliteStore::hasDomain(std::string_view domain) {
  if (!validDomainText(domain)) return false;
  std::string d = asciiLowercase(domain);
  return read<bool>([&](Db& db) -> Result<bool> {
    TERN_ASSIGN(st, db.prepare("SELECT 1 FROM domains WHERE name = ?"));
    st.bindText(1, d);
    return st.step();
  });
}

Result<AccountId> SqliteStore::addAccount(std::string_view address, const Credentials& c) {
  TERN_ASSIGN(a, normalizeAddress(address, false));
  return directoryChanged(write<AccountId>([&](WriteCtx& ctx) -> Result<AccountId> {
    {
      TERN_ASSIGN(st, ctx.db.prepare("SELECT 1 FROM domains WHERE name = ?"));
      st.bindText(1, a.domain);
      TERN_ASSIGN(row, st.step());
      if (!row) return fail(Errc::Invalid, "unknown domain");
    }
    {
      TERN_ASSIGN(existing, accountByAddress(ctx.db, a.full));
      if (existing) return fail(Errc::AlreadyExists, "account exists");
    }
    AccountId id = 0;
    {
      TERN_ASSIGN(st, ctx.db.prepare("INSERT INTO accounts(address, domain, password_hash, scram_salt, "
                                     "scram_iterations, scram_stored_key, scram_server_key) "
                                     "VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id"));
      st.bindText(1, a.full).bindText(2, a.domain).bindText(3, c.passwordHash).bindBlob(4, c.scramSalt);
      st.bind(5, c.scramIterations).bindBlob(6, c.scramStoredKey).bindBlob(7, c.scramServerKey);
      TERN_ASSIGN(row, st.step());
      if (!row) return fail(Errc::Internal, "insert account returned no id");
      id = st.i64(0);
    }
    static const std::pair<const char*, SpecialUse> kDefaults[] = {
        {"INBOX", SpecialUse::None}, {"Drafts", SpecialUse::Drafts}, {"Sent", SpecialUse::Sent},
        {"Trash", SpecialUse::Trash}, {"Junk", SpecialUse::Junk},     {"Archive", SpecialUse::Archive},
    };
    for (const auto& [name, use] : kDefaults) {
      TERN_TRY(createMailboxTx(ctx, id, name, use));
      TERN_TRY(subscribeTx(ctx.db, id, name));
    }
    return id;
  }));
}

Result<void> SqliteStore::setCredentials(std::string_view address, const Credentials& c) {
  TERN_ASSIGN(a, normalizeAddress(address, false));
  return write<void>([&](WriteCtx& ctx) -> Result<void> {
    TERN_ASSIGN(st, ctx.db.prepare("UPDATE accounts SET password_hash = ?, scram_salt = ?, scram_iterations = ?, "
                                   "scram_stored_key = ?, scram_server_key = ?, "
                                   "credentials_version = credentials_version + 1 WHERE address = ?"));
    st.bindText(1, c.passwordHash).bindBlob(2, c.scramSalt).bind(3, c.scramIterations);
    st.bindBlob(4, c.scramStoredKey).bindBlob(5, c.scramServerKey).bindText(6, a.full);
    TERN_TRY(st.run());
    if (ctx.db.changes() == 0) return fail(Errc::NotFound, "no such account");
    return {};
  });
}

Result<void> SqliteStore::removeAccount(std::string_view address) {
  TERN_ASSIGN(a, normalizeAddress(address, false));
  return directoryChanged(write<void>([&](WriteCtx& ctx) -> Result<void> {
    TERN_ASSIGN(acct, accountByAddress(ctx.db, a.full));
    if (!acct) return fail(Errc::NotFound, "no such account");
    {
      TERN_ASSIGN(st, ctx.db.prepare("SELECT id FROM mailboxes WHERE account_id = ?"));
      st.bind(1, acct->id);
      for (;;) {
        TERN_ASSIGN(row, st.step());
        if (!row) break;
        ctx.touched.insert(st.i64(0));
      }
    }
    TERN_ASSIGN(st, ctx.db.prepare("DELETE FROM accounts WHERE id = ?"));  // cascades to all its mail
    st.bind(1, acct->id);
    return st.run();
  }));
}

Result<std::vector<std::string>> SqliteStore::listAccounts() {
  return read<std::vector<std::string>>([&](Db& db) -> Result<std::vector<std::string>> {
    TERN_ASSIGN(st, db.prepare("SELECT address FROM accounts ORDER BY address"));
    std::vector<std::string> out;
    for (;;) {
      TERN_ASSIGN(row, st.step());
      if (!row) break;
      out.push_back(st.text(0));
    }
    return out;
  });
}

Result<std::optional<Account>> SqliteStore::findAccount(std::string_view address) {
  auto a = normalizeAddress(address, false);
  if (!a) return std::optional<Account>();
  return read<std::optional<Account>>([&](Db& db) { return accountByAddress(db, a->full); });
}

Result<void> SqliteStore::addAlias(std::string_view address, const std::vector<std::string>& targets) {
  TERN_ASSIGN(a, normalizeAddress(address, true));
  if (targets.empty() || targets.size() > 1000) return fail(Errc::Invalid, "alias needs 1..1000 targets");
  std::vector<std::string> norm;
  for (const auto& t : targets) {
    TERN_ASSIGN(n, normalizeAddress(t, false));
    if (std::find(norm.begin(), norm.end(), n.full) == norm.end()) norm.push_back(n.full);
  }
  return directoryChanged(write<void>([&](WriteCtx& ctx) -> Result<void> {
    {
      TERN_ASSIGN(st, ctx.db.prepare("SELECT 1 FROM aliases WHERE address = ? LIMIT 1"));
      st.bindText(1, a.full);
      TERN_ASSIGN(row, st.step());
      if (row) return fail(Errc::AlreadyExists, "alias exists");
    }
    for (size_t i = 0; i < norm.size(); ++i) {
      TERN_ASSIGN(st, ctx.db.prepare("INSERT INTO aliases(address, position, target) VALUES (?, ?, ?)"));
      st.bindText(1, a.full).bind(2, static_cast<int64_t>(i)).bindText(3, norm[i]);
      TERN_TRY(st.run());
    }
    return {};
  }));
}

Result<void> SqliteStore::removeAlias(std::string_view address) {
  TERN_ASSIGN(a, normalizeAddress(address, true));
  return directoryChanged(write<void>([&](WriteCtx& ctx) -> Result<void> {
    TERN_ASSIGN(st, ctx.db.prepare("DELETE FROM aliases WHERE address = ?"));
    st.bindText(1, a.full);
    TERN_TRY(st.run());
    if (ctx.db.changes() == 0) return fail(Errc::NotFound, "no such alias");
    return {};
  }));
}

Result<std::vector<Alias>> SqliteStore::listAliases() {
  return read<std::vector<Alias>>([&](Db& db) -> Result<std::vector<Alias>> {
    TERN_ASSIGN(st, db.prepare("SELECT address, target FROM aliases ORDER BY address, position"));
    std::vector<Alias> out;
    for (;;) {
      TERN_ASSIGN(row, st.step());
      if (!row) break;
      std::string addr = st.text(0);
      if (out.empty() || out.back().address != addr) out.push_back(Alias{addr, {}});
      out.back().targets.push_back(st.text(1));
    }
    return out;
  });
}

std::optional<uint64_t> SqliteStore::directoryGeneration() {
  if (!poller_.joinable()) return std::nullopt;
  return directoryGeneration_.load(std::memory_order_acquire);
}

Result<std::vector<Account>> SqliteStore::resolveAddress(std::string_view address) {
  auto a = normalizeAddress(address, false);
  if (!a) return std::vector<Account>();
  return read<std::vector<Account>>([&](Db& db) -> Result<std::vector<Account>> {
    std::vector<Account> out;
    {
      TERN_ASSIGN(acct, accountByAddress(db, a->full));
      if (acct) {
        out.push_back(std::move(*acct));
        return out;
      }
    }
    for (const std::string& key : {a->full, "@" + a->domain}) {
      std::vector<std::string> targets;
      {
        TERN_ASSIGN(st, db.prepare("SELECT target FROM aliases WHERE address = ? ORDER BY position"));
        st.bindText(1, key);
        for (;;) {
          TERN_ASSIGN(row, st.step());
          if (!row) break;
          targets.push_back(st.text(0));
        }
      }
      if (targets.empty()) continue;
      for (const auto& t : targets) {
        TERN_ASSIGN(acct, accountByAddress(db, t));
        if (acct && std::none_of(out.begin(), out.end(), [&](const Account& x) { return x.id == acct->id; })) {
          out.push_back(std::move(*acct));
        }
      }
      return out;
    }
    return out;
  });
}

// ---------------------------------------------------------------------------------------------
// Mailboxes

Result<std::vector<MailboxInfo>> SqliteStore::listMailboxes(AccountId account) {
  return read<std::vector<MailboxInfo>>([&](Db& db) -> Result<std::vector<MailboxInfo>> {
    TERN_ASSIGN(st, db.prepare("SELECT " TERN_MAILBOX_COLS " FROM mailboxes m WHERE m.account_id = ? ORDER BY m.name"));
    st.bind(1, account);
    std::vector<MailboxInfo> out;
    for (;;) {
      TERN_ASSIGN(row, st.step());
      if (!row) break;
      out.push_back(readMailbox(st));
    }
    return out;
  });
}

Result<MailboxInfo> SqliteStore::findMailbox(AccountId account, std::string_view name) {
  TERN_ASSIGN(n, normalizeName(name));
  return read<MailboxInfo>([&](Db& db) -> Result<MailboxInfo> {
    TERN_ASSIGN(m, mailboxByName(db, account, n));
    if (!m) return fail(Errc::NotFound, "no such mailbox");
    return std::move(*m);
  });
}

Result<MailboxInfo> SqliteStore::getMailbox(AccountId account, MailboxId id) {
  return read<MailboxInfo>([&](Db& db) { return mailboxById(db, account, id); });
}

Result<MailboxInfo> SqliteStore::createMailbox(AccountId account, std::string_view name, SpecialUse use) {
  TERN_ASSIGN(n, normalizeName(name));
  return write<MailboxInfo>([&](WriteCtx& ctx) { return createMailboxTx(ctx, account, n, use); });
}

Result<void> SqliteStore::deleteMailbox(AccountId account, std::string_view name) {
  TERN_ASSIGN(n, normalizeName(name));
  if (n == "INBOX") return fail(Errc::Invalid, "INBOX cannot be deleted");
  return write<void>([&](WriteCtx& ctx) -> Result<void> {
    TERN_ASSIGN(m, mailboxByName(ctx.db, account, n));
    if (!m) return fail(Errc::NotFound, "no such mailbox");
    TERN_ASSIGN(st, ctx.db.prepare("DELETE FROM mailboxes WHERE id = ?"));  // cascades to messages
    st.bind(1, m->id);
    TERN_TRY(st.run());
    ctx.touched.insert(m->id);
    return {};
  });
}

Result<void> SqliteStore::renameMailbox(AccountId account, std::string_view fromName, std::string_view toName) {
  TERN_ASSIGN(from, normalizeName(fromName));
  TERN_ASSIGN(to, normalizeName(toName));
  if (to == "INBOX") return fail(Errc::AlreadyExists, "INBOX always exists");
  // INBOX is the exception: its children stay, so "INBOX/old" is a fine new name for its messages.
  if (from != "INBOX" && to.size() > from.size() && to.compare(0, from.size() + 1, from + "/") == 0) {
    return fail(Errc::Invalid, "cannot rename a mailbox into itself");
  }
  return write<void>([&](WriteCtx& ctx) -> Result<void> {
    TERN_ASSIGN(src, mailboxByName(ctx.db, account, from));
    if (!src) return fail(Errc::NotFound, "no such mailbox");
    TERN_ASSIGN(dst, mailboxByName(ctx.db, account, to));
    if (dst) return fail(Errc::AlreadyExists, "target exists");

    if (from == "INBOX") {
      // RFC 9051 6.3.9: INBOX's messages move to a new mailbox; INBOX stays, empty, and its
      // children are not renamed.
      TERN_ASSIGN(created, createMailboxTx(ctx, account, to, SpecialUse::None));
      std::vector<MessageMeta> rows;
      {
        TERN_ASSIGN(st, ctx.db.prepare("SELECT " TERN_MESSAGE_COLS " FROM messages WHERE mailbox_id = ? ORDER BY uid"));
        st.bind(1, src->id);
        for (;;) {
          TERN_ASSIGN(row, st.step());
          if (!row) break;
          rows.push_back(readMessage(st));
        }
      }
      TERN_TRY(copyRowsTx(ctx, account, src->id, rows, created.id, true));
      return {};
    }

    // Collect the mailbox and its children, check that no new name is taken, then rename.
    const std::string prefix = from + "/";
    std::vector<std::pair<MailboxId, std::string>> moves;
    {
      TERN_ASSIGN(st, ctx.db.prepare("SELECT id, name FROM mailboxes WHERE account_id = ? AND "
                                     "(name = ? OR substr(name, 1, ?) = ?)"));
      st.bind(1, account).bindText(2, from).bind(3, static_cast<int64_t>(prefix.size())).bindText(4, prefix);
      for (;;) {
        TERN_ASSIGN(row, st.step());
        if (!row) break;
        std::string name = st.text(1);
        moves.emplace_back(st.i64(0), to + name.substr(from.size()));
      }
    }
    for (const auto& [id, newName] : moves) {
      if (newName.size() > kMaxNameBytes) return fail(Errc::Invalid, "new name too long");
      TERN_ASSIGN(clash, mailboxByName(ctx.db, account, newName));
      if (clash) return fail(Errc::AlreadyExists, "a child's new name exists");
    }
    TERN_ASSIGN(modseq, allocModSeq(ctx.db, account, 1));
    for (size_t pos = to.find('/'); pos != std::string::npos; pos = to.find('/', pos + 1)) {
      std::string parent = to.substr(0, pos);
      TERN_ASSIGN(p, mailboxByName(ctx.db, account, parent));
      if (!p) {
        TERN_ASSIGN(id, insertMailbox(ctx.db, account, parent, SpecialUse::None, modseq));
        ctx.touched.insert(id);
      }
    }
    for (const auto& [id, newName] : moves) {
      TERN_ASSIGN(st, ctx.db.prepare("UPDATE mailboxes SET name = ? WHERE id = ?"));
      st.bindText(1, newName).bind(2, id);
      TERN_TRY(st.run());
      ctx.touched.insert(id);
    }
    // Subscriptions follow the renamed mailboxes, as users expect (Dovecot does the same).
    TERN_ASSIGN(st, ctx.db.prepare("UPDATE OR REPLACE subscriptions SET name = ? || substr(name, ?) "
                                   "WHERE account_id = ? AND (name = ? OR substr(name, 1, ?) = ?)"));
    st.bindText(1, to).bind(2, static_cast<int64_t>(from.size() + 1)).bind(3, account).bindText(4, from);
    st.bind(5, static_cast<int64_t>(prefix.size())).bindText(6, prefix);
    return st.run();
  });
}

Result<void> SqliteStore::setSubscribed(AccountId account, std::string_view name, bool subscribed) {
  TERN_ASSIGN(n, normalizeName(name));
  return write<void>([&](WriteCtx& ctx) -> Result<void> {
    {
      TERN_ASSIGN(st, ctx.db.prepare("SELECT 1 FROM accounts WHERE id = ?"));
      st.bind(1, account);
      TERN_ASSIGN(row, st.step());
      if (!row) return fail(Errc::NotFound, "no such account");
    }
    if (subscribed) return subscribeTx(ctx.db, account, n);
    TERN_ASSIGN(st, ctx.db.prepare("DELETE FROM subscriptions WHERE account_id = ? AND name = ?"));
    st.bind(1, account).bindText(2, n);
    return st.run();
  });
}

Result<std::vector<std::string>> SqliteStore::listSubscriptions(AccountId account) {
  return read<std::vector<std::string>>([&](Db& db) -> Result<std::vector<std::string>> {
    TERN_ASSIGN(st, db.prepare("SELECT name FROM subscriptions WHERE account_id = ? ORDER BY name"));
    st.bind(1, account);
    std::vector<std::string> out;
    for (;;) {
      TERN_ASSIGN(row, st.step());
      if (!row) break;
      out.push_back(st.text(0));
    }
    return out;
  });
}

Result<MailboxStatus> SqliteStore::status(AccountId account, MailboxId mailbox) {
  return read<MailboxStatus>([&](Db& db) -> Result<MailboxStatus> {
    MailboxStatus s;
    int64_t recentUid = 1;
    {
      TERN_ASSIGN(st, db.prepare("SELECT messages, unseen, deleted, size, recent_uid, uidvalidity, uidnext, "
                                 "highestmodseq FROM mailboxes WHERE account_id = ? AND id = ?"));
      st.bind(1, account).bind(2, mailbox);
      TERN_ASSIGN(row, st.step());
      if (!row) return fail(Errc::NotFound, "no such mailbox for this account");
      s.messages = static_cast<uint32_t>(st.i64(0));
      s.unseen = static_cast<uint32_t>(st.i64(1));
      s.deleted = static_cast<uint32_t>(st.i64(2));
      s.size = static_cast<uint64_t>(st.i64(3));
      recentUid = st.i64(4);
      s.uidValidity = static_cast<uint32_t>(st.i64(5));
      s.uidNext = static_cast<Uid>(st.i64(6));
      s.highestModSeq = static_cast<ModSeq>(st.i64(7));
    }
    {
      std::lock_guard lock(recentMu_);  // claims not yet written (claimRecent)
      if (auto it = recentClaims_.find(mailbox); it != recentClaims_.end())
        recentUid = std::max<int64_t>(recentUid, it->second);
    }
    if (recentUid >= static_cast<int64_t>(s.uidNext)) return s;  // nothing recent: skip the count
    TERN_ASSIGN(st, db.prepare("SELECT count(*) FROM messages WHERE mailbox_id = ? AND uid >= ?"));
    st.bind(1, mailbox).bind(2, recentUid);
    TERN_ASSIGN(row, st.step());
    if (row) s.recent = static_cast<uint32_t>(st.i64(0));
    return s;
  });
}

// ---------------------------------------------------------------------------------------------
// Messages

Result<std::vector<MessageMeta>> SqliteStore::listMessages(AccountId account, MailboxId mailbox) {
  return read<std::vector<MessageMeta>>([&](Db& db) -> Result<std::vector<MessageMeta>> {
    TERN_TRY(mailboxById(db, account, mailbox));
    TERN_ASSIGN(st, db.prepare("SELECT " TERN_MESSAGE_COLS " FROM messages WHERE mailbox_id = ? ORDER BY uid"));
    st.bind(1, mailbox);
    std::vector<MessageMeta> out;
    for (;;) {
      TERN_ASSIGN(row, st.step());
      if (!row) break;
      out.push_back(readMessage(st));
    }
    return out;
  });
}

Result<std::vector<MessageMeta>> SqliteStore::getMessages(AccountId account, MailboxId mailbox,
                                                          const std::vector<Uid>& uids) {
  return read<std::vector<MessageMeta>>([&](Db& db) -> Result<std::vector<MessageMeta>> {
    TERN_TRY(mailboxById(db, account, mailbox));
    return presentRows(db, mailbox, uids);
  });
}

Result<AccountId> SqliteStore::mailboxOwner(MailboxId mailbox) {
  return read<AccountId>([&](Db& db) -> Result<AccountId> {
    TERN_ASSIGN(st, db.prepare("SELECT account_id FROM mailboxes WHERE id = ?"));
    st.bind(1, mailbox);
    TERN_ASSIGN(row, st.step());
    if (!row) return fail(Errc::NotFound, "no such mailbox");
    return static_cast<AccountId>(st.i64(0));
  });
}

Result<MailboxInfo> SqliteStore::scanFlags(AccountId account, MailboxId mailbox,
                                           const std::function<void(Uid, const Flags&)>& fn) {
  return read<MailboxInfo>([&](Db& db) -> Result<MailboxInfo> {
    TERN_ASSIGN(info, mailboxById(db, account, mailbox));
    // Three narrow columns, no per-row strings unless a message has keywords: SELECT of a large
    // mailbox is bound by this loop.
    TERN_ASSIGN(st, db.prepare("SELECT uid, flags, keywords FROM messages INDEXED BY messages_flags "
                               "WHERE mailbox_id = ? ORDER BY uid"));
    st.bind(1, mailbox);
    Flags flags;
    for (;;) {
      TERN_ASSIGN(row, st.step());
      if (!row) break;
      flags.system = static_cast<uint32_t>(st.i64(1));
      flags.keywords.clear();
      const std::string_view keywords = st.view(2);  // "" for most messages
      if (!keywords.empty()) flags.keywords = splitKeywords(keywords);
      fn(static_cast<Uid>(st.i64(0)), flags);
    }
    return info;
  });
}

Result<Changes> SqliteStore::changesSince(AccountId account, MailboxId mailbox, ModSeq since) {
  return read<Changes>([&](Db& db) -> Result<Changes> {
    Changes c;
    TERN_ASSIGN(info, mailboxById(db, account, mailbox));
    c.mailbox = std::move(info);
    {
      // "+uid": without it SQLite walks the primary key to avoid a sort, reading every row of the
      // mailbox (a million for a large one) on each refresh; this way messages_modseq finds the few
      // changed rows and only those are sorted.
      TERN_ASSIGN(st, db.prepare("SELECT " TERN_MESSAGE_COLS
                                 " FROM messages WHERE mailbox_id = ? AND modseq > ? ORDER BY +uid"));
      st.bind(1, mailbox).bind(2, static_cast<int64_t>(since));
      for (;;) {
        TERN_ASSIGN(row, st.step());
        if (!row) break;
        c.changed.push_back(readMessage(st));
      }
    }
    TERN_ASSIGN(st, db.prepare("SELECT uid FROM tombstones WHERE mailbox_id = ? AND modseq > ? ORDER BY +uid"));
    st.bind(1, mailbox).bind(2, static_cast<int64_t>(since));
    for (;;) {
      TERN_ASSIGN(row, st.step());
      if (!row) break;
      c.expunged.push_back(static_cast<Uid>(st.i64(0)));
    }
    return c;
  });
}

Result<AppendResult> SqliteStore::append(AccountId account, MailboxId mailbox, const std::vector<NewMessage>& msgs) {
  if (msgs.empty()) return fail(Errc::Invalid, "nothing to append");
  if (msgs.size() > 100000) return fail(Errc::Invalid, "too many messages in one append");
  for (const auto& m : msgs) {
    TERN_TRY(validateFlags(m.flags));
    if (m.blobId.empty()) return fail(Errc::Invalid, "message without blob");
  }
  return write<AppendResult>([&](WriteCtx& ctx) -> Result<AppendResult> {
    TERN_ASSIGN(info, mailboxById(ctx.db, account, mailbox));
    const auto n = static_cast<uint32_t>(msgs.size());
    TERN_ASSIGN(firstModSeq, allocModSeq(ctx.db, account, n));
    TERN_ASSIGN(firstUid, allocUids(ctx.db, mailbox, n));
    const DateTime now = nowDate();
    AppendResult out;
    out.uidValidity = info.uidValidity;
    int64_t unseen = 0, deleted = 0, size = 0;
    for (uint32_t i = 0; i < n; ++i) {
      Flags flags = msgs[i].flags;
      flags.system &= kSystemFlagMask;
      TERN_ASSIGN(kws, canonicalKeywords(ctx.db, mailbox, flags.keywords));
      flags.keywords = std::move(kws);
      TERN_TRY(insertInlineBlob(ctx.db, msgs[i].blobId, msgs[i].inlineBytes));
      TERN_TRY(insertMessage(ctx.db, mailbox, firstUid + i, firstModSeq + i, flags, msgs[i].internalDate, now,
                             msgs[i].size, msgs[i].blobId));
      if (!msgs[i].structure.empty()) TERN_TRY(insertStructure(ctx.db, msgs[i].blobId, msgs[i].structure));
      if (!(flags.system & kSeen)) ++unseen;
      if (flags.system & kDeleted) ++deleted;
      size += static_cast<int64_t>(msgs[i].size);
      out.uids.push_back(firstUid + i);
    }
    TERN_TRY(setHighestModSeq(ctx.db, mailbox, firstModSeq + n - 1));
    TERN_TRY(adjustCounters(ctx.db, mailbox, n, unseen, deleted, size));
    ctx.touched.insert(mailbox);
    return out;
  });
}

Result<StoreFlagsResult> SqliteStore::storeFlags(AccountId account, MailboxId mailbox, const std::vector<Uid>& uids,
                                                 FlagOp op, const Flags& flags, std::optional<ModSeq> unchangedSince) {
  TERN_TRY(validateFlags(flags));
  return write<StoreFlagsResult>([&](WriteCtx& ctx) -> Result<StoreFlagsResult> {
    TERN_TRY(mailboxById(ctx.db, account, mailbox));
    TERN_ASSIGN(rows, presentRows(ctx.db, mailbox, uids));
    TERN_ASSIGN(requested, canonicalKeywords(ctx.db, mailbox, flags.keywords));
    const uint32_t sys = flags.system & kSystemFlagMask;
    StoreFlagsResult out;
    std::vector<std::pair<const MessageMeta*, Flags>> changes;
    for (const auto& m : rows) {
      if (unchangedSince && m.modSeq > *unchangedSince) {
        out.conflicted.push_back(m.uid);
        continue;
      }
      Flags next = m.flags;
      switch (op) {
        case FlagOp::Add:
          next.system |= sys;
          for (const auto& k : requested) {
            if (!hasKeyword(next.keywords, k)) next.keywords.push_back(k);
          }
          break;
        case FlagOp::Remove:
          next.system &= ~sys;
          std::erase_if(next.keywords, [&](const std::string& k) { return hasKeyword(requested, k); });
          break;
        case FlagOp::Replace:
          next.system = sys;
          next.keywords = requested;
          break;
      }
      if (sameFlags(next, m.flags)) continue;
      changes.emplace_back(&m, std::move(next));
    }
    if (changes.empty()) return out;
    TERN_ASSIGN(modseq, allocModSeq(ctx.db, account, changes.size()));
    int64_t unseen = 0, deleted = 0;
    for (auto& [m, next] : changes) {
      TERN_ASSIGN(st, ctx.db.prepare("UPDATE messages SET flags = ?, keywords = ?, modseq = ? "
                                     "WHERE mailbox_id = ? AND uid = ?"));
      st.bind(1, next.system).bindText(2, joinKeywords(next.keywords)).bind(3, static_cast<int64_t>(modseq));
      st.bind(4, mailbox).bind(5, m->uid);
      TERN_TRY(st.run());
      unseen += (!(next.system & kSeen)) - (!(m->flags.system & kSeen));
      deleted += ((next.system & kDeleted) != 0) - ((m->flags.system & kDeleted) != 0);
      out.updated.push_back(FlagUpdate{m->uid, std::move(next), modseq});
      ++modseq;
    }
    TERN_TRY(setHighestModSeq(ctx.db, mailbox, modseq - 1));
    TERN_TRY(adjustCounters(ctx.db, mailbox, 0, unseen, deleted, 0));
    ctx.touched.insert(mailbox);
    return out;
  });
}

Result<std::vector<Uid>> SqliteStore::expunge(AccountId account, MailboxId mailbox,
                                              const std::optional<std::vector<Uid>>& only) {
  return write<std::vector<Uid>>([&](WriteCtx& ctx) -> Result<std::vector<Uid>> {
    TERN_TRY(mailboxById(ctx.db, account, mailbox));
    std::vector<MessageMeta> rows;
    if (only) {
      TERN_ASSIGN(all, presentRows(ctx.db, mailbox, *only));
      for (auto& m : all) {
        if (m.flags.system & kDeleted) rows.push_back(std::move(m));
      }
    } else {
      TERN_ASSIGN(st, ctx.db.prepare("SELECT " TERN_MESSAGE_COLS
                                     " FROM messages WHERE mailbox_id = ? AND (flags & ?) != 0 ORDER BY uid"));
      st.bind(1, mailbox).bind(2, kDeleted);
      for (;;) {
        TERN_ASSIGN(row, st.step());
        if (!row) break;
        rows.push_back(readMessage(st));
      }
    }
    std::vector<Uid> out;
    if (rows.empty()) return out;
    TERN_ASSIGN(modseq, allocModSeq(ctx.db, account, rows.size()));
    TERN_TRY(expungeRows(ctx.db, mailbox, rows, modseq));
    ctx.touched.insert(mailbox);
    for (const auto& m : rows) out.push_back(m.uid);
    return out;
  });
}

Result<CopyResult> SqliteStore::copy(AccountId account, MailboxId from, const std::vector<Uid>& uids, MailboxId to,
                                     bool move) {
  return write<CopyResult>([&](WriteCtx& ctx) -> Result<CopyResult> {
    TERN_TRY(mailboxById(ctx.db, account, from));
    TERN_TRY(mailboxById(ctx.db, account, to));
    TERN_ASSIGN(rows, presentRows(ctx.db, from, uids));
    return copyRowsTx(ctx, account, from, rows, to, move);
  });
}

// \Recent is advisory (RFC 3501 2.3.2): claims are made in memory, under one lock, so exactly one
// session of this process sees each message as recent; the watermark is written to the database
// without waiting for it (a restart starts from the last written one, and a message then shown as
// recent twice is what RFC 3501 allows when a server cannot tell). Claiming durably made every
// SELECT and every new message in a selected mailbox a write with an fsync for IMAP4rev1 clients.
Result<Uid> SqliteStore::claimRecent(AccountId account, MailboxId mailbox) {
  auto row = read<std::pair<Uid, Uid>>([&](Db& db) -> Result<std::pair<Uid, Uid>> {
    TERN_ASSIGN(st, db.prepare("SELECT recent_uid, uidnext FROM mailboxes WHERE account_id = ? AND id = ?"));
    st.bind(1, account).bind(2, mailbox);
    TERN_ASSIGN(found, st.step());
    if (!found) return fail(Errc::NotFound, "no such mailbox for this account");
    return std::make_pair(static_cast<Uid>(st.i64(0)), static_cast<Uid>(st.i64(1)));
  });
  if (!row) return Unexpected<Error>{row.error()};
  const auto [stored, uidNext] = *row;
  Uid first = 0;
  {
    std::lock_guard lock(recentMu_);
    Uid& watermark = recentClaims_[mailbox];
    watermark = std::max(watermark, stored);
    if (watermark >= uidNext) return watermark;
    first = watermark;
    watermark = uidNext;
  }
  submitDetached([mailbox, uidNext](WriteCtx& ctx) -> Result<void> {
    TERN_ASSIGN(st, ctx.db.prepare("UPDATE mailboxes SET recent_uid = max(recent_uid, ?) WHERE id = ?"));
    st.bind(1, uidNext).bind(2, mailbox);
    return st.run();
  });
  return first;
}

Result<std::vector<std::optional<std::string>>> SqliteStore::getStructures(AccountId account,
                                                                         const std::vector<std::string>& blobIds) {
  using Out = std::vector<std::optional<std::string>>;
  return read<Out>([&](Db& db) -> Result<Out> {
    Out out;
    out.reserve(blobIds.size());
    for (const auto& id : blobIds) {
      TERN_ASSIGN(owned, accountHasBlob(db, account, id));
      if (!owned) {
        out.emplace_back();
        continue;
      }
      TERN_ASSIGN(st, db.prepare("SELECT structure FROM blob_structure WHERE blob_id = ?"));
      st.bindText(1, id);
      TERN_ASSIGN(row, st.step());
      if (row)
        out.emplace_back(st.text(0));
      else
        out.emplace_back();
    }
    return out;
  });
}

Result<void> SqliteStore::putStructures(AccountId account,
                                        const std::vector<std::pair<std::string, std::string>>& blobStructures) {
  if (blobStructures.empty()) return {};
  return write<void>([&](WriteCtx& ctx) -> Result<void> {
    for (const auto& [id, structure] : blobStructures) {
      TERN_ASSIGN(owned, accountHasBlob(ctx.db, account, id));
      if (owned && !structure.empty()) TERN_TRY(insertStructure(ctx.db, id, structure));
    }
    return {};
  });
}

// --- SMTP: local delivery and the outbound queue ---

namespace {

Result<std::vector<AccountId>> checkDelivery(const std::vector<AccountId>& accounts, const NewMessage& message) {
  if (message.blobId.empty()) return fail(Errc::Invalid, "message without blob");
  if (accounts.empty() || accounts.size() > 100000) return fail(Errc::Invalid, "bad recipient count");
  TERN_TRY(validateFlags(message.flags));
  std::vector<AccountId> unique;
  for (AccountId a : accounts) {
    if (std::find(unique.begin(), unique.end(), a) == unique.end()) unique.push_back(a);
  }
  return unique;
}

Result<void> checkOutbound(const OutboundMessage& m) {
  if (m.blobId.empty()) return fail(Errc::Invalid, "message without blob");
  if (m.recipients.empty() || m.recipients.size() > 100000) return fail(Errc::Invalid, "bad recipient count");
  if (m.sender.size() > kMaxAddressBytes) return fail(Errc::Invalid, "sender too long");
  for (const auto& r : m.recipients) {
    if (r.address.empty() || r.address.size() > kMaxAddressBytes) return fail(Errc::Invalid, "bad recipient");
  }
  return {};
}

// Inside the writer's transaction: one message row per account's INBOX.
Result<std::vector<DeliveryResult>> deliverIn(WriteCtx& ctx, const std::vector<AccountId>& unique,
                                              const NewMessage& message) {
  std::vector<DeliveryResult> out;
  const DateTime now = nowDate();
  bool structureStored = false, blobStored = false;
  for (AccountId account : unique) {
    DeliveryResult r;
    r.account = account;
    Flags flags = message.flags;
    flags.system &= kSystemFlagMask;
    auto modseq = allocModSeq(ctx.db, account, 1);
    if (!modseq && modseq.error().code == Errc::NotFound) {  // the account was removed after RCPT
      out.push_back(r);
      continue;
    }
    TERN_TRY(modseq);
    TERN_ASSIGN(inbox, addToInbox(ctx.db, account, *modseq, flags.system, message.size));
    if (!inbox) {
      out.push_back(r);
      continue;
    }
    const auto [mailbox, uid] = *inbox;
    TERN_ASSIGN(kws, canonicalKeywords(ctx.db, mailbox, flags.keywords));
    flags.keywords = std::move(kws);
    if (!blobStored) TERN_TRY(insertInlineBlob(ctx.db, message.blobId, message.inlineBytes));
    blobStored = true;
    TERN_TRY(insertMessage(ctx.db, mailbox, uid, *modseq, flags, message.internalDate, now, message.size,
                           message.blobId));
    if (!message.structure.empty() && !structureStored) {
      TERN_TRY(insertStructure(ctx.db, message.blobId, message.structure));
      structureStored = true;
    }
    ctx.touched.insert(mailbox);
    r.delivered = true;
    r.mailbox = mailbox;
    r.uid = uid;
    out.push_back(r);
  }
  return out;
}

// Inside the writer's transaction: the message row and one row per recipient, all due now.
Result<int64_t> enqueueIn(WriteCtx& ctx, const OutboundMessage& m) {
  const int64_t now = static_cast<int64_t>(::time(nullptr));
  TERN_TRY(insertInlineBlob(ctx.db, m.blobId, m.inlineBytes));
  TERN_ASSIGN(st, ctx.db.prepare("INSERT INTO outbound_messages(sender, blob_id, size, ret, envid, smtputf8, "
                                 "eightbit, account_id, created) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id"));
  st.bindText(1, m.sender).bindText(2, m.blobId).bind(3, static_cast<int64_t>(m.size)).bindText(4, m.ret);
  st.bindText(5, m.envid).bind(6, m.smtputf8 ? 1 : 0).bind(7, m.eightBit ? 1 : 0).bind(8, m.submitter).bind(9, now);
  TERN_ASSIGN(row, st.step());
  if (!row) return fail(Errc::Internal, "queue insert returned no id");
  const int64_t id = st.i64(0);
  for (const auto& r : m.recipients) {
    TERN_ASSIGN(ins, ctx.db.prepare("INSERT INTO outbound_recipients(message_id, recipient, notify, orcpt, "
                                    "next_attempt) VALUES (?, ?, ?, ?, ?)"));
    ins.bind(1, id).bindText(2, r.address).bindText(3, r.notify).bindText(4, r.orcpt).bind(5, now);
    TERN_TRY(ins.run());
  }
  return id;
}

}  // namespace

Result<std::vector<DeliveryResult>> SqliteStore::deliver(const std::vector<AccountId>& accounts,
                                                         const NewMessage& message) {
  TERN_ASSIGN(unique, checkDelivery(accounts, message));
  return write<std::vector<DeliveryResult>>([&](WriteCtx& ctx) { return deliverIn(ctx, unique, message); });
}

Result<int64_t> SqliteStore::enqueueOutbound(const OutboundMessage& m) {
  TERN_TRY(checkOutbound(m));
  return write<int64_t>([&](WriteCtx& ctx) { return enqueueIn(ctx, m); });
}

Result<std::vector<DeliveryResult>> SqliteStore::deliverAndEnqueue(const std::vector<AccountId>& accounts,
                                                                   const NewMessage& message,
                                                                   const OutboundMessage& outbound) {
  TERN_ASSIGN(unique, checkDelivery(accounts, message));
  TERN_TRY(checkOutbound(outbound));
  return write<std::vector<DeliveryResult>>([&](WriteCtx& ctx) -> Result<std::vector<DeliveryResult>> {
    TERN_TRY(enqueueIn(ctx, outbound));
    return deliverIn(ctx, unique, message);
  });
}

namespace {

// Every queue read selects these columns in this order (followed by its own WHERE/ORDER BY), and
// queueRows() turns the rows into QueueEntry values: one place to extend when a column is added.
#define TERN_QUEUE_SELECT                                                                          \
  "SELECT r.id, m.id, m.sender, m.blob_id, m.size, m.ret, m.envid, m.smtputf8, m.eightbit, "      \
  "r.recipient, r.notify, r.orcpt, m.created, r.next_attempt, r.attempts, r.last_error, r.held, " \
  "r.delay_notified, m.account_id, r.lease_until "                                                \
  "FROM outbound_recipients r JOIN outbound_messages m ON m.id = r.message_id "

// The WHERE clause of a due row at time ?: not held, not leased, next attempt reached.
#define TERN_QUEUE_DUE "WHERE r.held = 0 AND r.lease_until <= ?1 AND r.next_attempt <= ?1 "

Result<std::vector<QueueEntry>> queueRows(Stmt& st) {
  std::vector<QueueEntry> out;
  for (;;) {
    TERN_ASSIGN(row, st.step());
    if (!row) break;
    QueueEntry e;
    e.id = st.i64(0);
    e.messageId = st.i64(1);
    e.sender = st.text(2);
    e.blobId = st.text(3);
    e.size = static_cast<uint64_t>(st.i64(4));
    e.ret = st.text(5);
    e.envid = st.text(6);
    e.smtputf8 = st.i64(7) != 0;
    e.eightBit = st.i64(8) != 0;
    e.recipient.address = st.text(9);
    e.recipient.notify = st.text(10);
    e.recipient.orcpt = st.text(11);
    e.created = st.i64(12);
    e.nextAttempt = st.i64(13);
    e.attempts = static_cast<uint32_t>(st.i64(14));
    e.lastError = st.text(15);
    e.held = st.i64(16) != 0;
    e.delayNotified = st.i64(17) != 0;
    e.submitter = st.i64(18);
    e.leaseUntil = st.i64(19);
    out.push_back(std::move(e));
  }
  return out;
}

int64_t sqlLimit(size_t limit) { return static_cast<int64_t>(std::min<size_t>(limit, INT64_MAX)); }

// Remote replies end up in last_error: keep a bounded prefix, cut on a UTF-8 boundary.
constexpr size_t kMaxLastErrorBytes = 2000;
std::string_view boundedError(std::string_view e) {
  if (e.size() <= kMaxLastErrorBytes) return e;
  size_t n = kMaxLastErrorBytes;
  while (n > 0 && (static_cast<unsigned char>(e[n]) & 0xc0) == 0x80) --n;
  return e.substr(0, n);
}

// Runs an UPDATE/DELETE whose last parameter (?9) is the message id, or without that condition
// when messageId is nullopt; returns the number of rows changed. `allSql` and `oneSql` must differ
// only in that condition.
Result<size_t> changeRows(Db& db, const char* allSql, const char* oneSql, std::optional<int64_t> messageId,
                          const std::function<void(Stmt&)>& bind) {
  TERN_ASSIGN(st, db.prepare(messageId ? oneSql : allSql));
  bind(st);
  if (messageId) st.bind(9, *messageId);
  TERN_TRY(st.run());
  return static_cast<size_t>(db.changes());
}

}  // namespace

// Due at dueBy: a lease that has ended by then no longer hides the row (the scheduler's own
// claimOutbound uses the same condition with its `now`).
Result<std::vector<QueueEntry>> SqliteStore::listOutbound(int64_t dueBy, size_t limit) {
  return read<std::vector<QueueEntry>>([&](Db& db) -> Result<std::vector<QueueEntry>> {
    TERN_ASSIGN(st, db.prepare(TERN_QUEUE_SELECT TERN_QUEUE_DUE "ORDER BY r.next_attempt, r.id LIMIT ?2"));
    st.bind(1, dueBy).bind(2, sqlLimit(limit));
    return queueRows(st);
  });
}

Result<std::vector<QueueEntry>> SqliteStore::listQueue(size_t limit) {
  return read<std::vector<QueueEntry>>([&](Db& db) -> Result<std::vector<QueueEntry>> {
    TERN_ASSIGN(st, db.prepare(TERN_QUEUE_SELECT "ORDER BY m.id, r.id LIMIT ?"));
    st.bind(1, sqlLimit(limit));
    return queueRows(st);
  });
}

Result<std::vector<QueueEntry>> SqliteStore::getQueuedMessage(int64_t messageId) {
  return read<std::vector<QueueEntry>>([&](Db& db) -> Result<std::vector<QueueEntry>> {
    TERN_ASSIGN(st, db.prepare(TERN_QUEUE_SELECT "WHERE m.id = ? ORDER BY r.id"));
    st.bind(1, messageId);
    return queueRows(st);
  });
}

Result<std::vector<QueueEntry>> SqliteStore::claimOutbound(int64_t now, int64_t leaseUntil, size_t limit) {
  if (leaseUntil <= now) return fail(Errc::Invalid, "lease must end after now");
  // Select and lease in one write transaction: the writer (BEGIN IMMEDIATE) excludes every other
  // writer, in this process or another, so two claims can never both see a row as unleased.
  return write<std::vector<QueueEntry>>([&](WriteCtx& ctx) -> Result<std::vector<QueueEntry>> {
    std::vector<QueueEntry> rows;
    {
      TERN_ASSIGN(st, ctx.db.prepare(TERN_QUEUE_SELECT TERN_QUEUE_DUE "ORDER BY r.next_attempt, r.id LIMIT ?2"));
      st.bind(1, now).bind(2, sqlLimit(limit));
      TERN_ASSIGN(found, queueRows(st));
      rows = std::move(found);
    }
    for (auto& e : rows) {
      TERN_ASSIGN(up, ctx.db.prepare("UPDATE outbound_recipients SET lease_until = ? WHERE id = ?"));
      up.bind(1, leaseUntil).bind(2, e.id);
      TERN_TRY(up.run());
      e.leaseUntil = leaseUntil;
    }
    return rows;
  });
}

Result<void> SqliteStore::releaseOutboundLeases() {
  return write<void>([&](WriteCtx& ctx) -> Result<void> {
    return ctx.db.exec("UPDATE outbound_recipients SET lease_until = 0 WHERE lease_until <> 0");
  });
}

Result<void> SqliteStore::completeOutbound(int64_t recipientId) {
  return write<void>([&](WriteCtx& ctx) -> Result<void> {
    int64_t messageId = 0;
    {
      TERN_ASSIGN(st, ctx.db.prepare("DELETE FROM outbound_recipients WHERE id = ? RETURNING message_id"));
      st.bind(1, recipientId);
      TERN_ASSIGN(row, st.step());
      if (!row) return fail(Errc::NotFound, "queue row " + std::to_string(recipientId) + " is gone");
      messageId = st.i64(0);
      TERN_ASSIGN(more, st.step());  // finish the statement (the id is unique: no second row)
      (void)more;
    }
    TERN_ASSIGN(del, ctx.db.prepare("DELETE FROM outbound_messages WHERE id = ?1 AND NOT EXISTS "
                                    "(SELECT 1 FROM outbound_recipients WHERE message_id = ?1)"));
    del.bind(1, messageId);
    return del.run();
  });
}

Result<void> SqliteStore::deferOutbound(int64_t recipientId, int64_t nextAttempt, std::string_view lastError,
                                        bool delayNotified) {
  return write<void>([&](WriteCtx& ctx) -> Result<void> {
    TERN_ASSIGN(st, ctx.db.prepare("UPDATE outbound_recipients SET attempts = attempts + 1, last_error = ?, "
                                   "next_attempt = ?, lease_until = 0, "
                                   "delay_notified = (delay_notified OR ?) WHERE id = ?"));
    st.bindText(1, boundedError(lastError)).bind(2, nextAttempt).bind(3, delayNotified ? 1 : 0).bind(4, recipientId);
    TERN_TRY(st.run());
    if (ctx.db.changes() == 0) return fail(Errc::NotFound, "queue row " + std::to_string(recipientId) + " is gone");
    return {};
  });
}

// A row leased by a running scheduler keeps its lease: it is being delivered right now, and
// clearing the lease would let a second claim deliver the same recipient twice.
Result<size_t> SqliteStore::retryOutbound(std::optional<int64_t> messageId, int64_t now) {
  return write<size_t>([&](WriteCtx& ctx) {
    return changeRows(ctx.db, "UPDATE outbound_recipients SET next_attempt = ?1 WHERE held = 0",
                      "UPDATE outbound_recipients SET next_attempt = ?1 WHERE held = 0 AND message_id = ?9",
                      messageId, [&](Stmt& st) { st.bind(1, now); });
  });
}

Result<size_t> SqliteStore::holdOutbound(std::optional<int64_t> messageId, bool held) {
  return write<size_t>([&](WriteCtx& ctx) {
    return changeRows(ctx.db, "UPDATE outbound_recipients SET held = ?1 WHERE held <> ?1",
                      "UPDATE outbound_recipients SET held = ?1 WHERE held <> ?1 AND message_id = ?9", messageId,
                      [&](Stmt& st) { st.bind(1, held ? 1 : 0); });
  });
}

Result<size_t> SqliteStore::removeOutbound(std::optional<int64_t> messageId) {
  return write<size_t>([&](WriteCtx& ctx) -> Result<size_t> {
    TERN_ASSIGN(n, changeRows(ctx.db, "DELETE FROM outbound_recipients",
                              "DELETE FROM outbound_recipients WHERE message_id = ?9", messageId, [](Stmt&) {}));
    TERN_ASSIGN(m, changeRows(ctx.db, "DELETE FROM outbound_messages", "DELETE FROM outbound_messages WHERE id = ?9",
                              messageId, [](Stmt&) {}));
    (void)m;
    return n;
  });
}

#undef TERN_QUEUE_DUE
#undef TERN_QUEUE_SELECT

}  // namespace tern::store
