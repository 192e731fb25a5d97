// Resumable CRLF line framing for SMTP commands.
// Handles untrusted bytes: only the exact CRLF ends a line; a bare CR or LF is reported and the rest
// of that line dropped; lines over the limit are dropped without being buffered.
#include "smtp/protocol/line_reader.h"

#include "util/strings.h"

namespace tern::smtp {

void LineReader::reset() {
  line_.clear();
  state_ = State::Normal;
  lineDone_ = false;
}

LineReader::Status LineReader::feed(std::string_view& input) {
  if (lineDone_) {
    line_.clear();
    lineDone_ = false;
  }
  while (!input.empty()) {
    switch (state_) {
      case State::Normal: {
        // Copy the run of ordinary bytes in one go.
        size_t n = findCrOrLf(input);
        size_t run = n == std::string_view::npos ? input.size() : n;
        if (line_.size() + run > max_) {
          input.remove_prefix(run);
          line_.clear();
          state_ = State::DiscardTooLong;
          break;
        }
        line_.append(input.substr(0, run));
        input.remove_prefix(run);
        if (input.empty()) break;
        char c = input.front();
        input.remove_prefix(1);
        if (c == '\r') {
          state_ = State::SawCr;
        } else {  // bare LF
          line_.clear();
          state_ = State::DiscardBare;
          return Status::BareLineEnding;
        }
        break;
      }
      case State::SawCr:
        if (input.front() == '\n') {
          input.remove_prefix(1);
          state_ = State::Normal;
          lineDone_ = true;
          return Status::Line;
        }
        // Bare CR: the byte after it is not consumed here; it is dropped with the rest of the line.
        line_.clear();
        state_ = State::DiscardBare;
        return Status::BareLineEnding;
      case State::DiscardTooLong:
      case State::DiscardBare: {
        size_t n = input.find('\r');
        if (n == std::string_view::npos) {
          input = {};
          break;
        }
        input.remove_prefix(n + 1);
        state_ = state_ == State::DiscardTooLong ? State::DiscardTooLongCr : State::DiscardBareCr;
        break;
      }
      case State::DiscardTooLongCr:
      case State::DiscardBareCr: {
        bool tooLong = state_ == State::DiscardTooLongCr;
        char c = input.front();
        if (c == '\r') {  // "\r\r\n": the second CR may still start the CRLF
          input.remove_prefix(1);
          break;
        }
        input.remove_prefix(1);
        if (c != '\n') {
          state_ = tooLong ? State::DiscardTooLong : State::DiscardBare;
          break;
        }
        state_ = State::Normal;
        if (tooLong) return Status::TooLong;
        break;
      }
    }
  }
  return Status::NeedMore;
}

}  // namespace tern::smtp
