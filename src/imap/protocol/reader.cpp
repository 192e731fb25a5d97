// CommandReader: frames untrusted client bytes into whole IMAP commands (lines plus literals).
// Handles untrusted bytes. Limits: line length (checked before buffering), literal size (checked from
// the announcement, before any literal byte is read), total command size; sizes are overflow-checked.
#include "imap/protocol/reader.h"

#include <algorithm>
#include <cstring>

namespace tern::imap {

namespace {

// tag = 1*<any ASTRING-CHAR except "+">: 0x21-0x7e minus ( ) { % * " \ +
bool isTagChar(char c) {
  auto u = static_cast<unsigned char>(c);
  if (u <= 0x20 || u >= 0x7f) return false;
  switch (c) {
    case '(': case ')': case '{': case '%': case '*': case '"': case '\\': case '+':
      return false;
    default:
      return true;
  }
}

struct LiteralMarker {
  bool present = false;
  bool synchronizing = true;
  bool overflow = false;  // more digits than any sane size: treated as absurdly large
  uint64_t size = 0;
};

// Looks for "{N}", "{N+}", "~{N}" or "~{N+}" at the end of `line` (CRLF already removed).
LiteralMarker findLiteralMarker(std::string_view line) {
  LiteralMarker m;
  if (line.size() < 3 || line.back() != '}') return m;
  size_t end = line.size() - 1;  // index of '}'
  bool plus = false;
  if (line[end - 1] == '+') {
    plus = true;
    --end;
  }
  size_t digitsEnd = end;
  size_t i = digitsEnd;
  while (i > 0 && line[i - 1] >= '0' && line[i - 1] <= '9') --i;
  if (i == digitsEnd || i == 0 || line[i - 1] != '{') return m;
  uint64_t v = 0;
  for (size_t k = i; k < digitsEnd; ++k) {
    unsigned d = static_cast<unsigned>(line[k] - '0');
    if (v > (UINT64_MAX - d) / 10) {
      m.overflow = true;
      v = UINT64_MAX;
      break;
    }
    v = v * 10 + d;
  }
  m.present = true;
  m.synchronizing = !plus;
  m.size = v;
  return m;
}

// Over 4x the limit: not worth reading just to throw away (no overflow for huge limits).
bool absurd(uint64_t size, uint64_t limit) { return limit <= UINT64_MAX / 4 && size > limit * 4; }

}  // namespace

CommandReader::CommandReader(ReaderLimits limits) : limits_(limits) {}

void CommandReader::reset() {
  buffer_.clear();
  lineStart_ = 0;
  literalLeft_ = 0;
  discardLeft_ = 0;
  discarding_ = false;
  awaitingAccept_ = false;
  pendingLiteral_ = 0;
  discardTag_.clear();
  discardedTotal_ = 0;
}

void CommandReader::acceptLiteral() {
  if (!awaitingAccept_) return;
  awaitingAccept_ = false;
  literalLeft_ = pendingLiteral_;
  pendingLiteral_ = 0;
  lineStart_ = buffer_.size() + literalLeft_;  // the line continues after the literal
}

std::string CommandReader::takeCommand() {
  std::string out = std::move(buffer_);
  reset();
  return out;
}

std::string CommandReader::tag() const {
  if (!discardTag_.empty()) return discardTag_;
  size_t i = 0;
  while (i < buffer_.size() && isTagChar(buffer_[i])) ++i;
  if (i == 0 || i == buffer_.size()) return {};
  char c = buffer_[i];
  if (c != ' ' && c != '\r' && c != '\n') return {};
  return buffer_.substr(0, i);
}

CommandReader::Event CommandReader::feed(std::string_view& input) {
  // A finished discard left its tag for the error reply; a new command starts now.
  if (!discarding_ && buffer_.empty() && literalLeft_ == 0 && !awaitingAccept_) discardTag_.clear();

  while (true) {
    if (awaitingAccept_) return Event{Status::NeedLiteral, pendingLiteral_, true, false};

    if (discardLeft_ > 0) {
      size_t n = static_cast<size_t>(std::min<uint64_t>(discardLeft_, input.size()));
      input.remove_prefix(n);
      discardLeft_ -= n;
      if (discardLeft_ > 0) return Event{};
      continue;
    }

    if (literalLeft_ > 0) {
      size_t n = static_cast<size_t>(std::min<uint64_t>(literalLeft_, input.size()));
      buffer_.append(input.data(), n);
      input.remove_prefix(n);
      literalLeft_ -= n;
      if (literalLeft_ > 0) return Event{};
      lineStart_ = buffer_.size();
      continue;
    }

    // Line mode: copy up to and including LF, never more than the line limit allows.
    if (input.empty()) return Event{};
    size_t have = buffer_.size() - lineStart_;
    const void* lf = std::memchr(input.data(), '\n', input.size());
    size_t take = lf ? static_cast<size_t>(static_cast<const char*>(lf) - input.data()) : input.size();
    // +2 allows the line's own CR (counted in `have` or `take`) before the LF.
    if (have + take > limits_.maxLineLength + 1) {
      return Event{Status::LineTooLong, 0, false, true};
    }
    if (buffer_.size() + take + 2 > limits_.maxCommandSize) {
      return Event{Status::LineTooLong, 0, false, true};
    }
    buffer_.append(input.data(), take);
    input.remove_prefix(take);
    if (!lf) return Event{};
    input.remove_prefix(1);  // the LF

    // Normalise a bare LF to CRLF so the stored command always uses CRLF.
    if (buffer_.size() > lineStart_ && buffer_.back() == '\r') buffer_.pop_back();
    std::string_view line(buffer_.data() + lineStart_, buffer_.size() - lineStart_);
    if (line.size() > limits_.maxLineLength) return Event{Status::LineTooLong, 0, false, true};
    LiteralMarker m = findLiteralMarker(line);
    buffer_.append("\r\n");

    if (discarding_) {
      // Dropping the rest of an oversized LITERAL+ command. A synchronizing literal ends it: the
      // client waits for a continuation that our tagged NO replaces.
      if (m.present && !m.synchronizing) {
        if (m.overflow || absurd(m.size, limits_.maxLiteralSize) ||
            absurd(discardedTotal_ + m.size, limits_.maxCommandSize)) {
          return Event{Status::LiteralTooLarge, m.size, false, true};
        }
        discardedTotal_ += m.size;
        discardLeft_ = m.size;
        buffer_.clear();
        lineStart_ = 0;
        continue;
      }
      uint64_t size = pendingLiteral_;
      std::string tag = std::move(discardTag_);
      reset();
      discardTag_ = std::move(tag);
      return Event{Status::LiteralTooLarge, size, false, false};
    }

    if (!m.present) return Event{Status::Complete, 0, false, false};

    bool tooLarge = m.overflow || m.size > limits_.maxLiteralSize ||
                    m.size > limits_.maxCommandSize - std::min<uint64_t>(buffer_.size(), limits_.maxCommandSize);
    if (tooLarge) {
      if (m.synchronizing) return Event{Status::LiteralTooLarge, m.size, true, false};
      if (m.overflow || absurd(m.size, limits_.maxLiteralSize)) {
        return Event{Status::LiteralTooLarge, m.size, false, true};
      }
      discardTag_ = tag();
      if (discardTag_.empty()) discardTag_.assign(1, '*');  // assign(): dodges a g++ 12 -Wrestrict false positive
      discarding_ = true;
      pendingLiteral_ = m.size;
      discardLeft_ = m.size;
      discardedTotal_ = m.size;
      buffer_.clear();
      lineStart_ = 0;
      continue;
    }

    if (m.synchronizing) {
      awaitingAccept_ = true;
      pendingLiteral_ = m.size;
      lineStart_ = buffer_.size();
      return Event{Status::NeedLiteral, m.size, true, false};
    }
    literalLeft_ = m.size;
    lineStart_ = buffer_.size() + m.size;
    if (literalLeft_ == 0) lineStart_ = buffer_.size();
  }
}

bool CommandReader::feedLine(std::string_view& input, std::string& line, bool& tooLong) {
  tooLong = false;
  const void* lf = std::memchr(input.data(), '\n', input.size());
  size_t take = lf ? static_cast<size_t>(static_cast<const char*>(lf) - input.data()) : input.size();
  if (buffer_.size() + take > limits_.maxLineLength + 1) {
    tooLong = true;
    reset();
    return false;
  }
  buffer_.append(input.data(), take);
  input.remove_prefix(take);
  if (!lf) return false;
  input.remove_prefix(1);
  if (!buffer_.empty() && buffer_.back() == '\r') buffer_.pop_back();
  if (buffer_.size() > limits_.maxLineLength) {
    tooLong = true;
    reset();
    return false;
  }
  line = std::move(buffer_);
  reset();
  return true;
}

}  // namespace tern::imap
