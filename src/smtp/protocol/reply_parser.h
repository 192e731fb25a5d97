// Parses SMTP server replies ("250-first\r\n250 last\r\n") into Reply values for the outbound client.
// Resumable and pure: feed() takes whatever bytes arrived. Handles untrusted bytes from remote MTAs;
// limits: line length and lines per reply, so a hostile peer cannot make it grow without bound.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "smtp/protocol/reply.h"

namespace tern::smtp {

struct ReplyParserLimits {
  size_t maxLineLength = 2048;  // bytes before the line ending (RFC 5321 asks for 512; be generous)
  size_t maxLines = 100;        // lines in one multi-line reply (EHLO lists a dozen or two)
};

class ReplyParser {
 public:
  enum class Status {
    NeedMore,  // input exhausted; feed more
    Reply,     // reply() holds one complete reply
    Error,     // the peer is broken or hostile (error() says why); the parser stays in Error until
               // reset(): the connection should be closed, replies can no longer be matched up
  };
  enum class ErrorKind {
    None,
    LineTooLong,     // a line exceeded maxLineLength (reported before its end arrives)
    TooManyLines,    // a multi-line reply exceeded maxLines
    Malformed,       // not "NNN", "NNN text" or "NNN-text" with NNN in 200..599
    CodeMismatch,    // the lines of one multi-line reply carry different codes
  };

  explicit ReplyParser(ReplyParserLimits limits = {}) : limits_(limits) {}

  // Consumes bytes from the front of `input` (advancing it) until a reply is complete, an error is
  // found or input ends. Bytes after a complete reply stay in `input` (pipelined replies).
  // Lines end in CRLF; a bare LF is accepted as a line ending too (be liberal in what we accept).
  Status feed(std::string_view& input);

  // After Status::Reply: the reply. Its `enhanced` is the RFC 3463 code when the first line starts
  // with one whose class matches the reply code (removed from the text of every line that repeats
  // it); text has control characters replaced by spaces. Valid until the next feed() or reset().
  const Reply& reply() const { return reply_; }
  ErrorKind error() const { return error_; }
  std::string_view errorText() const;
  // Forgets any partial reply and a previous error (e.g. after STARTTLS).
  void reset();
  // True when part of a reply has been received.
  bool hasPartial() const { return !line_.empty() || !lines_.empty(); }

 private:
  Status finishLine();
  Status fail(ErrorKind kind);

  ReplyParserLimits limits_;
  std::string line_;                 // the current line so far (without its ending)
  std::vector<std::string> lines_;   // raw lines of the reply so far (without code/separator)
  int code_ = 0;
  Reply reply_;
  bool replyDone_ = false;           // reply_ holds a reported reply; cleared by the next feed()
  ErrorKind error_ = ErrorKind::None;
};

// Splits a leading RFC 3463 enhanced status code ("2.1.5 ") from `text` when its class digit equals
// `classDigit` (2, 4 or 5); returns the code ("" when none) and advances `text` past it and one space.
std::string takeEnhancedCode(std::string_view& text, int classDigit);

}  // namespace tern::smtp
