// Bytes read from a connection and not yet consumed by a protocol reader.
#pragma once

#include <cstddef>
#include <memory>
#include <string_view>

namespace tern::net {

// Unlike a std::string grown with resize(), the room handed out for the next read is not
// zero-filled first: a session reads up to 16 KiB at a time, and clearing that before every read
// was a measurable part of SMTP's per-message CPU.
class InputBuffer {
 public:
  // The unconsumed bytes.
  std::string_view pending() const { return {data_.get() + begin_, end_ - begin_}; }
  bool empty() const { return begin_ == end_; }

  // A reader took bytes from pending() and left `rest`, a suffix of it, for later.
  void consumeUntil(std::string_view rest);

  // At least n writable bytes right after the pending ones (moving or growing the storage when
  // needed); fill some of them, then commit how many were written.
  char* prepare(size_t n);
  void commit(size_t n) { end_ += n; }

  // Drops the pending bytes (STARTTLS discards anything pipelined in plaintext); keeps the storage.
  void clear() { begin_ = end_ = 0; }
  // Drops the pending bytes and frees the storage: an idle connection then holds none.
  void release();

  size_t capacity() const { return capacity_; }

 private:
  std::unique_ptr<char[]> data_;
  size_t capacity_ = 0;
  size_t begin_ = 0;
  size_t end_ = 0;
};

}  // namespace tern::net
