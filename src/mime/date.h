// RFC 5322 date-time parsing (Date: header) for SORT by DATE and the SEARCH SENTBEFORE family:
// strict syntax, obsolete forms, and common broken ones (no weekday, 2-digit years, named zones,
// asctime order, ISO 8601). Pure; handles untrusted header text; fixed-size work.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace tern::mime {

struct Date {
  int64_t unixTime = 0;  // the instant, seconds since 1970-01-01T00:00:00Z
  int zoneMinutes = 0;   // the sender's offset from UTC (+0200 = 120); 0 for "-0000" or unknown
  bool operator==(const Date&) const = default;
};

// nullopt when no plausible date can be read (then RFC 5256 says SORT uses the internal date).
std::optional<Date> parseDate(std::string_view value);

// Days since 1970-01-01 of a proleptic Gregorian civil date.
int64_t daysFromCivil(int64_t year, unsigned month, unsigned day);

}  // namespace tern::mime
