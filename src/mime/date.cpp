// Date-time parser: tokenizes, then classifies tokens (weekday, day, month, year, time, zone), which
// is what makes the many broken orders seen in real mail readable. Handles untrusted bytes: at most
// kMaxTokens tokens are looked at.
#include "mime/date.h"

#include <string>
#include <vector>

#include "util/strings.h"

namespace tern::mime {

namespace {

constexpr size_t kMaxTokens = 16;

bool isDigit(char c) { return c >= '0' && c <= '9'; }
bool allDigits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s)
    if (!isDigit(c)) return false;
  return true;
}

int monthFromName(std::string_view s) {
  static const char* kMonths[] = {"jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"};
  if (s.size() < 3) return 0;
  std::string l = asciiLowercase(s.substr(0, 3));
  for (int i = 0; i < 12; ++i)
    if (l == kMonths[i]) return i + 1;
  return 0;
}

bool isWeekday(std::string_view s) {
  static const char* kDays[] = {"mon", "tue", "wed", "thu", "fri", "sat", "sun"};
  if (s.size() < 3) return false;
  std::string l = asciiLowercase(s.substr(0, 3));
  for (const char* d : kDays)
    if (l == d) return true;
  return false;
}

std::optional<int> namedZone(std::string_view s) {
  std::string z = asciiUppercase(s);
  static const std::pair<const char*, int> kZones[] = {
      {"UT", 0},       {"UTC", 0},      {"GMT", 0},      {"Z", 0},        {"EST", -300}, {"EDT", -240},
      {"CST", -360},   {"CDT", -300},   {"MST", -420},   {"MDT", -360},   {"PST", -480}, {"PDT", -420},
      {"CET", 60},     {"CEST", 120},   {"BST", 60},     {"MET", 60},     {"MEST", 120}, {"JST", 540},
      {"IST", 330},    {"EET", 120},    {"EEST", 180},   {"WET", 0},      {"WEST", 60},  {"AEST", 600},
  };
  for (const auto& [name, off] : kZones)
    if (z == name) return off;
  if (z.size() == 1 && z[0] >= 'A' && z[0] <= 'Z' && z[0] != 'J') return 0;  // military: RFC 5322 says 0
  return std::nullopt;
}

// "+hhmm", "-hhmm", "+hh:mm", "+hh".
std::optional<int> numericZone(std::string_view s) {
  if (s.size() < 2 || (s[0] != '+' && s[0] != '-')) return std::nullopt;
  int sign = s[0] == '-' ? -1 : 1;
  std::string digits;
  for (char c : s.substr(1)) {
    if (isDigit(c))
      digits += c;
    else if (c != ':')
      return std::nullopt;
  }
  if (digits.size() == 2) digits += "00";
  if (digits.size() != 4) return std::nullopt;
  int hh = (digits[0] - '0') * 10 + (digits[1] - '0');
  int mm = (digits[2] - '0') * 10 + (digits[3] - '0');
  if (hh > 23 || mm > 59) return std::nullopt;
  return sign * (hh * 60 + mm);
}

// "hh:mm[:ss]" (also with '.' separators); -1 when not a time.
bool parseTime(std::string_view s, int& h, int& m, int& sec) {
  int parts[3] = {0, 0, 0};
  int n = 0;
  size_t i = 0;
  while (i < s.size() && n < 3) {
    size_t start = i;
    while (i < s.size() && isDigit(s[i])) ++i;
    if (i == start || i - start > 2) return false;
    parts[n++] = std::stoi(std::string(s.substr(start, i - start)));
    if (i == s.size()) break;
    if (s[i] != ':' && s[i] != '.') return false;
    ++i;
  }
  if (n < 2 || i != s.size()) return false;
  h = parts[0];
  m = parts[1];
  sec = parts[2];
  return h <= 23 && m <= 59 && sec <= 60;
}

}  // namespace

int64_t daysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

std::optional<Date> parseDate(std::string_view value) {
  // Tokenize: drop comments; split on space, tab, comma; split ISO "2024-01-05T10:00:00Z".
  std::vector<std::string> toks;
  std::string cur;
  int comment = 0;
  auto push = [&] {
    if (!cur.empty() && toks.size() < kMaxTokens) toks.push_back(cur);
    cur.clear();
  };
  for (char c : value) {
    if (comment > 0) {
      if (c == '(') ++comment;
      if (c == ')') --comment;
      continue;
    }
    if (c == '(') {
      push();
      comment = 1;
    } else if (c == ' ' || c == '\t' || c == ',' || c == '\r' || c == '\n') {
      push();
    } else {
      cur += c;
    }
  }
  push();

  int day = -1, month = 0, h = -1, mi = 0, s = 0;
  int64_t year = -1;
  int zone = 0;
  bool haveZone = false;
  for (size_t i = 0; i < toks.size(); ++i) {
    std::string t = toks[i];
    // ISO 8601: 2024-01-05 or 2024-01-05T10:20:30Z / +01:00
    if (t.size() >= 10 && allDigits(t.substr(0, 4)) && t[4] == '-' && allDigits(t.substr(5, 2)) && t[7] == '-' &&
        allDigits(t.substr(8, 2))) {
      year = std::stoi(t.substr(0, 4));
      month = std::stoi(t.substr(5, 2));
      day = std::stoi(t.substr(8, 2));
      if (t.size() > 11 && (t[10] == 'T' || t[10] == 't')) {
        std::string rest = t.substr(11);
        size_t zpos = rest.find_first_of("Zz+-");
        std::string timePart = rest.substr(0, zpos);
        if (parseTime(timePart, h, mi, s) && zpos != std::string::npos) {
          std::string z = rest.substr(zpos);
          if (z == "Z" || z == "z") {
            haveZone = true;
          } else if (auto off = numericZone(z)) {
            zone = *off;
            haveZone = true;
          }
        }
      }
      continue;
    }
    if (month == 0 && monthFromName(t) && !allDigits(t)) {
      month = monthFromName(t);
      continue;
    }
    if (isWeekday(t) && month == 0 && day < 0) continue;
    int th, tm, ts;
    if (h < 0 && t.find_first_of(":.") != std::string::npos && parseTime(t, th, tm, ts)) {
      h = th;
      mi = tm;
      s = ts;
      continue;
    }
    if (auto z = numericZone(t); z && h >= 0 && !haveZone) {
      zone = *z;
      haveZone = true;
      continue;
    }
    if (allDigits(t) && t.size() <= 9) {
      int64_t n = std::stoll(t);
      if (day < 0 && t.size() <= 2 && n >= 1 && n <= 31 && (year < 0 || month != 0)) {
        day = static_cast<int>(n);
      } else if (year < 0) {
        year = n;
        if (t.size() <= 2) year += n < 50 ? 2000 : 1900;  // RFC 5322 section 4.3
        else if (t.size() == 3) year += 1900;
      }
      continue;
    }
    if (h >= 0 && !haveZone) {
      if (auto z = namedZone(t)) {
        zone = *z;
        haveZone = true;
      }
    }
  }
  if (day < 1 || month < 1 || month > 12 || year < 1 || year > 9999) return std::nullopt;
  if (h < 0) h = 0;  // a date without a time is still a date
  static const int kDaysIn[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (day > kDaysIn[month - 1]) return std::nullopt;
  Date d;
  d.zoneMinutes = zone;
  d.unixTime = daysFromCivil(year, static_cast<unsigned>(month), static_cast<unsigned>(day)) * 86400 + h * 3600 +
               mi * 60 + s - static_cast<int64_t>(zone) * 60;
  return d;
}

}  // namespace tern::mime
