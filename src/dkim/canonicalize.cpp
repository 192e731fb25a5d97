// Relaxed canonicalization of header fields and bodies (RFC 6376 3.4.2 and 3.4.4, with the errata
// that a relaxed empty body is the empty string). Untrusted bytes: single pass, no recursion, the
// body is streamed through a bounded buffer.
#include <string>

#include "dkim/canonicalize.h"
#include "dkim/dkim.h"
#include "util/strings.h"

namespace tern::dkim {

namespace {

bool isWsp(char c) { return c == ' ' || c == '\t'; }

}  // namespace

std::string relaxedHeader(std::string_view name, std::string_view value) {
  std::string out;
  out.reserve(name.size() + value.size() + 3);
  // The name: lower case, without the WSP that may stand before the colon.
  while (!name.empty() && isWsp(name.back())) name.remove_suffix(1);
  while (!name.empty() && isWsp(name.front())) name.remove_prefix(1);
  out += asciiLowercase(name);
  out += ':';
  // The value: unfold (drop line ends), WSP runs to one SP, none at either end.
  bool space = false;
  bool any = false;
  for (size_t i = 0; i < value.size(); ++i) {
    const char c = value[i];
    if (c == '\r' && i + 1 < value.size() && value[i + 1] == '\n') {
      ++i;
      continue;
    }
    if (c == '\n') continue;
    if (isWsp(c)) {
      space = true;
      continue;
    }
    if (space && any) out += ' ';
    space = false;
    any = true;
    out += c;
  }
  out += "\r\n";
  return out;
}

std::string relaxedBody(std::string_view body) {
  std::string out;
  detail::RelaxedBodyCanonicalizer canon([&out](std::string_view s) { out.append(s); });
  canon.feed(body);
  canon.finish();
  return out;
}

namespace detail {

void RelaxedBodyCanonicalizer::feed(std::string_view bytes) {
  for (const char c : bytes) {
    if (pendingCr_) {
      pendingCr_ = false;
      if (c == '\n') {
        endLine();
        continue;
      }
      content('\r');  // a bare CR is content
    }
    if (c == '\r') {
      pendingCr_ = true;
    } else if (c == '\n') {
      endLine();
    } else if (isWsp(c)) {
      pendingSpace_ = true;
    } else {
      content(c);
    }
  }
  if (out_.size() >= kFlushBytes) flush();
}

void RelaxedBodyCanonicalizer::content(char c) {
  if (!lineHasContent_) {
    // Empty lines before this one were not trailing after all.
    for (; pendingEmptyLines_ > 0; --pendingEmptyLines_) out_ += "\r\n";
    lineHasContent_ = true;
  }
  if (pendingSpace_) {
    out_ += ' ';
    pendingSpace_ = false;
  }
  out_ += c;
  if (out_.size() >= kFlushBytes) flush();
}

void RelaxedBodyCanonicalizer::endLine() {
  pendingSpace_ = false;  // WSP at the end of a line is dropped
  if (lineHasContent_) {
    out_ += "\r\n";
  } else {
    ++pendingEmptyLines_;
  }
  lineHasContent_ = false;
}

void RelaxedBodyCanonicalizer::finish() {
  if (pendingCr_) {
    pendingCr_ = false;
    content('\r');
  }
  if (lineHasContent_) endLine();
  pendingEmptyLines_ = 0;  // trailing empty lines are not part of the canonical body
  pendingSpace_ = false;
  flush();
}

void RelaxedBodyCanonicalizer::flush() {
  if (!out_.empty()) sink_(out_);
  out_.clear();
}

}  // namespace detail
}  // namespace tern::dkim
