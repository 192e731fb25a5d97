// Frames untrusted SMTP client bytes into command lines ending in CRLF. Resumable: feed() takes
// whatever bytes arrived and reports NeedMore, a Line, TooLong or BareLineEnding. Pure (no I/O).
// Limits: the line length (bytes before CRLF); an over-long line is discarded, never buffered.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace tern::smtp {

class LineReader {
 public:
  enum class Status {
    NeedMore,        // input exhausted; feed more
    Line,            // line() holds one command line without its CRLF
    TooLong,         // a line exceeded maxLineLength: it was discarded up to and including its CRLF
                     // and is reported only then, so replies stay in step (500 5.5.2)
    BareLineEnding,  // a bare CR or LF inside a command line: reported as soon as it is seen; the
                     // line so far and everything up to the next CRLF are discarded (500 5.5.2, or
                     // close). Nothing after a bare line ending is ever taken as a command.
  };

  // RFC 5321 allows 512 octets with CRLF, extensions add more (RFC 4954 asks for 12288 for AUTH).
  explicit LineReader(size_t maxLineLength = 4096) : max_(maxLineLength) {}

  // Consumes bytes from the front of `input` (advancing it) until an event happens or input ends.
  // Bytes after a reported Line stay in `input` (pipelined commands, or the start of DATA/BDAT).
  Status feed(std::string_view& input);
  // After Status::Line: the line, valid until the next feed() or reset().
  const std::string& line() const { return line_; }
  // Forgets any partial line (after STARTTLS: pipelined plaintext is thrown away).
  void reset();
  // True when part of a line has been received (e.g. plaintext pipelined after STARTTLS).
  bool hasPartialLine() const { return (!line_.empty() && !lineDone_) || state_ != State::Normal; }

 private:
  enum class State {
    Normal,          // in a line
    SawCr,           // last byte was CR
    DiscardTooLong,  // dropping an over-long line up to CRLF
    DiscardTooLongCr,
    DiscardBare,     // dropping after a bare CR/LF up to CRLF
    DiscardBareCr,
  };
  size_t max_;
  std::string line_;
  State state_ = State::Normal;
  bool lineDone_ = false;  // line_ holds a reported line; cleared by the next feed()
};

}  // namespace tern::smtp
