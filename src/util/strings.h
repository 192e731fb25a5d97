// Small ASCII string helpers shared by the protocol layers (pure, no allocation surprises).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tern {

char asciiLower(char c);
char asciiUpper(char c);
std::string asciiLowercase(std::string_view s);
std::string asciiUppercase(std::string_view s);
bool iequals(std::string_view a, std::string_view b);
bool istartsWith(std::string_view s, std::string_view prefix);

// Position of the first CR or LF in s, or npos. Two memchr scans: std::string_view::find_first_of
// calls memchr once per byte of s, which showed up as a tenth of SMTP's DATA time.
size_t findCrOrLf(std::string_view s);

// Appends code point cp (assumed <= U+10FFFF) as UTF-8.
void appendUtf8(std::string& out, uint32_t cp);

std::string base64Encode(std::string_view bytes);
// Strict RFC 4648 decoding (padding required, no whitespace); nullopt on any invalid input.
std::optional<std::string> base64Decode(std::string_view text);

// Parses a decimal unsigned integer that must fit in max; nullopt otherwise (no sign, no spaces).
std::optional<uint64_t> parseUnsigned(std::string_view s, uint64_t max = UINT64_MAX);

}  // namespace tern
