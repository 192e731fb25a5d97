// BlobStore: message bytes as immutable files <dir>/ab/cd/<sha256>, written temp + fsync + rename +
// directory fsync, read back through read-only memory mappings, or inline in the database. Blob ids
// from callers are untrusted: only 64 lowercase hex characters are accepted, so an id can never name a
// path outside the store.
#include "store/blob_store.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cerrno>
#include <cstring>
#include <utility>

namespace tern::store {
namespace {

bool validId(std::string_view id) {
  if (id.size() != 64) return false;
  for (char c : id) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

Unexpected<Error> sysFail(const char* what, const std::string& path, int err) {
  Errc code = (err == ENOENT) ? Errc::NotFound : Errc::Unavailable;
  return fail(code, std::string(what) + " " + path + ": " + std::strerror(err));
}

Result<void> fsyncPath(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return sysFail("open dir", path, errno);
  int rc = ::fsync(fd);
  int err = errno;
  ::close(fd);
  if (rc != 0) return sysFail("fsync dir", path, err);
  return {};
}

// mkdir 0700 if missing; a new directory's entry is made durable by fsyncing its parent.
Result<void> ensureDir(const std::string& path, const std::string& parent) {
  if (::mkdir(path.c_str(), 0700) == 0) return fsyncPath(parent);
  if (errno == EEXIST) return {};
  return sysFail("mkdir", path, errno);
}

class StringBlob final : public Blob {
 public:
  explicit StringBlob(std::string bytes) : bytes_(std::move(bytes)) {}
  std::string_view bytes() const override { return bytes_; }

 private:
  std::string bytes_;
};

class MappedBlob final : public Blob {
 public:
  MappedBlob(void* data, size_t size) : data_(data), size_(size) {}
  ~MappedBlob() override {
    if (data_) ::munmap(data_, size_);
  }
  MappedBlob(const MappedBlob&) = delete;
  MappedBlob& operator=(const MappedBlob&) = delete;
  std::string_view bytes() const override {
    return data_ ? std::string_view(static_cast<const char*>(data_), size_) : std::string_view();
  }

 private:
  void* data_;
  size_t size_;
};

std::atomic<uint64_t> tempCounter{0};
constexpr char kHex[] = "0123456789abcdef";

}  // namespace

Result<std::string> blobIdOf(std::string_view bytes) {
  // Fetched once: EVP_sha256() in every call makes OpenSSL 3 look the algorithm up again, under a
  // lock, for every message received.
  static EVP_MD* const sha256 = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (sha256 == nullptr || EVP_Digest(bytes.data(), bytes.size(), digest, &len, sha256, nullptr) != 1 || len != 32) {
    return fail(Errc::Internal, "EVP_Digest(sha256) failed");
  }
  std::string hex(64, '0');
  for (unsigned i = 0; i < 32; ++i) {
    hex[2 * i] = kHex[digest[i] >> 4];
    hex[2 * i + 1] = kHex[digest[i] & 0xf];
  }
  return hex;
}

Result<std::string> inlineBlobIdOf(std::string_view bytes, int64_t unixNanos) {
  auto hash = blobIdOf(bytes);
  if (!hash) return hash;
  std::string id(64, '0');
  auto t = static_cast<uint64_t>(unixNanos);
  for (int i = 15; i >= 0; --i, t >>= 4) id[static_cast<size_t>(i)] = kHex[t & 0xf];
  id.replace(16, 48, *hash, 0, 48);
  return id;
}

Result<bool> blobIdMatches(std::string_view blobId, std::string_view bytes) {
  auto hash = blobIdOf(bytes);
  if (!hash) return Unexpected<Error>{hash.error()};
  if (blobId.size() != 64) return false;
  return blobId == *hash || blobId.substr(16) == std::string_view(*hash).substr(0, 48);
}

BlobStore::BlobStore(std::string directory) : dir_(std::move(directory)) {
  while (dir_.size() > 1 && dir_.back() == '/') dir_.pop_back();
}

std::string BlobStore::pathFor(std::string_view blobId) const {
  std::string p = dir_;
  p += '/';
  p.append(blobId.substr(0, 2));
  p += '/';
  p.append(blobId.substr(2, 2));
  p += '/';
  p.append(blobId);
  return p;
}

Result<std::string> BlobStore::put(std::string_view bytes) {
  auto id = blobIdOf(bytes);
  if (!id) return Unexpected<Error>{id.error()};
  const std::string finalPath = pathFor(*id);
  struct stat st{};
  if (::stat(finalPath.c_str(), &st) == 0) return id;  // same content already stored durably

  const std::string parent = dir_.empty() ? std::string(".") : dir_;
  if (::mkdir(parent.c_str(), 0700) != 0 && errno != EEXIST) return sysFail("mkdir", parent, errno);
  const std::string level1 = dir_ + "/" + id->substr(0, 2);
  const std::string level2 = level1 + "/" + id->substr(2, 2);
  if (auto r = ensureDir(level1, parent); !r) return Unexpected<Error>{r.error()};
  if (auto r = ensureDir(level2, level1); !r) return Unexpected<Error>{r.error()};

  const std::string tmp = finalPath + ".tmp." + std::to_string(::getpid()) + "." +
                          std::to_string(tempCounter.fetch_add(1, std::memory_order_relaxed));
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return sysFail("create", tmp, errno);
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      ::close(fd);
      ::unlink(tmp.c_str());
      return sysFail("write", tmp, err);
    }
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0) {
    int err = errno;
    ::close(fd);
    ::unlink(tmp.c_str());
    return sysFail("fsync", tmp, err);
  }
  if (::close(fd) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    return sysFail("close", tmp, err);
  }
  // A concurrent put of the same bytes may rename first; replacing identical content is harmless.
  if (::rename(tmp.c_str(), finalPath.c_str()) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    return sysFail("rename", finalPath, err);
  }
  if (auto r = fsyncPath(level2); !r) return Unexpected<Error>{r.error()};
  return id;
}

