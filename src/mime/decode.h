// Content-Transfer-Encoding decoding of MIME bodies (RFC 2045): base64, quoted-printable and the
// identity encodings. Pure; handles untrusted bytes; lenient like real clients (whitespace and junk
// in base64 skipped, malformed =XX kept literally), output is never larger than the input.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace tern::mime {

enum class TransferEncoding { SevenBit, EightBit, Binary, Base64, QuotedPrintable, Unknown };

// Classifies a Content-Transfer-Encoding value (case-insensitive, surrounding space ignored).
// An empty value means the RFC 2045 default, 7bit.
TransferEncoding parseTransferEncoding(std::string_view value);

// Lenient base64: ignores every byte outside the alphabet, stops at '=' padding.
std::string decodeBase64(std::string_view text);
// Quoted-printable: "=XX" hex escapes (either case), soft line breaks "=\r\n"/"=\n", trailing space
// on a line kept (dropping it would alter signed text).
// rfc2047: the Q variant of RFC 2047, where '_' is a space.
std::string decodeQuotedPrintable(std::string_view text, bool rfc2047 = false);

// Decodes a body for BINARY / search / the python cross-check. nullopt for an unknown encoding
// (IMAP BINARY answers that with [UNKNOWN-CTE]).
std::optional<std::string> decodeBody(std::string_view body, std::string_view transferEncoding);

}  // namespace tern::mime
