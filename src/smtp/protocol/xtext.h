// RFC 3461 xtext (DSN's ENVID/ORCPT, RFC 4954's AUTH=) and RFC 6533 utf-8-addr-xtext decoding.
// Handles untrusted bytes: decoders validate every character and return nullopt on anything
// malformed; output is never longer than the input, so no separate limit is needed.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace tern::smtp {

// Encodes raw bytes as xtext: '+', '=', controls, SP and 8-bit bytes become "+XX" (uppercase hex).
std::string xtextEncode(std::string_view raw);

// Decodes xtext. xchar = %x21-2A / %x2C-3C / %x3E-7E, hexchar = "+" 2HEXDIG. RFC 3461 asks for upper
// case hex digits; lower case is accepted too (harmless, and some clients send it).
std::optional<std::string> xtextDecode(std::string_view text);

// Decodes RFC 6533 utf-8-addr-xtext / utf-8-addr-unitext (ORCPT=utf-8;...): printable ASCII other
// than '+', '=', '\\', valid UTF-8 sequences (only when allowUtf8), and "\x{HEX}" escapes of a Unicode
// scalar value. The "+XX" xtext escape is also accepted for compatibility with RFC 3461 senders.
std::optional<std::string> utf8AddrXtextDecode(std::string_view text, bool allowUtf8);

// True when s is well-formed UTF-8 (no overlong forms, no surrogates, nothing above U+10FFFF).
bool isValidUtf8(std::string_view s);

}  // namespace tern::smtp
