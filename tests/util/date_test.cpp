// rfc5322Date: the RFC 5322 3.3 form, in UTC, checked against Python's email.utils.formatdate.
#include "util/date.h"

#include <gtest/gtest.h>

namespace tern {
namespace {

TEST(Rfc5322Date, FormatsInUtc) {
  EXPECT_EQ(rfc5322Date(0), "Thu, 01 Jan 1970 00:00:00 +0000");
  EXPECT_EQ(rfc5322Date(1795685400), "Thu, 26 Nov 2026 09:30:00 +0000");
  EXPECT_EQ(rfc5322Date(951782400), "Tue, 29 Feb 2000 00:00:00 +0000");  // leap day
}

}  // namespace
}  // namespace tern
