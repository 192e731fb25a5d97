// Frames untrusted IMAP client bytes into whole commands: lines plus the literals they announce.
// Resumable: feed() takes whatever bytes arrived and reports NeedMore, NeedLiteral, Complete or a
// limit breach. Pure (no I/O): the session sends continuations and error replies. Limits: the
// length of each line, each literal (checked before a literal byte is read) and the whole command.
// A bare LF ends a line too and is stored as CRLF, so the parser only ever sees CRLF.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace tern::imap {

struct ReaderLimits {
  size_t maxLineLength = 64 * 1024;                 // one line, without literal contents
  uint64_t maxLiteralSize = 64ull * 1024 * 1024;    // one literal ({n}, {n+}, ~{n})
  uint64_t maxCommandSize = 80ull * 1024 * 1024;    // all lines and literals of one command
};

class CommandReader {
 public:
  enum class Status {
    NeedMore,         // input exhausted; feed more
    NeedLiteral,      // a synchronizing literal was announced: answer "+ ..." then call acceptLiteral(),
                      // or reply NO [TOOBIG] and call reset() (the client will not send it)
    Complete,         // takeCommand() returns the whole command
    LineTooLong,      // unframeable (a line over maxLineLength, or lines over maxCommandSize);
                      // `fatal` is set: send "* BYE" and close
    LiteralTooLarge,  // literal over the limit. If `synchronizing`, nothing more of this command will
                      // come: reply tagged NO [TOOBIG] and call reset(). If not (LITERAL+), the reader
                      // has already discarded the literal and the rest of the command; reply tagged
                      // NO [TOOBIG]. When the literal is absurdly large (over 4x the limit) the
                      // reader does not discard it: `fatal` is set; send "* BYE" and close.
  };
  struct Event {
    Status status = Status::NeedMore;
    uint64_t literalSize = 0;
    bool synchronizing = false;
    bool fatal = false;
  };

  explicit CommandReader(ReaderLimits limits = {});

  // Consumes bytes from the front of `input` (advancing it) until an event happens or input ends.
  Event feed(std::string_view& input);
  // After NeedLiteral: the session sent the continuation; literal bytes follow.
  void acceptLiteral();
  // After Complete: the command text, lines with their CRLF and literal bytes in place. Resets.
  std::string takeCommand();
  // The tag of the command being read, as far as known (empty if none yet); for error replies.
  // After a LiteralTooLarge for a discarded LITERAL+ command: that command's tag ("*" if it had
  // none), until the next feed().
  std::string tag() const;
  // Forgets the partial command.
  void reset();

  // Line mode for AUTHENTICATE responses and IDLE's DONE: returns true and sets `line` (without
  // CRLF) when a whole line is available. Lines over maxLineLength yield LineTooLong via `tooLong`.
  bool feedLine(std::string_view& input, std::string& line, bool& tooLong);

 private:
  ReaderLimits limits_;
  std::string buffer_;         // the command so far
  size_t lineStart_ = 0;       // start of the current line in buffer_
  uint64_t literalLeft_ = 0;   // literal bytes still to copy
  uint64_t discardLeft_ = 0;   // literal bytes still to drop (oversized LITERAL+)
  bool discarding_ = false;    // dropping the rest of an oversized command
  bool awaitingAccept_ = false;
  uint64_t pendingLiteral_ = 0;
  std::string discardTag_;       // tag of the command being (or just) discarded, for the NO reply
  uint64_t discardedTotal_ = 0;  // literal bytes dropped for the current command (bounded)
};

}  // namespace tern::imap
