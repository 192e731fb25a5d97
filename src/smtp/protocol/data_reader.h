// The DATA and BDAT states: untrusted message bytes from the client to a sink, in chunks.
// DataReader ends only at the exact CRLF "." CRLF (no SMTP smuggling), undoes dot-stuffing and
// enforces the message size limit while staying in sync; BdatReader takes exactly N octets.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace tern::smtp {

// Receives message bytes in order, in chunks of 1..chunkSize octets; the protocol layer never
// holds a whole message. Not called again once the message is over its size limit.
using MessageSink = std::function<void(std::string_view chunk)>;

// What to do with a bare CR or bare LF in the body. Either way, neither ever ends the data: only
// CRLF "." CRLF does, where the first CRLF is a real CRLF ending the previous line (or the DATA
// command line itself, for an empty message).
enum class BareLineEndingPolicy {
  Normalise,  // default: each bare LF and each bare CR is delivered as CRLF (as Postfix's
              // "normalize"); the dot rules then apply to the line that follows it, so a line "."
              // after a bare line ending is kept as content and ".." becomes "."
  Reject,     // same framing and output, but the end is reported as BareLineEnding; the session
              // discards the message and refuses it (e.g. 554 5.6.0)
};

class DataReader {
 public:
  enum class Status {
    NeedMore,        // input exhausted; feed more
    Complete,        // end of data seen; the whole message went to the sink
    TooBig,          // end of data seen; the message was over maxMessageSize (552 5.3.4)
    BareLineEnding,  // end of data seen; policy Reject and the body had a bare CR or LF
  };

  // maxMessageSize counts the octets delivered (after unstuffing and normalisation).
  DataReader(uint64_t maxMessageSize, MessageSink sink,
             BareLineEndingPolicy policy = BareLineEndingPolicy::Normalise,
             size_t chunkSize = 64 * 1024);

  // Consumes bytes from the front of `input` up to and including the end-of-data marker; what
  // follows it (pipelined commands) stays in `input`. Pending output is handed to the sink before
  // returning. After an end status, call reset() before the next message.
  Status feed(std::string_view& input);
  void reset();

  uint64_t messageSize() const { return size_; }     // counted even past the limit
  bool sawBareLineEnding() const { return bare_; }

 private:
  enum class State { LineStart, Dot, DotCr, Mid, Cr, Done };
  void emit(std::string_view bytes);
  void flush();
  Status endStatus() const;

  uint64_t max_;
  MessageSink sink_;
  BareLineEndingPolicy policy_;
  size_t chunkSize_;
  std::string out_;
  State state_ = State::LineStart;
  bool realLineStart_ = true;  // the current line follows a real CRLF (or is the first line)
  uint64_t size_ = 0;
  bool tooBig_ = false;
  bool bare_ = false;
};

// RFC 3030 BDAT: exactly `chunkSize` octets, passed through unchanged (no dot handling, no line
// ending changes). `storeLimit` is what the message may still grow by; if the chunk is larger,
// nothing of it is stored and TooBig is reported once the chunk has been consumed.
class BdatReader {
 public:
  enum class Status { NeedMore, Complete, TooBig };
  BdatReader(uint64_t chunkSize, uint64_t storeLimit, MessageSink sink);
  // Consumes at most the rest of the chunk from `input`.
  Status feed(std::string_view& input);
  uint64_t remaining() const { return remaining_; }

 private:
  uint64_t remaining_;
  bool tooBig_;
  MessageSink sink_;
};

}  // namespace tern::smtp
