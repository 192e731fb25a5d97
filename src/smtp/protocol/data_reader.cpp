// DATA (dot-terminated, dot-stuffed) and BDAT (counted) message readers.
// Handles untrusted bytes: only the exact CRLF.CRLF ends DATA; bare CR/LF normalised or flagged;
// the size limit stops storing but not consuming, so the session stays in sync with the client.
#include "smtp/protocol/data_reader.h"

#include <algorithm>

#include "util/strings.h"

namespace tern::smtp {

DataReader::DataReader(uint64_t maxMessageSize, MessageSink sink, BareLineEndingPolicy policy,
                       size_t chunkSize)
    : max_(maxMessageSize), sink_(std::move(sink)), policy_(policy),
      chunkSize_(std::max<size_t>(chunkSize, 1)) {}

void DataReader::reset() {
  out_.clear();
  state_ = State::LineStart;
  realLineStart_ = true;
  size_ = 0;
  tooBig_ = false;
  bare_ = false;
}

void DataReader::emit(std::string_view bytes) {
  size_ += bytes.size();
  if (tooBig_) return;
  if (size_ > max_) {
    tooBig_ = true;
    out_.clear();  // the message will be refused; do not hand on a truncated tail
    return;
  }
  while (!bytes.empty()) {
    size_t n = std::min(bytes.size(), chunkSize_ - out_.size());
    out_.append(bytes.substr(0, n));
    bytes.remove_prefix(n);
    if (out_.size() >= chunkSize_) flush();
  }
}

void DataReader::flush() {
  if (!out_.empty() && sink_) sink_(out_);
  out_.clear();
}

DataReader::Status DataReader::endStatus() const {
  if (tooBig_) return Status::TooBig;
  if (bare_ && policy_ == BareLineEndingPolicy::Reject) return Status::BareLineEnding;
  return Status::Complete;
}

DataReader::Status DataReader::feed(std::string_view& input) {
  if (state_ == State::Done) return endStatus();
  // A bare line ending: deliver CRLF, and the next line does not follow a real CRLF.
  auto bareEnd = [this] {
    emit("\r\n");
    bare_ = true;
    realLineStart_ = false;
    state_ = State::LineStart;
  };
  while (!input.empty()) {
    char c = input.front();
    switch (state_) {
      case State::LineStart:
        input.remove_prefix(1);
        if (c == '.') {
          state_ = State::Dot;
        } else if (c == '\r') {
          state_ = State::Cr;
        } else if (c == '\n') {
          bareEnd();
        } else {
          emit(std::string_view(&c, 1));
          state_ = State::Mid;
        }
        break;
      case State::Dot:
        if (c == '\r') {
          input.remove_prefix(1);
          state_ = State::DotCr;
        } else if (c == '\n') {  // "." ended by a bare LF: content, not an end
          input.remove_prefix(1);
          emit(".");
          bareEnd();
        } else {
          state_ = State::Mid;  // dot-stuffed line: the leading dot is dropped, c is content
        }
        break;
      case State::DotCr:
        if (c == '\n') {
          input.remove_prefix(1);
          if (realLineStart_) {
            state_ = State::Done;
            flush();
            return endStatus();
          }
          emit(".\r\n");  // "." after a bare line ending: content
          realLineStart_ = true;
          state_ = State::LineStart;
        } else {  // ".\r" then not LF: a bare CR; c starts the next line
          emit(".");
          bareEnd();
        }
        break;
      case State::Mid: {
        size_t n = findCrOrLf(input);
        size_t run = n == std::string_view::npos ? input.size() : n;
        emit(input.substr(0, run));
        input.remove_prefix(run);
        if (input.empty()) break;
        c = input.front();
        input.remove_prefix(1);
        if (c == '\r') state_ = State::Cr;
        else bareEnd();
        break;
      }
      case State::Cr:
        if (c == '\n') {
          input.remove_prefix(1);
          emit("\r\n");
          realLineStart_ = true;
          state_ = State::LineStart;
        } else {
          bareEnd();  // bare CR; c starts the next line
        }
        break;
      case State::Done:
        return endStatus();
    }
  }
  flush();
  return Status::NeedMore;
}

BdatReader::BdatReader(uint64_t chunkSize, uint64_t storeLimit, MessageSink sink)
    : remaining_(chunkSize), tooBig_(chunkSize > storeLimit), sink_(std::move(sink)) {}

BdatReader::Status BdatReader::feed(std::string_view& input) {
  uint64_t take = std::min<uint64_t>(remaining_, input.size());
  if (take > 0 && !tooBig_ && sink_) sink_(input.substr(0, static_cast<size_t>(take)));
  input.remove_prefix(static_cast<size_t>(take));
  remaining_ -= take;
  if (remaining_ > 0) return Status::NeedMore;
  return tooBig_ ? Status::TooBig : Status::Complete;
}

}  // namespace tern::smtp
