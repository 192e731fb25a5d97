// Immutable message bytes, named by ids derived from their SHA-256. Two homes:
//  - files: put() writes a temp file, fsyncs it, renames it into place and fsyncs the directory, so
//    a blob id that has been returned is durable; reads are memory mappings. A file's id is the
//    content hash itself (deduplicated: the same bytes are one file).
//  - inline, in the metadata database: stage() leaves a small message's bytes with the caller, who
//    hands them to the store's write (NewMessage::inlineBytes), so they commit in the same
//    transaction as the row that references them: no file, no directory entry, no separate fsync.
//    Creating and fsyncing a file and its directory was a third of the server's CPU per APPEND or
//    SMTP delivery (ext4 inode allocation, mkdir, two fsyncs); small blobs in SQLite are cheaper to
//    write and to read. The store reads them back through an InlineBlobSource. An inline blob's id
//    starts with the time it was staged (inlineBlobIdOf), so the database's indexes on blob ids grow
//    at one end instead of taking a random page each.
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "store/types.h"

namespace tern::store {

class Blob {
 public:
  virtual ~Blob() = default;
  virtual std::string_view bytes() const = 0;
};

// Where inline blobs are read from (the SQLite store's blob table).
class InlineBlobSource {
 public:
  virtual ~InlineBlobSource() = default;
  // The bytes of an inline blob, nullopt when there is no inline blob with this id.
  virtual Result<std::optional<std::string>> readInlineBlob(std::string_view blobId) const = 0;
};

// A blob ready to be referenced: its id, and for an inline blob the bytes (the caller's, not
// copied) that the referencing write must carry.
struct StagedBlob {
  std::string id;
  std::optional<std::string_view> inlineBytes;  // set: store with the row; unset: already a durable file
};

// A file blob's id: the hex SHA-256 of its bytes.
Result<std::string> blobIdOf(std::string_view bytes);
// An inline blob's id: the time it was staged (nanoseconds since the epoch, 16 hex digits), then the
// first 48 hex digits of its SHA-256. A content hash as key put every delivery's rows into random
// pages of three indexes (blob_data, blob_structure, messages_blob): with the time first they land
// on the pages the last deliveries touched, a quarter fewer pages a delivery to write and fsync.
// Identical bytes stored at different times are separate rows (small blobs gain little from sharing;
// the copies of one delivery or COPY still share one). 192 bits of hash still name the content.
Result<std::string> inlineBlobIdOf(std::string_view bytes, int64_t unixNanos);
// Whether `bytes` are the content named by `blobId`, in either form: for integrity checks.
Result<bool> blobIdMatches(std::string_view blobId, std::string_view bytes);

class BlobStore {
 public:
  explicit BlobStore(std::string directory);
  // Stores bytes as a durable file (deduplicated by content) and returns the hex SHA-256 id.
  Result<std::string> put(std::string_view bytes);
  // put() for large messages; for messages up to inlineLimit() bytes (with an inline source set)
  // only an inline id (inlineBlobIdOf, now), the bytes to be written by the referencing transaction.
  Result<StagedBlob> stage(std::string_view bytes);
  // Inline blobs first (when a source is set), then files.
  Result<std::shared_ptr<const Blob>> open(std::string_view blobId) const;
  bool exists(std::string_view blobId) const;
  Result<void> remove(std::string_view blobId);  // for garbage collection of unreferenced blobs
  const std::string& directory() const { return dir_; }

  void setInlineSource(const InlineBlobSource* source, size_t inlineLimit) {
    inline_ = source;
    inlineLimit_ = inlineLimit;
  }
  size_t inlineLimit() const { return inline_ ? inlineLimit_ : 0; }

 private:
  std::string pathFor(std::string_view blobId) const;
  std::string dir_;
  const InlineBlobSource* inline_ = nullptr;
  size_t inlineLimit_ = 0;
};

}  // namespace tern::store
