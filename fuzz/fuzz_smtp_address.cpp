// Fuzzes RFC 5321 path/mailbox parsing and xtext: limits hold on every accepted address, the exact
// and canonical forms re-parse to the same value, relay flags agree with the local part, and xtext
// encoding round-trips.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "smtp/protocol/address.h"
#include "smtp/protocol/xtext.h"

using namespace tern::smtp;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  AddressOptions o;
  o.allowUtf8 = data[0] & 1;
  o.allowNull = data[0] & 2;
  o.allowPostmaster = data[0] & 4;
  std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);

  size_t used = 0;
  auto p = parsePath(text, used, o);
  if (p.ok()) {
    if (used == 0 || used > text.size() || used > kMaxPathLength || text[used - 1] != '>') abort();
    if (p->isNull() && !o.allowNull) abort();
    if (p->postmaster && !o.allowPostmaster) abort();
    if (p->mailbox) {
      const Mailbox& m = *p->mailbox;
      if (m.localPart.size() > kMaxLocalPartLength) abort();
      if (m.utf8 && !o.allowUtf8) abort();
      if (m.hasPercent != (m.localContent.find('%') != std::string::npos)) abort();
      if (m.hasBang != (m.localContent.find('!') != std::string::npos)) abort();
      if (m.hasQuotedAt && !m.quoted) abort();
      auto again = parseMailbox(m.address(), o);
      if (!again.ok() || *again != m) abort();
      auto canon = parseMailbox(m.normalised(), o);
      if (canon.ok() && (canon->localContent != m.localContent ||
                         canon->localNormalised != m.localNormalised))
        abort();
    }
  }
  (void)parseDomainOrLiteral(text, o.allowUtf8, data[0] & 8);

  auto decoded = xtextDecode(text);
  if (decoded) {
    auto re = xtextDecode(xtextEncode(*decoded));
    if (!re || *re != *decoded) abort();
  }
  auto enc = xtextEncode(text);
  auto dec = xtextDecode(enc);
  if (!dec || *dec != text) abort();
  auto u = utf8AddrXtextDecode(text, o.allowUtf8);
  if (u && !isValidUtf8(*u) && o.allowUtf8 && text.find('+') == std::string_view::npos) abort();
  return 0;
}
