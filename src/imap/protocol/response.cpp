// Encoding of IMAP response syntax: quoted strings, literals, astrings, nstrings, sequence sets and
// date-times. Pure. The bytes written may come from clients or messages, so anything that cannot be
// quoted safely (CR, LF, NUL, 8-bit when not allowed) is sent as a literal, never as raw text.
#include "imap/protocol/response.h"

#include <algorithm>
#include <cstdio>

namespace tern::imap {

namespace {

bool isAtomChar(unsigned char c) {
  if (c <= 0x20 || c >= 0x7f) return false;
  switch (c) {
    case '(': case ')': case '{': case '%': case '*': case '"': case '\\': case ']':
      return false;
    default:
      return true;
  }
}

// Long strings are cheaper and clearer as literals; quoting is for short, clean values.
constexpr size_t kMaxQuoted = 1024;

bool canQuote(std::string_view s, bool allow8bit) {
  if (s.size() > kMaxQuoted) return false;
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    if (c == '\r' || c == '\n' || c == '\0') return false;
    if (c >= 0x80 && !allow8bit) return false;
  }
  return true;
}

// Proleptic Gregorian civil date from days since 1970-01-01.
void civilFromDays(int64_t z, int64_t& y, unsigned& m, unsigned& d) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  y = static_cast<int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  d = doy - (153 * mp + 2) / 5 + 1;
  m = mp < 10 ? mp + 3 : mp - 9;
  if (m <= 2) ++y;
}

}  // namespace

bool isAtom(std::string_view s) {
  for (char c : s)
    if (!isAtomChar(static_cast<unsigned char>(c))) return false;
  return true;
}

void appendString(std::string& out, std::string_view s, bool allow8bit) {
  if (canQuote(s, allow8bit)) {
    out.reserve(out.size() + s.size() + 2);
    out += '"';
    for (char c : s) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    out += '"';
    return;
  }
  out += '{';
  out += std::to_string(s.size());
  out += "}\r\n";
  out.append(s);
}

void appendAstring(std::string& out, std::string_view s, bool allow8bit) {
  if (!s.empty() && isAtom(s) && !(s.size() == 3 && (s[0] | 0x20) == 'n' && (s[1] | 0x20) == 'i' &&
                                   (s[2] | 0x20) == 'l')) {
    out.append(s);
    return;
  }
  appendString(out, s, allow8bit);
}

void appendNString(std::string& out, const std::optional<std::string_view>& s, bool allow8bit) {
  if (!s) {
    out += "NIL";
    return;
  }
  appendString(out, *s, allow8bit);
}

std::string formatSequenceSet(std::vector<uint32_t> numbers) {
  std::sort(numbers.begin(), numbers.end());
  numbers.erase(std::unique(numbers.begin(), numbers.end()), numbers.end());
  std::string out;
  size_t i = 0;
  while (i < numbers.size() && numbers[i] == 0) ++i;  // 0 is no message number
  while (i < numbers.size()) {
    size_t j = i;
    while (j + 1 < numbers.size() && numbers[j + 1] == numbers[j] + 1) ++j;
    if (!out.empty()) out += ',';
    out += std::to_string(numbers[i]);
    if (j > i) {
      out += ':';
      out += std::to_string(numbers[j]);
    }
    i = j + 1;
  }
  return out;
}

std::string formatDateTime(const DateTime& dt) {
  static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  int32_t off = std::clamp<int32_t>(dt.tzOffsetMinutes, -(99 * 60 + 59), 99 * 60 + 59);
  int64_t local = dt.unixSeconds + int64_t{off} * 60;
  int64_t days = local >= 0 ? local / 86400 : (local - 86399) / 86400;
  int64_t secs = local - days * 86400;
  int64_t y = 0;
  unsigned m = 1, d = 1;
  civilFromDays(days, y, m, d);
  y = std::clamp<int64_t>(y, 0, 9999);  // date-year is 4DIGIT
  char sign = off < 0 ? '-' : '+';
  int32_t a = off < 0 ? -off : off;
  char buf[64];
  std::snprintf(buf, sizeof buf, "\"%02u-%s-%04lld %02lld:%02lld:%02lld %c%02d%02d\"", d, kMonths[m - 1],
                static_cast<long long>(y), static_cast<long long>(secs / 3600),
                static_cast<long long>(secs / 60 % 60), static_cast<long long>(secs % 60), sign, a / 60,
                a % 60);
  return buf;
}

}  // namespace tern::imap
