// The embedded store: SQLite in WAL mode for metadata plus a BlobStore for message bytes, under one
// data directory that open() creates. Writes funnel through one writer thread that commits
// concurrent requests together (group commit, one fsync for many); reads use a connection per thread.
// After each commit it notifies the ChangeHub; a poller also notices commits by other processes
// (the admin CLI, a second server) and notifies for them.
#pragma once

#include <memory>
#include <string>

#include "store/blob_store.h"
#include "store/change_hub.h"
#include "store/store.h"

namespace tern::store {

struct SqliteOptions {
  bool synchronousFull = true;        // fsync on every commit (durability before OK)
  std::chrono::milliseconds externalPollInterval{500};  // poller for other processes' commits; 0 disables
};

class SqliteStore : public Directory, public MailStore {
 public:
  // Creates dataDir (0700), dataDir/tern.db and dataDir/blobs if missing; migrates the schema.
  static Result<std::unique_ptr<SqliteStore>> open(const std::string& dataDir, SqliteOptions options = {});
  ~SqliteStore() override;

  BlobStore& blobs();
  ChangeHub& changes();

  // ... Directory and MailStore overrides (see store/store.h) ...
};

}  // namespace tern::store
