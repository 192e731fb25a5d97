// Encoding of IMAP response syntax: quoted strings, literals, astrings, nstrings, sequence sets,
// dates. Pure. Chooses the smallest correct form; anything that cannot be quoted (CR, LF, NUL,
// 8-bit when not allowed) becomes a literal.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "imap/protocol/command.h"

namespace tern::imap {

// Appends s as a quoted string if possible, else as a literal "{n}\r\n<bytes>".
// allow8bit: UTF-8 may be quoted (IMAP4rev2 / UTF8=ACCEPT); otherwise 8-bit bytes force a literal.
void appendString(std::string& out, std::string_view s, bool allow8bit = true);
// As an atom when it is a valid atom (and not "NIL"), else as appendString.
void appendAstring(std::string& out, std::string_view s, bool allow8bit = true);
// NIL for nullopt, else appendString.
void appendNString(std::string& out, const std::optional<std::string_view>& s, bool allow8bit = true);
// Compact sequence set of the given numbers (any order, duplicates allowed): "1:3,7,9:10".
std::string formatSequenceSet(std::vector<uint32_t> numbers);
// "17-Jul-1996 02:44:25 -0700" (with the quotes).
std::string formatDateTime(const DateTime& dt);
// True if every byte is an ATOM-CHAR.
bool isAtom(std::string_view s);

}  // namespace tern::imap
