// CIDR matching for IPv4 and IPv6 (IPv4-mapped IPv6 folded to IPv4). Parses configuration text and
// peer addresses with inet_pton; prefix lengths are range-checked before use.
#include "net/address.h"

#include <arpa/inet.h>

#include <array>
#include <cstring>
#include <optional>

#include "util/strings.h"

namespace tern::net {
namespace {

struct Ip {
  std::array<unsigned char, 16> bytes{};
  int bits = 0;  // 32 for IPv4, 128 for IPv6
};

constexpr unsigned char kMappedPrefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

std::optional<Ip> parseIp(std::string_view text) {
  if (text.empty() || text.size() > 64) return std::nullopt;
  std::string s(text);
  Ip ip;
  if (inet_pton(AF_INET, s.c_str(), ip.bytes.data()) == 1) {
    ip.bits = 32;
    return ip;
  }
  if (inet_pton(AF_INET6, s.c_str(), ip.bytes.data()) == 1) {
    if (std::memcmp(ip.bytes.data(), kMappedPrefix, sizeof kMappedPrefix) == 0) {
      std::memmove(ip.bytes.data(), ip.bytes.data() + 12, 4);
      std::memset(ip.bytes.data() + 4, 0, 12);
      ip.bits = 32;
      return ip;
    }
    ip.bits = 128;
    return ip;
  }
  return std::nullopt;
}

struct Network {
  Ip base;
  int prefix = 0;
};

std::optional<Network> parseNetwork(std::string_view cidr) {
  auto slash = cidr.find('/');
  auto addr = parseIp(cidr.substr(0, slash));
  if (!addr) return std::nullopt;
  int prefix = addr->bits;
  if (slash != std::string_view::npos) {
    auto p = tern::parseUnsigned(cidr.substr(slash + 1), 128);
    if (!p) return std::nullopt;
    prefix = static_cast<int>(*p);
    // "::ffff:10.0.0.0/104" was folded to IPv4 above: its prefix counts the 96 mapped bits too.
    bool mappedV6 = addr->bits == 32 && cidr.substr(0, slash).find(':') != std::string_view::npos;
    if (mappedV6) {
      if (prefix < 96) return std::nullopt;
      prefix -= 96;
    }
    if (prefix > addr->bits) return std::nullopt;
  }
  return Network{*addr, prefix};
}

bool contains(const Network& net, const Ip& ip) {
  if (net.base.bits != ip.bits) return false;
  int full = net.prefix / 8;
  if (std::memcmp(net.base.bytes.data(), ip.bytes.data(), static_cast<size_t>(full)) != 0) return false;
  int rest = net.prefix % 8;
  if (rest == 0) return true;
  auto mask = static_cast<unsigned char>(0xff << (8 - rest));
  return (net.base.bytes[full] & mask) == (ip.bytes[full] & mask);
}

}  // namespace

bool addressInNetworks(std::string_view ip, const std::vector<std::string>& cidrs) {
  auto addr = parseIp(ip);
  if (!addr) return false;
  for (const auto& c : cidrs) {
    auto net = parseNetwork(c);
    if (net && contains(*net, *addr)) return true;
  }
  return false;
}

tern::Result<void, std::string> validateNetwork(std::string_view cidr) {
  if (parseNetwork(cidr)) return {};
  return tern::unexpected("invalid network \"" + std::string(cidr) +
                          "\": expected an IPv4/IPv6 address with an optional /prefix");
}

}  // namespace tern::net
