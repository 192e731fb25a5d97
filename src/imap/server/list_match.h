// LIST pattern matching (RFC 9051 6.3.9): '*' matches anything, '%' anything but the hierarchy
// delimiter; "INBOX" matches case-insensitively. Pure; patterns come from clients, so matching is
// iterative and linear in memory.
#pragma once

#include <string>
#include <string_view>

namespace tern::imap::server {

constexpr char kDelimiter = '/';

bool listMatches(std::string_view pattern, std::string_view name);
// The name a LIST reference and pattern together denote.
std::string listCanonicalPattern(std::string_view reference, std::string_view pattern);

}  // namespace tern::imap::server
