// Internal to tern_dkim: the relaxed body canonicalizer (RFC 6376 3.4.4) as a stream, so that a
// large body is hashed without a canonical copy of it. Untrusted bytes; state is O(1) per call
// besides the output buffer, which is flushed to the sink every kFlushBytes.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

namespace tern::dkim::detail {

class RelaxedBodyCanonicalizer {
 public:
  using Sink = std::function<void(std::string_view)>;
  explicit RelaxedBodyCanonicalizer(Sink sink) : sink_(std::move(sink)) {}

  // Bytes of the body, split anywhere. Lines end in CRLF; a bare LF also ends a line (what a
  // transmitter that normalises line ends would send); a bare CR is an ordinary byte.
  void feed(std::string_view bytes);
  // Ends the body: an unterminated last line gets its CRLF, trailing empty lines are dropped.
  void finish();

 private:
  static constexpr size_t kFlushBytes = 64 * 1024;
  void content(char c);
  void endLine();
  void flush();

  Sink sink_;
  std::string out_;
  size_t pendingEmptyLines_ = 0;  // emitted only if a non-empty line follows
  bool lineHasContent_ = false;
  bool pendingSpace_ = false;     // a WSP run seen, emitted as one SP if content follows on the line
  bool pendingCr_ = false;        // a CR at the end of the previous feed
};

}  // namespace tern::dkim::detail
