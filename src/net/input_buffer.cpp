// Read buffer without zero-filling (see input_buffer.h).
#include "net/input_buffer.h"

#include <algorithm>
#include <cassert>
#include <cstring>

namespace tern::net {

void InputBuffer::consumeUntil(std::string_view rest) {
  assert(rest.size() <= end_ - begin_);
  begin_ = end_ - rest.size();
  if (begin_ == end_) begin_ = end_ = 0;  // the next read starts at the front
}

char* InputBuffer::prepare(size_t n) {
  if (capacity_ - end_ >= n) return data_.get() + end_;
  const size_t live = end_ - begin_;
  if (capacity_ - live >= n && begin_ > 0) {
    std::memmove(data_.get(), data_.get() + begin_, live);
  } else {
    const size_t grown = std::max(capacity_ * 2, live + n);
    auto bigger = std::make_unique_for_overwrite<char[]>(grown);
    if (live > 0) std::memcpy(bigger.get(), data_.get() + begin_, live);
    data_ = std::move(bigger);
    capacity_ = grown;
  }
  begin_ = 0;
  end_ = live;
  return data_.get() + end_;
}

void InputBuffer::release() {
  data_.reset();
  capacity_ = begin_ = end_ = 0;
}

}  // namespace tern::net
