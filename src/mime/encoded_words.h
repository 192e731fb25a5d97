// RFC 2047 encoded-word decoding ("=?charset?B|Q?text?=") to UTF-8. Pure; handles untrusted header
// text; output is bounded by a small multiple of the input. Malformed words stay as written.
#pragma once

#include <string>
#include <string_view>

namespace tern::mime {

// Decodes every encoded word in an (already unfolded) header value and returns UTF-8:
// - B and Q encodings, any charset iconv knows (RFC 2231 "charset*lang" accepted);
// - whitespace between two adjacent encoded words is dropped (RFC 2047 section 6.2), and adjacent
//   words in the same charset are joined before conversion so a character split across words
//   survives;
// - words glued to surrounding text are decoded too (common in the wild);
// - a malformed word (unknown encoding letter, missing "?=") is kept literally;
// - text outside encoded words that is not valid UTF-8 is read as windows-1252 (8-bit headers).
std::string decodeEncodedWords(std::string_view value);

// Raw 8-bit header text to UTF-8: kept if valid UTF-8, else read as windows-1252.
std::string headerTextToUtf8(std::string_view raw);

}  // namespace tern::mime
