// Versioned schema for store/sqlite. Each entry of kMigrations takes the database from version i
// to i+1; never edit a released entry, append a new one. The SQL is kept close to portable so the
// PostgreSQL engine can share it.
#include "store/sqlite/schema.h"

#include <string>

namespace tern::store::sqlite {
namespace {

// Version 1. Notes:
// - AUTOINCREMENT on accounts/mailboxes: ids are handed to sessions and the ChangeHub and must never
//   be reused for a different mailbox.
// - accounts.modseq is the per-account MODSEQ counter; every write transaction bumps it first.
// - mailboxes carries exact STATUS counters (messages, unseen, deleted, size), kept in the same
//   transactions as the message rows, and recent_uid, the \Recent watermark.
// - messages.keywords is a space-separated list (keywords are IMAP atoms, which cannot contain SP);
//   mailbox_keywords keeps each keyword's first-seen spelling per mailbox.
constexpr const char* kV1 = R"sql(
CREATE TABLE meta (
  key TEXT PRIMARY KEY,
  value INTEGER NOT NULL
);
CREATE TABLE domains (
  name TEXT PRIMARY KEY
);
CREATE TABLE accounts (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  address TEXT NOT NULL UNIQUE,
  domain TEXT NOT NULL REFERENCES domains(name),
  password_hash TEXT NOT NULL DEFAULT '',
  scram_salt BLOB NOT NULL DEFAULT x'',
  scram_iterations INTEGER NOT NULL DEFAULT 0,
  scram_stored_key BLOB NOT NULL DEFAULT x'',
  scram_server_key BLOB NOT NULL DEFAULT x'',
  credentials_version INTEGER NOT NULL DEFAULT 1,
  modseq INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX accounts_domain ON accounts(domain);
CREATE TABLE aliases (
  address TEXT NOT NULL,
  position INTEGER NOT NULL,
  target TEXT NOT NULL,
  PRIMARY KEY (address, position)
);
CREATE TABLE mailboxes (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  name TEXT NOT NULL,
  special_use INTEGER NOT NULL DEFAULT 0,
  uidvalidity INTEGER NOT NULL,
  uidnext INTEGER NOT NULL DEFAULT 1,
  highestmodseq INTEGER NOT NULL DEFAULT 0,
  recent_uid INTEGER NOT NULL DEFAULT 1,
  messages INTEGER NOT NULL DEFAULT 0,
  unseen INTEGER NOT NULL DEFAULT 0,
  deleted INTEGER NOT NULL DEFAULT 0,
  size INTEGER NOT NULL DEFAULT 0,
  UNIQUE (account_id, name)
);
CREATE TABLE subscriptions (
  account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  name TEXT NOT NULL,
  PRIMARY KEY (account_id, name)
);
CREATE TABLE messages (
  mailbox_id INTEGER NOT NULL REFERENCES mailboxes(id) ON DELETE CASCADE,
  uid INTEGER NOT NULL,
  modseq INTEGER NOT NULL,
  flags INTEGER NOT NULL DEFAULT 0,
  keywords TEXT NOT NULL DEFAULT '',
  internaldate INTEGER NOT NULL,
  internaldate_tz INTEGER NOT NULL DEFAULT 0,
  savedate INTEGER NOT NULL,
  savedate_tz INTEGER NOT NULL DEFAULT 0,
  size INTEGER NOT NULL,
  blob_id TEXT NOT NULL,
  PRIMARY KEY (mailbox_id, uid)
) WITHOUT ROWID;
CREATE INDEX messages_modseq ON messages(mailbox_id, modseq);
CREATE INDEX messages_blob ON messages(blob_id);
CREATE TABLE mailbox_keywords (
  mailbox_id INTEGER NOT NULL REFERENCES mailboxes(id) ON DELETE CASCADE,
  folded TEXT NOT NULL,
  spelling TEXT NOT NULL,
  PRIMARY KEY (mailbox_id, folded)
) WITHOUT ROWID;
CREATE TABLE tombstones (
  mailbox_id INTEGER NOT NULL REFERENCES mailboxes(id) ON DELETE CASCADE,
  uid INTEGER NOT NULL,
  modseq INTEGER NOT NULL,
  PRIMARY KEY (mailbox_id, uid)
) WITHOUT ROWID;
CREATE INDEX tombstones_modseq ON tombstones(mailbox_id, modseq);
)sql";

// Version 2: the parsed MIME structure (mime/serialize.h) per blob, written with the message at APPEND
// or delivery and shared by every copy. Messages stored before version 2 have no row; the IMAP server
// parses them on first need and stores the result then, so no bulk re-parse runs at upgrade.
constexpr const char* kV2 = R"sql(
CREATE TABLE blob_structure (
  blob_id TEXT PRIMARY KEY,
  structure BLOB NOT NULL
);
)sql";

// Version 3: the durable outbound queue (SMTP submission to other domains). One row per message
// (reverse path, blob, RFC 3461 RET/ENVID) and one per recipient (NOTIFY, ORCPT, retry state), so a
// delivery worker can retry and report each recipient on its own.
constexpr const char* kV3 = R"sql(
CREATE TABLE outbound_messages (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  sender TEXT NOT NULL,
  blob_id TEXT NOT NULL,
  size INTEGER NOT NULL,
  ret TEXT NOT NULL DEFAULT '',
  envid TEXT NOT NULL DEFAULT '',
  smtputf8 INTEGER NOT NULL DEFAULT 0,
  eightbit INTEGER NOT NULL DEFAULT 0,
  account_id INTEGER NOT NULL DEFAULT 0,
  created INTEGER NOT NULL
);
CREATE INDEX outbound_messages_blob ON outbound_messages(blob_id);
CREATE TABLE outbound_recipients (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  message_id INTEGER NOT NULL REFERENCES outbound_messages(id) ON DELETE CASCADE,
  recipient TEXT NOT NULL,
  notify TEXT NOT NULL DEFAULT '',
  orcpt TEXT NOT NULL DEFAULT '',
  next_attempt INTEGER NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  last_error TEXT NOT NULL DEFAULT ''
);
CREATE INDEX outbound_recipients_due ON outbound_recipients(next_attempt);
)sql";

