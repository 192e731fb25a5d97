// Text views of a parsed message for SEARCH and FETCH PREVIEW: simple Unicode case folding, the
// decoded text of body parts, and the RFC 8970 preview. Pure; the message bytes were untrusted input,
// so every function tolerates malformed UTF-8 (replaced) and bounds its output.
#pragma once

#include <string>
#include <string_view>

#include "mime/message.h"

namespace tern::imap::server {

// Lowercases UTF-8 for case-insensitive substring search: ASCII, Latin-1, Latin Extended-A, Greek and
// Cyrillic by a small table (simple case folding, one code point to one; no ß -> ss, no locale).
// Malformed bytes become U+FFFD.
std::string foldCase(std::string_view utf8);

// Case-insensitive substring test; `needleFolded` must already be foldCase()d.
bool containsFolded(std::string_view haystack, std::string_view needleFolded);

// The decoded text (UTF-8) of every text/* leaf part, in order, each followed by a newline; the
// bytes of parts that cannot be decoded are skipped. `message` is the whole message.
std::string bodyText(std::string_view message, const mime::ParsedMessage& parsed);

// RFC 8970 preview: up to 200 characters of the first text/plain (else text/html, tags stripped)
// part that is not an attachment, whitespace runs collapsed to one space, trimmed. Empty when the
// message has no such part.
std::string previewText(std::string_view message, const mime::ParsedMessage& parsed);

}  // namespace tern::imap::server
