// IP address matching against CIDR networks, for "trusted networks" (where plaintext login is allowed)
// and similar policy. Pure functions; the peer address comes from the socket, the networks from config.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "util/result.h"

namespace tern::net {

// True when ip lies in one of cidrs ("10.0.0.0/8", "::1", "fd00::/8"; a plain address is /32 or /128).
// IPv4-mapped IPv6 addresses ("::ffff:10.1.2.3") are matched as the IPv4 address they carry, on both
// sides. Malformed entries never match (use validateNetwork() when loading configuration).
bool addressInNetworks(std::string_view ip, const std::vector<std::string>& cidrs);

// Checks one network entry; the error names the entry and what is wrong with it.
tern::Result<void, std::string> validateNetwork(std::string_view cidr);

}  // namespace tern::net
