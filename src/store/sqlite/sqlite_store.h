// The embedded store: SQLite in WAL mode for metadata plus a BlobStore for message bytes, under one
// data directory that open() creates. Writes funnel through one writer thread that commits
// concurrent requests together (group commit, one fsync for many); reads use a connection per thread.
// After each commit it notifies the ChangeHub; a poller also notices commits by other processes
// (the admin CLI, a second server) and notifies for them.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <utility>

#include "store/blob_store.h"
#include "store/change_hub.h"
#include "store/store.h"

namespace tern::store {

namespace sqlite {
class Db;
struct WriteCtx;
}  // namespace sqlite

struct SqliteOptions {
  bool synchronousFull = true;        // fsync on every commit (durability before OK)
  std::chrono::milliseconds externalPollInterval{500};  // poller for other processes' commits; 0 disables
  // Messages up to this size are kept inline in the database rather than as blob files (see
  // store/blob_store.h); 0 keeps every message in a file.
  size_t inlineBlobLimit = 128 * 1024;
};

class SqliteStore : public Directory, public MailStore {
 public:
  // Creates dataDir (0700), dataDir/tern.db and dataDir/blobs if missing; migrates the schema.
  static Result<std::unique_ptr<SqliteStore>> open(const std::string& dataDir, SqliteOptions options = {});
  ~SqliteStore() override;

  BlobStore& blobs();
  ChangeHub& changes();

  // Directory
  Result<void> addDomain(std::string_view domain) override;
  Result<void> removeDomain(std::string_view domain) override;
  Result<std::vector<std::string>> listDomains() override;
  Result<bool> hasDomain(std::string_view domain) override;
  Result<AccountId> addAccount(std::string_view address, const Credentials&) override;
  Result<void> setCredentials(std::string_view address, const Credentials&) override;
  Result<void> removeAccount(std::string_view address) override;
  Result<std::vector<std::string>> listAccounts() override;
  Result<std::optional<Account>> findAccount(std::string_view address) override;
  Result<void> addAlias(std::string_view address, const std::vector<std::string>& targets) override;
  Result<void> removeAlias(std::string_view address) override;
  Result<std::vector<Alias>> listAliases() override;
  Result<std::vector<Account>> resolveAddress(std::string_view address) override;
  // Only while the poller runs (it is what notices other processes' changes).
  std::optional<uint64_t> directoryGeneration() override;

  // MailStore
  Result<std::vector<MailboxInfo>> listMailboxes(AccountId) override;
  Result<MailboxInfo> findMailbox(AccountId, std::string_view name) override;
  Result<MailboxInfo> getMailbox(AccountId, MailboxId) override;
  Result<MailboxInfo> createMailbox(AccountId, std::string_view name, SpecialUse use = SpecialUse::None) override;
  Result<void> deleteMailbox(AccountId, std::string_view name) override;
  Result<void> renameMailbox(AccountId, std::string_view from, std::string_view to) override;
  Result<void> setSubscribed(AccountId, std::string_view name, bool subscribed) override;
  Result<std::vector<std::string>> listSubscriptions(AccountId) override;
  Result<MailboxStatus> status(AccountId, MailboxId) override;
  Result<std::vector<MessageMeta>> listMessages(AccountId, MailboxId) override;
  Result<std::vector<MessageMeta>> getMessages(AccountId, MailboxId, const std::vector<Uid>& uids) override;
  Result<MailboxInfo> scanFlags(AccountId, MailboxId, const std::function<void(Uid, const Flags&)>& fn) override;
  Result<AccountId> mailboxOwner(MailboxId) override;
  Result<Changes> changesSince(AccountId, MailboxId, ModSeq since) override;
  Result<AppendResult> append(AccountId, MailboxId, const std::vector<NewMessage>&) override;
  Result<StoreFlagsResult> storeFlags(AccountId, MailboxId, const std::vector<Uid>& uids, FlagOp op,
                                      const Flags& flags,
                                      std::optional<ModSeq> unchangedSince = std::nullopt) override;
  Result<std::vector<Uid>> expunge(AccountId, MailboxId,
                                   const std::optional<std::vector<Uid>>& only = std::nullopt) override;
  Result<CopyResult> copy(AccountId, MailboxId from, const std::vector<Uid>& uids, MailboxId to,
                          bool move) override;
  Result<Uid> claimRecent(AccountId, MailboxId) override;
  void runOnWriter(std::function<void()> work, std::function<void(Result<void>)> committed) override;
  Result<std::vector<std::optional<std::string>>> getStructures(AccountId,
                                                                const std::vector<std::string>& blobIds) override;
  Result<void> putStructures(AccountId,
                             const std::vector<std::pair<std::string, std::string>>& blobStructures) override;

