// Wildcard matching for LIST/LSUB with a dynamic-programming table over (pattern, name) positions.
#include "imap/server/list_match.h"

#include <vector>

#include "util/strings.h"

namespace tern::imap::server {
namespace {

bool matchRaw(std::string_view p, std::string_view n) {
  // reach[j]: the first i pattern characters can match the first j name characters.
  std::vector<char> reach(n.size() + 1, 0), next(n.size() + 1, 0);
  reach[0] = 1;
  for (char pc : p) {
    std::fill(next.begin(), next.end(), 0);
    if (pc == '*') {
      bool carry = false;
      for (size_t j = 0; j <= n.size(); ++j) {
        if (reach[j]) carry = true;
        next[j] = carry;
      }
    } else if (pc == '%') {
      // '%' extends a match only across non-delimiter characters.
      for (size_t j = 0; j <= n.size(); ++j) {
        if (!reach[j] || next[j]) continue;
        next[j] = 1;
        for (size_t k = j; k < n.size() && n[k] != kDelimiter; ++k) next[k + 1] = 1;
      }
    } else {
      for (size_t j = 0; j < n.size(); ++j)
        if (reach[j] && n[j] == pc) next[j + 1] = 1;
    }
    reach.swap(next);
  }
  return reach[n.size()] != 0;
}

// INBOX is case-insensitive: normalise a leading "inbox" in the pattern when the name is INBOX-based.
std::string normaliseInbox(std::string_view pattern, std::string_view name) {
  std::string p(pattern);
  if (name.size() >= 5 && name.substr(0, 5) == "INBOX" && (name.size() == 5 || name[5] == kDelimiter) &&
      p.size() >= 5 && iequals(std::string_view(p).substr(0, 5), "INBOX"))
    for (size_t i = 0; i < 5; ++i) p[i] = asciiUpper(p[i]);
  return p;
}

}  // namespace

bool listMatches(std::string_view pattern, std::string_view name) {
  return matchRaw(normaliseInbox(pattern, name), name);
}

std::string listCanonicalPattern(std::string_view reference, std::string_view pattern) {
  // RFC 9051 leaves the interpretation to the server; plain concatenation is what clients expect
  // ("Archive/" + "%" lists Archive's children).
  std::string out(reference);
  out += pattern;
  return out;
}

}  // namespace tern::imap::server
