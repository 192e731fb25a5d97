// Modified UTF-7 (RFC 3501 5.1.3) mailbox-name encoding for IMAP4rev1 clients, and UTF-8 checks.
// Pure; handles untrusted bytes; invalid input is reported, never guessed.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace tern::imap {

// mUTF-7 to UTF-8; nullopt when the input is not valid modified UTF-7.
std::optional<std::string> mutf7Decode(std::string_view mutf7);
// UTF-8 to mUTF-7 (input assumed valid UTF-8).
std::string mutf7Encode(std::string_view utf8);
// Strict UTF-8 validation (no overlongs, no surrogates, <= U+10FFFF).
bool isValidUtf8(std::string_view s);

}  // namespace tern::imap
