// Pure helpers of the DNS module: host name validation, IP literals, resolver server notation and
// the MX rdata decoder. They see untrusted bytes (names from configuration, rdata from the network);
// every length is checked (labels <= 63, names <= 253 characters, rdata bounds) before use.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "dns/resolver.h"

namespace tern::dns {

// A host or mail domain name in LDH form (letters, digits, inner hyphens; IDN A-labels "xn--" are
// LDH too), at most 253 characters, labels 1..63, one trailing dot allowed. The last label must not
// be all digits (that would be an IP address, not a name). Returns the name in lower case without
// the trailing dot, or nothing.
std::optional<std::string> normalizeHostName(std::string_view name);

// An IP address literal: "192.0.2.1", "2001:db8::1", or the RFC 5321 forms "[192.0.2.1]" and
// "[IPv6:2001:db8::1]" (also "[2001:db8::1]"). Returns the canonical text (inet_ntop), or nothing.
std::optional<std::string> parseIpLiteral(std::string_view text);

// A DNS server as written in configuration: "IP", "IP@PORT", "v4:PORT", "[v6]" or "[v6]:PORT".
// Returns libunbound's notation ("IP" or "IP@PORT"), or nothing when it is not a valid address.
std::optional<std::string> normalizeServerAddress(std::string_view text);

// Decodes one MX rdata (2-byte preference, then an uncompressed wire-format name). Nothing when the
// rdata is malformed (truncated, compression pointer, trailing bytes, over-long name). The exchange
// "." (RFC 7505 null MX) is returned as an empty host; any other exchange must pass
// normalizeHostName, else nothing.
std::optional<MxHost> parseMxRdata(std::span<const uint8_t> rdata);

}  // namespace tern::dns