// Version 4: queue scheduling and administration. `held` keeps a recipient out of delivery until an
// operator releases it; `delay_notified` records that a "delayed" DSN went out (sent once);
// `lease_until` (unix seconds) is set by the scheduler that claimed the row, so another scheduler
// skips it until the lease ends; a crashed scheduler's lease simply expires (a retry, never a loss).
constexpr const char* kV4 = R"sql(
ALTER TABLE outbound_recipients ADD COLUMN held INTEGER NOT NULL DEFAULT 0;
ALTER TABLE outbound_recipients ADD COLUMN delay_notified INTEGER NOT NULL DEFAULT 0;
ALTER TABLE outbound_recipients ADD COLUMN lease_until INTEGER NOT NULL DEFAULT 0;
CREATE INDEX outbound_recipients_message ON outbound_recipients(message_id);
)sql";

// Version 5: small message bytes inline (BlobStore::stage), written in the transaction that first
// references them. Triggers delete an inline blob, and any blob's cached structure, when the last
// mailbox message or queued message that references it is deleted (EXPUNGE, MOVE, mailbox or
// account removal through the cascades, a finished delivery): the same transaction, so no write can
// reference a blob that a concurrent collection removes. A re-delivery of the same bytes carries
// them again and re-inserts the row.
constexpr const char* kV5 = R"sql(
CREATE TABLE blob_data (
  blob_id TEXT PRIMARY KEY,
  bytes BLOB NOT NULL
);
CREATE TRIGGER messages_release_blob AFTER DELETE ON messages
WHEN NOT EXISTS (SELECT 1 FROM messages WHERE blob_id = OLD.blob_id)
 AND NOT EXISTS (SELECT 1 FROM outbound_messages WHERE blob_id = OLD.blob_id)
BEGIN
  DELETE FROM blob_data WHERE blob_id = OLD.blob_id;
  DELETE FROM blob_structure WHERE blob_id = OLD.blob_id;
END;
CREATE TRIGGER outbound_release_blob AFTER DELETE ON outbound_messages
WHEN NOT EXISTS (SELECT 1 FROM messages WHERE blob_id = OLD.blob_id)
 AND NOT EXISTS (SELECT 1 FROM outbound_messages WHERE blob_id = OLD.blob_id)