Result<StagedBlob> BlobStore::stage(std::string_view bytes) {
  if (inline_ && bytes.size() <= inlineLimit_) {
    const auto now = std::chrono::system_clock::now().time_since_epoch();
    auto id = inlineBlobIdOf(bytes, std::chrono::duration_cast<std::chrono::nanoseconds>(now).count());
    if (!id) return Unexpected<Error>{id.error()};
    return StagedBlob{std::move(*id), bytes};
  }
  auto id = put(bytes);
  if (!id) return Unexpected<Error>{id.error()};
  return StagedBlob{std::move(*id), std::nullopt};
}

Result<std::shared_ptr<const Blob>> BlobStore::open(std::string_view blobId) const {
  if (!validId(blobId)) return fail(Errc::Invalid, "malformed blob id");
  if (inline_) {
    auto found = inline_->readInlineBlob(blobId);
    if (!found) return Unexpected<Error>{found.error()};
    if (*found) return std::shared_ptr<const Blob>(std::make_shared<StringBlob>(std::move(**found)));
  }
  const std::string path = pathFor(blobId);
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return sysFail("open", path, errno);
  struct stat st{};
  if (::fstat(fd, &st) != 0) {
    int err = errno;
    ::close(fd);
    return sysFail("fstat", path, err);
  }
  const size_t size = static_cast<size_t>(st.st_size);
  if (size == 0) {  // mmap of length 0 is an error; an empty message is still a valid blob
    ::close(fd);
    return std::shared_ptr<const Blob>(std::make_shared<MappedBlob>(nullptr, 0));
  }
  void* data = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
  int err = errno;
  ::close(fd);  // the mapping keeps the file alive
  if (data == MAP_FAILED) return sysFail("mmap", path, err);
  return std::shared_ptr<const Blob>(std::make_shared<MappedBlob>(data, size));
}

bool BlobStore::exists(std::string_view blobId) const {
  if (!validId(blobId)) return false;
  if (inline_) {
    auto found = inline_->readInlineBlob(blobId);
    if (found && *found) return true;
  }
  struct stat st{};
  return ::stat(pathFor(blobId).c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

Result<void> BlobStore::remove(std::string_view blobId) {
  if (!validId(blobId)) return fail(Errc::Invalid, "malformed blob id");
  const std::string path = pathFor(blobId);
  if (::unlink(path.c_str()) != 0) return sysFail("unlink", path, errno);
  return fsyncPath(path.substr(0, path.size() - 65));
}

}  // namespace tern::store
