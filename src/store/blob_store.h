// Content-addressed, immutable message bytes: one file per distinct message, named by its SHA-256.
// put() writes a temp file, fsyncs it, renames it into place and fsyncs the directory, so a blob
// id that has been returned is durable. Reads are memory mappings; nothing is loaded whole twice.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "store/types.h"

namespace tern::store {

class Blob {
 public:
  virtual ~Blob() = default;
  virtual std::string_view bytes() const = 0;
};

class BlobStore {
 public:
  explicit BlobStore(std::string directory);
  // Stores bytes (deduplicated by content) and returns the hex SHA-256 id.
  Result<std::string> put(std::string_view bytes);
  Result<std::shared_ptr<const Blob>> open(std::string_view blobId) const;
  bool exists(std::string_view blobId) const;
  Result<void> remove(std::string_view blobId);  // for garbage collection of unreferenced blobs
  const std::string& directory() const { return dir_; }

 private:
  std::string pathFor(std::string_view blobId) const;
  std::string dir_;
};

}  // namespace tern::store
