// Fuzzes parseSequenceSet and its use inside commands, and checks formatSequenceSet round trips:
// any set that parses, once expanded (small ones only), formats and re-parses to the same numbers.
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "imap/protocol/parser.h"
#include "imap/protocol/response.h"

using namespace tern::imap;

namespace {

// Expands a set without '*' into sorted unique numbers; false if too large to bother.
bool expand(const SequenceSet& s, std::vector<uint32_t>& out) {
  uint64_t total = 0;
  for (const auto& r : s.ranges) {
    if (r.first == 0 || r.last == 0) return false;
    uint32_t lo = std::min(r.first, r.last), hi = std::max(r.first, r.last);
    total += uint64_t{hi} - lo + 1;
    if (total > 100000) return false;
    for (uint64_t n = lo; n <= hi; ++n) out.push_back(static_cast<uint32_t>(n));
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto r = parseSequenceSet(text);
  if (!r.ok()) {
    if (r.error().tag != "*") abort();
    return 0;
  }
  // A valid set is valid inside a command, and means the same there.
  auto cmd = parseCommand("a UID FETCH " + std::string(text) + " UID\r\n");
  if (!cmd.ok() || std::get<Fetch>(cmd->body).set != *r) abort();
  if (r->savedResult) {
    if (!r->ranges.empty()) abort();
    return 0;
  }
  std::vector<uint32_t> numbers;
  if (!expand(*r, numbers)) return 0;
  std::string formatted = formatSequenceSet(numbers);
  auto again = parseSequenceSet(formatted);
  if (!again.ok()) abort();
  std::vector<uint32_t> numbers2;
  if (!expand(*again, numbers2) || numbers != numbers2) abort();
  if (formatSequenceSet(numbers2) != formatted) abort();
  return 0;
}
