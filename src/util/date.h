// Dates as mail headers write them.
#pragma once

#include <cstdint>
#include <string>

namespace tern {

// RFC 5322 date-time in UTC: "Thu, 26 Nov 2026 09:30:00 +0000" (Date, Received, DSN fields).
std::string rfc5322Date(int64_t unixTime);

}  // namespace tern
