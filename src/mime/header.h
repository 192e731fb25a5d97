// Minimal RFC 5322 header access used by FETCH BODY[HEADER...] before the full MIME parser exists:
// find the header/body boundary and pick header fields by name. Pure; handles untrusted bytes; works
// on any input (no header end means the whole message is header).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace tern::mime {

struct HeaderSplit {
  std::string_view header;  // the header including the empty line that ends it (if any)
  std::string_view body;    // everything after that empty line
};

// Splits at the first empty line (CRLF CRLF, or LF LF for broken input).
HeaderSplit splitHeader(std::string_view message);

// The header fields whose names are (or, with exclude, are not) in `names`, case-insensitively, each
// with its folded continuation lines, in original order, followed by the terminating CRLF, as IMAP
// BODY[HEADER.FIELDS (...)] defines it.
std::string selectHeaderFields(std::string_view header, const std::vector<std::string>& names, bool exclude);

}  // namespace tern::mime
