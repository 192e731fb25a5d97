// SqliteStore::check: verifies the invariants the rest of the store relies on after a crash or a
// manual edit, and repairs the ones that have one safe answer. Input is our own data directory
// (trusted but possibly damaged): blob ids are checked to be 64 hex digits before becoming paths.

#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "store/sqlite/db.h"
#include "store/sqlite/sqlite_store.h"

namespace tern::store {

using sqlite::Db;

namespace {

template <class T>
Unexpected<Error> forward(const Result<T>& r) {
  return Unexpected<Error>{r.error()};
}

#define TERN_CHECK_ASSIGN(var, expr)                \
  auto var##Result_ = (expr);                       \
  if (!var##Result_) return forward(var##Result_); \
  auto& var = *var##Result_

bool isBlobId(const std::string& id) {
  return id.size() == 64 && std::all_of(id.begin(), id.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

struct MailboxRow {
  int64_t id = 0, account = 0;
  std::string name;
  std::string address;  // of the account
  int64_t uidnext = 0, highestModseq = 0, recentUid = 0;
  int64_t messages = 0, unseen = 0, deleted = 0, size = 0;
};

// What the message and tombstone rows of one mailbox say.
struct Recount {
  int64_t messages = 0, unseen = 0, deleted = 0, size = 0;
  int64_t maxUid = 0, maxModseq = 0;
};

}  // namespace

Result<SqliteStore::CheckReport> SqliteStore::check(bool repair) {
  // A connection of our own: BEGIN IMMEDIATE for a repair keeps every writer (this process's writer
  // thread, a running server) out between the reads and the fixes.
  TERN_CHECK_ASSIGN(db, Db::open(dbPath_, /*readOnly=*/!repair, options_.synchronousFull));
  TERN_TRY(db->exec(repair ? "BEGIN IMMEDIATE" : "BEGIN"));
  CheckReport report;
  auto body = [&]() -> Result<void> {
    auto problem = [&](std::string text) { report.problems.push_back(std::move(text)); };
    {
      TERN_CHECK_ASSIGN(st, db->prepare("PRAGMA integrity_check"));
      while (true) {
        TERN_CHECK_ASSIGN(row, st.step());
        if (!row) break;
        if (std::string line = st.text(0); line != "ok") problem("sqlite integrity: " + line);
      }
    }
    {
      TERN_CHECK_ASSIGN(st, db->prepare("PRAGMA foreign_key_check"));
      while (true) {
        TERN_CHECK_ASSIGN(row, st.step());
        if (!row) break;
        problem("sqlite foreign key: row " + std::to_string(st.i64(1)) + " of " + st.text(0) +
                " references a missing " + st.text(2));
      }
    }

    std::vector<MailboxRow> mailboxes;
    {
      TERN_CHECK_ASSIGN(st, db->prepare("SELECT m.id, m.account_id, m.name, m.uidnext, m.highestmodseq, m.recent_uid, "
                                        "m.messages, m.unseen, m.deleted, m.size, a.address FROM mailboxes m "
                                        "LEFT JOIN accounts a ON a.id = m.account_id ORDER BY m.id"));
      while (true) {
        TERN_CHECK_ASSIGN(row, st.step());
        if (!row) break;
        MailboxRow m;
        m.id = st.i64(0);
        m.account = st.i64(1);
        m.name = st.text(2);
        m.uidnext = st.i64(3);
        m.highestModseq = st.i64(4);
        m.recentUid = st.i64(5);
        m.messages = st.i64(6);
        m.unseen = st.i64(7);
        m.deleted = st.i64(8);
        m.size = st.i64(9);
        m.address = st.text(10);
        mailboxes.push_back(std::move(m));
      }
    }
    report.mailboxes = mailboxes.size();

    std::map<std::string, bool> blobOk;  // blob id -> present with the right hash (each hashed once)
    // Verifies a referenced blob the first time it is seen: well-formed id, present, matching hash,
    // and the size the row records.
    auto checkBlob = [&](const std::string& who, const std::string& blobId, int64_t size) {
      auto [it, fresh] = blobOk.try_emplace(blobId, false);
      if (!fresh) return;
      if (!isBlobId(blobId)) {
        problem(who + ": malformed blob id \"" + blobId + "\"");
      } else if (!blobs_.exists(blobId)) {
        problem(who + ": blob " + blobId + " is missing");
      } else {
        auto blob = blobs_.open(blobId);
        if (!blob) {
          problem(who + ": blob " + blobId + " cannot be read");
        } else if (auto matches = blobIdMatches(blobId, (*blob)->bytes()); !matches || !*matches) {
          problem(who + ": blob " + blobId + " does not match its SHA-256");
        } else {
          it->second = true;
          ++report.blobs;
          if (static_cast<int64_t>((*blob)->bytes().size()) != size) {
            problem(who + ": size " + std::to_string(size) + " differs from its blob's " +
                    std::to_string((*blob)->bytes().size()));
          }
        }
      }
    };
    std::map<int64_t, int64_t> accountMaxModseq;
    for (auto& m : mailboxes) {
      const std::string where = "mailbox " + std::to_string(m.id) + " (" + m.address + " \"" + m.name + "\")";
      Recount c;
      {
        TERN_CHECK_ASSIGN(st, db->prepare("SELECT uid, modseq, flags, size, blob_id FROM messages "
                                          "WHERE mailbox_id = ? ORDER BY uid"));
        st.bind(1, m.id);
        while (true) {
          TERN_CHECK_ASSIGN(row, st.step());
          if (!row) break;
          const int64_t uid = st.i64(0), modseq = st.i64(1), flags = st.i64(2), size = st.i64(3);
          const std::string blobId = st.text(4);
          ++c.messages;
          ++report.messages;
          if (!(flags & kSeen)) ++c.unseen;
          if (flags & kDeleted) ++c.deleted;
          c.size += size;
          c.maxUid = std::max(c.maxUid, uid);
          c.maxModseq = std::max(c.maxModseq, modseq);
          if (uid <= 0) problem(where + ": message with invalid UID " + std::to_string(uid));
          checkBlob(where + " UID " + std::to_string(uid), blobId, size);
        }
      }
      {
        TERN_CHECK_ASSIGN(st, db->prepare("SELECT uid, modseq FROM tombstones WHERE mailbox_id = ?"));
        st.bind(1, m.id);
        while (true) {
          TERN_CHECK_ASSIGN(row, st.step());
          if (!row) break;
          c.maxUid = std::max(c.maxUid, st.i64(0));
          c.maxModseq = std::max(c.maxModseq, st.i64(1));
        }
      }
      {
        // The primary keys rule out duplicates within each table; a UID both live and expunged is
        // the duplicate that remains possible.
        TERN_CHECK_ASSIGN(st, db->prepare("SELECT m.uid FROM messages m JOIN tombstones t "
                                          "ON t.mailbox_id = m.mailbox_id AND t.uid = m.uid WHERE m.mailbox_id = ?"));
        st.bind(1, m.id);
        while (true) {
          TERN_CHECK_ASSIGN(row, st.step());
          if (!row) break;
          problem(where + ": UID " + std::to_string(st.i64(0)) + " is both a message and expunged");
        }
      }

      auto fix = [&](const char* sql, int64_t value, std::string text) -> Result<void> {
        if (repair) {
          TERN_CHECK_ASSIGN(st, db->prepare(sql));
          st.bind(1, value).bind(2, m.id);
          TERN_TRY(st.run());
          ++report.repaired;
          text += " (repaired)";
        }
        problem(std::move(text));
        return {};
      };
      if (c.messages != m.messages || c.unseen != m.unseen || c.deleted != m.deleted || c.size != m.size) {
        std::string text = where + ": STATUS counters (messages " + std::to_string(m.messages) + ", unseen " +
                           std::to_string(m.unseen) + ", deleted " + std::to_string(m.deleted) + ", size " +
                           std::to_string(m.size) + ") differ from a recount (" + std::to_string(c.messages) +
                           ", " + std::to_string(c.unseen) + ", " + std::to_string(c.deleted) + ", " +
                           std::to_string(c.size) + ")";
        if (repair) {
          TERN_CHECK_ASSIGN(st, db->prepare("UPDATE mailboxes SET messages = ?, unseen = ?, deleted = ?, size = ? "
                                            "WHERE id = ?"));
          st.bind(1, c.messages).bind(2, c.unseen).bind(3, c.deleted).bind(4, c.size).bind(5, m.id);
          TERN_TRY(st.run());
          ++report.repaired;
          text += " (repaired)";
        }
        problem(std::move(text));
      }
      if (m.uidnext <= c.maxUid) {
        TERN_TRY(fix("UPDATE mailboxes SET uidnext = ? WHERE id = ?", c.maxUid + 1,
                     where + ": UIDNEXT " + std::to_string(m.uidnext) + " is not above UID " + std::to_string(c.maxUid)));
        m.uidnext = c.maxUid + 1;
      }
      if (m.recentUid > m.uidnext) {
        TERN_TRY(fix("UPDATE mailboxes SET recent_uid = ? WHERE id = ?", m.uidnext,
                     where + ": \\Recent watermark " + std::to_string(m.recentUid) + " is above UIDNEXT"));
      }
      if (m.highestModseq < c.maxModseq) {
        TERN_TRY(fix("UPDATE mailboxes SET highestmodseq = ? WHERE id = ?", c.maxModseq,
                     where + ": HIGHESTMODSEQ " + std::to_string(m.highestModseq) + " is below MODSEQ " +
                         std::to_string(c.maxModseq)));
        m.highestModseq = c.maxModseq;
      }
      int64_t& accountMax = accountMaxModseq[m.account];
      accountMax = std::max(accountMax, m.highestModseq);
    }

    // Queued outbound messages reference blobs too: a missing one could never be delivered.
    {
      TERN_CHECK_ASSIGN(st, db->prepare("SELECT id, blob_id, size FROM outbound_messages ORDER BY id"));
      while (true) {
        TERN_CHECK_ASSIGN(row, st.step());
        if (!row) break;
        checkBlob("queued message " + std::to_string(st.i64(0)), st.text(1), st.i64(2));
      }
    }

    // New MODSEQs come from the account counter, so it must not lag behind any mailbox.
    for (const auto& [account, maxModseq] : accountMaxModseq) {
      TERN_CHECK_ASSIGN(st, db->prepare("SELECT modseq, address FROM accounts WHERE id = ?"));
      st.bind(1, account);
      TERN_CHECK_ASSIGN(row, st.step());
      if (!row) continue;  // reported by foreign_key_check
      const int64_t modseq = st.i64(0);
      const std::string address = st.text(1);
      if (modseq >= maxModseq) continue;
      std::string text = "account " + address + ": MODSEQ counter " + std::to_string(modseq) +
                         " is below its mailboxes' " + std::to_string(maxModseq);
      if (repair) {
        TERN_CHECK_ASSIGN(up, db->prepare("UPDATE accounts SET modseq = ? WHERE id = ?"));
        up.bind(1, maxModseq).bind(2, account);
        TERN_TRY(up.run());
        ++report.repaired;
        text += " (repaired)";
      }
      problem(std::move(text));
    }
    return {};
  };
  auto r = body();
  if (!r) {
    (void)db->exec("ROLLBACK");
    return Unexpected<Error>{r.error()};
  }
  TERN_TRY(db->exec(repair && report.repaired > 0 ? "COMMIT" : "ROLLBACK"));
  return report;
}

}  // namespace tern::store
