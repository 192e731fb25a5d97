// Conversion of text in any MIME charset to UTF-8, using glibc iconv (no extra dependency).
// Handles untrusted bytes: never fails; bytes that are invalid in the source charset become U+FFFD,
// and an unknown charset is read as UTF-8 with the same replacement.
#pragma once

#include <string>
#include <string_view>

namespace tern::mime {

// True if s is well-formed UTF-8 (no overlongs, no surrogates, nothing above U+10FFFF).
bool isValidUtf8(std::string_view s);

// s with every ill-formed UTF-8 sequence replaced by U+FFFD.
std::string sanitizeUtf8(std::string_view s);

// Converts bytes in `charset` (a MIME charset name, any case, RFC 2231 "*lang" suffix tolerated)
// to UTF-8. US-ASCII and UTF-8 are checked rather than converted.
std::string toUtf8(std::string_view bytes, std::string_view charset);

// True if iconv knows the charset (after alias mapping).
bool isKnownCharset(std::string_view charset);

}  // namespace tern::mime
