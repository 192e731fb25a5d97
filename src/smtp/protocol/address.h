// RFC 5321 Path and Mailbox parsing (with RFC 6531 UTF-8 when SMTPUTF8 is in effect).
// Handles untrusted bytes: strict RFC 5321 grammar, no backtracking, lengths limited (local part 64,
// domain 255, path 256 octets); reports '%', '!', quoted '@' and source routes for relay checks.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "util/result.h"

namespace tern::smtp {

inline constexpr size_t kMaxLocalPartLength = 64;   // RFC 5321 4.5.3.1.1
inline constexpr size_t kMaxDomainLength = 255;     // RFC 5321 4.5.3.1.2
inline constexpr size_t kMaxPathLength = 256;       // RFC 5321 4.5.3.1.3, brackets included

enum class DomainKind {
  Name,  // a (possibly UTF-8) domain name
  Ipv4,  // [192.0.2.1]
  Ipv6,  // [IPv6:2001:db8::1]
};

struct Mailbox {
  std::string localPart;        // exactly as sent, quotes and backslashes included
  std::string localContent;     // the value: quotes and quoted-pair backslashes removed
  std::string localNormalised;  // canonical wire form (RFC 5321 4.1.2): a Dot-string when the value
                                // allows, else a Quoted-string with only the necessary escapes.
                                // Case is kept: local parts are case-sensitive on the wire.
  std::string domain;           // as sent; address literals with their brackets
  std::string domainNormalised; // ASCII letters lower-cased (U-labels are left as they are)
  DomainKind domainKind = DomainKind::Name;
  bool quoted = false;          // the local part was a Quoted-string
  bool utf8 = false;            // local part or domain has non-ASCII (needs SMTPUTF8)

  // Relay-trick indicators on the local part's value: "user%other@us", "other!user@us",
  // "\"user@other\"@us". The session refuses these for non-local routing (or entirely).
  bool hasPercent = false;
  bool hasBang = false;
  bool hasQuotedAt = false;
  bool routingTrick() const { return hasPercent || hasBang || hasQuotedAt; }

  std::string address() const { return localPart + "@" + domain; }                    // as sent
  std::string normalised() const { return localNormalised + "@" + domainNormalised; }  // canonical
  bool operator==(const Mailbox&) const = default;
};

// A reverse-path or forward-path: "<>" (null sender), "<Postmaster>", or "<[route:]mailbox>".
struct Path {
  std::optional<Mailbox> mailbox;  // empty for "<>" and for the bare "<Postmaster>"
  bool postmaster = false;         // the forward path "<Postmaster>" without domain (RFC 5321 4.5.1)
  bool sourceRoute = false;        // an A-d-l ("@a,@b:") was present; it was discarded (appendix C)
  bool isNull() const { return !mailbox && !postmaster; }
  bool operator==(const Path&) const = default;
};

enum class AddressError {
  Syntax,            // not RFC 5321 syntax
  LocalPartTooLong,  // > 64 octets
  DomainTooLong,     // > 255 octets (or a label > 63)
  PathTooLong,       // > 256 octets
  Utf8NotAllowed,    // non-ASCII without SMTPUTF8 (553 5.6.7)
  NullNotAllowed,    // "<>" as a forward path
};

struct AddressOptions {
  bool allowUtf8 = false;  // SMTPUTF8 in effect (RFC 6531): UTF-8 in local part and domain labels
  bool allowNull = false;  // "<>" accepted (reverse path)
  bool allowPostmaster = false;  // "<Postmaster>" accepted (forward path)
};

// Parses a Path at the start of `text`; on success `consumed` is the number of bytes used (up to and
// including '>'), so the caller can go on with the parameters.
Result<Path, AddressError> parsePath(std::string_view text, size_t& consumed,
                                     const AddressOptions& options = {});
// Parses text that must be exactly one Mailbox (no brackets), e.g. a VRFY argument or ORCPT value.
Result<Mailbox, AddressError> parseMailbox(std::string_view text, const AddressOptions& options = {});
// Parses text that must be exactly a Domain or address literal (EHLO/HELO). allowUnderscore
// tolerates '_' in labels, which some clients send in EHLO host names.
Result<DomainKind, AddressError> parseDomainOrLiteral(std::string_view text, bool allowUtf8 = false,
                                                      bool allowUnderscore = false);

// Short human-readable description, safe to send (contains no client bytes).
std::string_view describe(AddressError error);

}  // namespace tern::smtp
