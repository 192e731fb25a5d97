// RFC 5322 address-list parsing for ENVELOPE and SORT: mailboxes, groups, display names, quoted
// local parts, comments, routes (obs-route) and other obsolete forms. Pure; handles untrusted header
// text; the number of addresses returned is bounded (kMaxAddresses).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace tern::mime {

// One entry of an address list in the flat form IMAP's ENVELOPE uses (RFC 9051 section 7.5.2):
// a group is a GroupStart entry (mailbox = group name), its members, then a GroupEnd entry.
struct Address {
  enum class Kind { Mailbox, GroupStart, GroupEnd };
  Kind kind = Kind::Mailbox;
  std::string name;     // display name as written (quotes and comments removed, RFC 2047 NOT decoded)
  std::string route;    // obsolete source route "@a,@b" (without the trailing ':'), usually empty
  std::string mailbox;  // local part, unquoted; the group name for GroupStart
  std::string host;     // domain; "MISSING_DOMAIN" when the address had none (like Dovecot)
  bool hasName = false;

  // "local@host" (re-quoting the local part when it needs it); empty for group markers.
  std::string addrSpec() const;
  bool operator==(const Address&) const = default;
};

constexpr size_t kMaxAddresses = 1000;

// Parses an unfolded address-list header value. Never fails: unparsable pieces are skipped or kept
// as a best-effort mailbox, so "From: john" gives mailbox "john", host "MISSING_DOMAIN".
std::vector<Address> parseAddressList(std::string_view value);

}  // namespace tern::mime