BEGIN
  DELETE FROM blob_data WHERE blob_id = OLD.blob_id;
  DELETE FROM blob_structure WHERE blob_id = OLD.blob_id;
END;
)sql";

// Version 6: a narrow covering index for the scan that builds a mailbox's index (SELECT of a mailbox
// not in the index cache): ~20 bytes a message instead of the ~130-byte table rows.
constexpr const char* kV6 = R"sql(
CREATE INDEX messages_flags ON messages(mailbox_id, uid, flags, keywords);
)sql";

// Version 7: a directory version (meta 'directory_version') that every change to domains, accounts'
// addresses and aliases bumps, by triggers, whoever makes it (the CLI is another process). The
// server's poller reads it to invalidate its caches of recipient lookups. Deliveries update accounts
// (the MODSEQ counter) but not these columns, so they leave it alone.
constexpr const char* kV7 = R"sql(
INSERT INTO meta(key, value) VALUES ('directory_version', 0) ON CONFLICT(key) DO NOTHING;
CREATE TRIGGER domains_insert_version AFTER INSERT ON domains
BEGIN UPDATE meta SET value = value + 1 WHERE key = 'directory_version'; END;
CREATE TRIGGER domains_delete_version AFTER DELETE ON domains
BEGIN UPDATE meta SET value = value + 1 WHERE key = 'directory_version'; END;
CREATE TRIGGER accounts_insert_version AFTER INSERT ON accounts
BEGIN UPDATE meta SET value = value + 1 WHERE key = 'directory_version'; END;
CREATE TRIGGER accounts_delete_version AFTER DELETE ON accounts
BEGIN UPDATE meta SET value = value + 1 WHERE key = 'directory_version'; END;
CREATE TRIGGER accounts_address_version AFTER UPDATE OF address, domain ON accounts
BEGIN UPDATE meta SET value = value + 1 WHERE key = 'directory_version'; END;
CREATE TRIGGER aliases_insert_version AFTER INSERT ON aliases
BEGIN UPDATE meta SET value = value + 1 WHERE key = 'directory_version'; END;
CREATE TRIGGER aliases_delete_version AFTER DELETE ON aliases
BEGIN UPDATE meta SET value = value + 1 WHERE key = 'directory_version'; END;
CREATE TRIGGER aliases_update_version AFTER UPDATE ON aliases
BEGIN UPDATE meta SET value = value + 1 WHERE key = 'directory_version'; END;
)sql";

constexpr const char* kMigrations[] = {kV1, kV2, kV3, kV4, kV5, kV6, kV7};
static_assert(sizeof(kMigrations) / sizeof(kMigrations[0]) == kSchemaVersion);

}  // namespace

Result<void> migrate(Db& db) {
  TERN_TRY(db.exec("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)"));
  TERN_TRY(db.exec("BEGIN IMMEDIATE"));
  auto body = [&]() -> Result<void> {
    int64_t version = 0;
    {
      auto st = db.prepare("SELECT max(version) FROM schema_version");
      if (!st) return Unexpected<Error>{st.error()};
      auto row = st->step();
      if (!row) return Unexpected<Error>{row.error()};
      if (*row && !st->isNull(0)) version = st->i64(0);
    }
    if (version > kSchemaVersion) {
      return fail(Errc::Internal, "database schema version " + std::to_string(version) +
                                      " is newer than this build supports (" +
                                      std::to_string(kSchemaVersion) + ")");
    }
    for (int64_t v = version; v < kSchemaVersion; ++v) {
      TERN_TRY(db.exec(kMigrations[v]));
    }
    if (version < kSchemaVersion) {
      TERN_TRY(db.exec("DELETE FROM schema_version"));
      auto st = db.prepare("INSERT INTO schema_version(version) VALUES (?)");
      if (!st) return Unexpected<Error>{st.error()};
      st->bind(1, kSchemaVersion);
      TERN_TRY(st->run());
    }
    return {};
  };
  auto r = body();
  if (!r) {
    (void)db.exec("ROLLBACK");
    return r;
  }
  return db.exec("COMMIT");
}

}  // namespace tern::store::sqlite
