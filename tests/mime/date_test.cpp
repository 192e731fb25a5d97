#include "mime/date.h"

#include <gtest/gtest.h>

using namespace tern::mime;

namespace {
// Unix time of a UTC civil time, computed independently of the parser's arithmetic via timegm.
int64_t utc(int y, int mo, int d, int h, int mi, int s) {
  struct tm t = {};
  t.tm_year = y - 1900;
  t.tm_mon = mo - 1;
  t.tm_mday = d;
  t.tm_hour = h;
  t.tm_min = mi;
  t.tm_sec = s;
  return static_cast<int64_t>(timegm(&t));
}
}  // namespace

TEST(Date, Forms) {
  struct Case {
    const char* in;
    int64_t unix;
    int zone;
  } cases[] = {
      {"Fri, 21 Nov 1997 09:55:06 -0600", utc(1997, 11, 21, 15, 55, 6), -360},
      {"Tue, 1 Jul 2003 10:52:37 +0200", utc(2003, 7, 1, 8, 52, 37), 120},
      {"21 Nov 97 09:55:06 GMT", utc(1997, 11, 21, 9, 55, 6), 0},           // obs-year, named zone
      {"Thu,\r\n      13\r\n        Feb\r\n          1969\r\n      23:32\r\n               -0330 (Newfoundland Time)",
       utc(1969, 2, 14, 3, 2, 0), -210},                                     // RFC 5322 A.6.3
      {"Mon, 5 Jan 24 10:00 EST", utc(2024, 1, 5, 15, 0, 0), -300},
      {"2 Jan 2024 03:04:05 -0500", utc(2024, 1, 2, 8, 4, 5), -300},
      {"Tue Jul  7 02:44:25 1996", utc(1996, 7, 7, 2, 44, 25), 0},          // asctime
      {"2024-03-01T12:30:00Z", utc(2024, 3, 1, 12, 30, 0), 0},
      {"2024-03-01T12:30:00+01:00", utc(2024, 3, 1, 11, 30, 0), 60},
      {"Wednesday, 17 July 1996 02:44:25 PDT", utc(1996, 7, 17, 9, 44, 25), -420},
      {"17 Jul 1996 02:44:25 +0000 (UTC)", utc(1996, 7, 17, 2, 44, 25), 0},
      {"Sat, 01 Jan 2000 00:00:00", utc(2000, 1, 1, 0, 0, 0), 0},            // no zone
      {"1 Jan 2000", utc(2000, 1, 1, 0, 0, 0), 0},                           // no time
      {"Fri, 21 Nov 1997 09.55.06 +0100", utc(1997, 11, 21, 8, 55, 6), 60},
  };
  for (const auto& c : cases) {
    auto d = parseDate(c.in);
    ASSERT_TRUE(d.has_value()) << c.in;
    EXPECT_EQ(d->unixTime, c.unix) << c.in;
    EXPECT_EQ(d->zoneMinutes, c.zone) << c.in;
  }
}

TEST(Date, Unreadable) {
  for (const char* in : {"", "yesterday", "31 Feb 2020 10:00:00 +0000", "Mon, 32 Jan 2020", "12:00:00",
                         "Jan 2020"})
    EXPECT_FALSE(parseDate(in).has_value()) << in;
}