  Result<std::vector<DeliveryResult>> deliver(const std::vector<AccountId>& accounts,
                                              const NewMessage& message) override;
  Result<int64_t> enqueueOutbound(const OutboundMessage& message) override;
  Result<std::vector<QueueEntry>> listOutbound(int64_t dueBy, size_t limit) override;
  Result<std::vector<QueueEntry>> listQueue(size_t limit) override;
  Result<std::vector<QueueEntry>> getQueuedMessage(int64_t messageId) override;
  Result<std::vector<QueueEntry>> claimOutbound(int64_t now, int64_t leaseUntil, size_t limit) override;
  Result<void> releaseOutboundLeases() override;
  Result<void> completeOutbound(int64_t recipientId) override;
  Result<void> deferOutbound(int64_t recipientId, int64_t nextAttempt, std::string_view lastError,
                             bool delayNotified) override;
  Result<size_t> retryOutbound(std::optional<int64_t> messageId, int64_t now) override;
  Result<size_t> holdOutbound(std::optional<int64_t> messageId, bool held) override;
  Result<size_t> removeOutbound(std::optional<int64_t> messageId) override;
  Result<std::vector<DeliveryResult>> deliverAndEnqueue(const std::vector<AccountId>& accounts,
                                                        const NewMessage& message,
                                                        const OutboundMessage& outbound) override;

  // Consistency check (check.cpp), behind `tern check`: integrity of the SQLite file, STATUS
  // counters against a recount, UIDs below UIDNEXT and never both live and expunged, MODSEQs up to
  // HIGHESTMODSEQ and the account counter, every blob referenced by a message or a queued outbound
  // message present with a matching SHA-256.
  // With `repair`, what is safe to fix is fixed in one transaction: counters recounted, UIDNEXT,
  // HIGHESTMODSEQ and the account MODSEQ raised. Missing or corrupt blobs are only reported.
  struct CheckReport {
    std::vector<std::string> problems;  // one line each, repaired ones included
    size_t repaired = 0;                // how many of `problems` were fixed
    size_t mailboxes = 0;
    size_t messages = 0;
    size_t blobs = 0;                   // distinct blobs verified
  };
  Result<CheckReport> check(bool repair);

  // --- for tests and metrics ---
  uint64_t commitCount() const { return commits_.load(); }  // committed write batches
  // While paused the writer leaves requests queued, so a test can line up concurrent writers and
  // check that they share one commit.
  void pauseWriterForTest(bool paused);
  size_t queuedWrites() const;

 private:
  struct WriteRequest;
  SqliteStore(std::string dataDir, SqliteOptions options);

  Result<void> submit(std::function<Result<void>(sqlite::WriteCtx&)> fn);
  // Queues a write and returns at once: for state that need not be durable before an answer.
  void submitDetached(std::function<Result<void>(sqlite::WriteCtx&)> fn);
  template <class T, class F>
  Result<T> write(F&& fn);
  template <class T, class F>
  Result<T> read(F&& fn);
  Result<sqlite::Db*> reader();

  void writerLoop();
  void runBatch(std::deque<WriteRequest*>& batch);
  void pollerLoop();
  void refreshSnapshot(sqlite::Db& db, MailboxId mailbox, bool notifyOnChange);
  // After a directory write through this object (committed or not: a needless bump only empties
  // caches).
  template <class R>
  R directoryChanged(R result) {
    directoryGeneration_.fetch_add(1, std::memory_order_acq_rel);
    return result;
  }

  // Reads inline blobs for blobs_ through this thread's read connection.
  class InlineBlobs final : public InlineBlobSource {
   public:
    explicit InlineBlobs(SqliteStore& store) : store_(store) {}
    Result<std::optional<std::string>> readInlineBlob(std::string_view blobId) const override;

   private:
    SqliteStore& store_;
  };

  std::mutex recentMu_;
  std::unordered_map<MailboxId, Uid> recentClaims_;  // \Recent watermark per mailbox (see claimRecent)

  std::string dataDir_;
  std::string dbPath_;
  SqliteOptions options_;
  InlineBlobs inlineBlobs_{*this};
  BlobStore blobs_;
  ChangeHub hub_;

  std::unique_ptr<sqlite::Db> writerDb_;  // used only by the writer thread (after open())
  mutable std::mutex queueMu_;
  std::condition_variable queueCv_;
  std::deque<WriteRequest*> queue_;  // requests live on their callers' stacks until completed
  bool stopping_ = false;
  bool paused_ = false;
  std::atomic<uint64_t> commits_{0};
  std::thread writer_;

  std::mutex readersMu_;
  std::unordered_map<std::thread::id, std::unique_ptr<sqlite::Db>> readers_;

  std::mutex pollMu_;
  std::condition_variable pollCv_;
  bool pollStop_ = false;
  std::thread poller_;
  // See directoryGeneration(): bumped by this process's directory writes and by the poller when the
  // database's directory version moved.
  std::atomic<uint64_t> directoryGeneration_{1};
  int64_t directoryVersionAtOpen_ = -1;
  // Last (uidnext, highestmodseq) seen per subscribed mailbox, shared by writer and poller so the
  // poller does not re-announce this process's own commits.
  std::mutex snapMu_;
  std::unordered_map<MailboxId, std::pair<Uid, ModSeq>> snapshot_;
};

}  // namespace tern::store
