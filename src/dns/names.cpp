// Host name validation, IP literals, resolver server notation and the MX rdata decoder.
// Untrusted input (configuration text, rdata from the network): all reads are bounds-checked, names
// are limited to 253 characters and labels to 63, and a malformed value yields nothing.
#include "dns/names.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include "util/strings.h"

namespace tern::dns {
namespace {

constexpr std::size_t kMaxName = 253;  // RFC 1035 2.3.4: 255 octets on the wire = 253 in text
constexpr std::size_t kMaxLabel = 63;

bool isLetterDigit(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

std::optional<std::string> canonicalIp(const std::string& text, int family) {
  unsigned char buf[sizeof(in6_addr)];
  if (inet_pton(family, text.c_str(), buf) != 1) return std::nullopt;
  char out[INET6_ADDRSTRLEN];
  if (inet_ntop(family, buf, out, sizeof(out)) == nullptr) return std::nullopt;
  return std::string(out);
}

std::optional<std::string> canonicalAnyIp(std::string_view text) {
  if (text.empty() || text.size() > INET6_ADDRSTRLEN) return std::nullopt;
  std::string s(text);
  if (auto v4 = canonicalIp(s, AF_INET)) return v4;
  return canonicalIp(s, AF_INET6);
}

bool validPort(std::string_view text) {
  auto port = parseUnsigned(text, 65535);
  return port && *port > 0;
}

}  // namespace

std::optional<std::string> normalizeHostName(std::string_view name) {
  if (!name.empty() && name.back() == '.') name.remove_suffix(1);
  if (name.empty() || name.size() > kMaxName) return std::nullopt;
  std::size_t labelStart = 0;
  bool lastLabelAllDigits = true;
  for (std::size_t i = 0; i <= name.size(); ++i) {
    if (i == name.size() || name[i] == '.') {
      std::string_view label = name.substr(labelStart, i - labelStart);
      if (label.empty() || label.size() > kMaxLabel) return std::nullopt;
      if (label.front() == '-' || label.back() == '-') return std::nullopt;
      lastLabelAllDigits = true;
      for (char c : label) {
        if (!(c >= '0' && c <= '9')) lastLabelAllDigits = false;
      }
      labelStart = i + 1;
      continue;
    }
    if (!isLetterDigit(name[i]) && name[i] != '-') return std::nullopt;
  }
  if (lastLabelAllDigits) return std::nullopt;
  return asciiLowercase(name);
}

std::optional<std::string> parseIpLiteral(std::string_view text) {
  if (text.size() >= 2 && text.front() == '[' && text.back() == ']') {
    std::string_view inner = text.substr(1, text.size() - 2);
    if (istartsWith(inner, "IPv6:")) {
      inner.remove_prefix(5);
      if (inner.size() > INET6_ADDRSTRLEN) return std::nullopt;
      return canonicalIp(std::string(inner), AF_INET6);
    }
    return canonicalAnyIp(inner);
  }
  return canonicalAnyIp(text);
}

std::optional<std::string> normalizeServerAddress(std::string_view text) {
  if (text.empty() || text.size() > 64) return std::nullopt;
  if (text.front() == '[') {  // "[v6]" or "[v6]:port"
    auto close = text.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    if (close + 1 > INET6_ADDRSTRLEN) return std::nullopt;
    auto ip = canonicalIp(std::string(text.substr(1, close - 1)), AF_INET6);
    if (!ip) return std::nullopt;
    std::string_view rest = text.substr(close + 1);
    if (rest.empty()) return ip;
    if (rest.front() != ':' || !validPort(rest.substr(1))) return std::nullopt;
    return *ip + "@" + std::string(rest.substr(1));
  }
  if (auto at = text.find('@'); at != std::string_view::npos) {  // "IP@port"
    auto ip = canonicalAnyIp(text.substr(0, at));
    if (!ip || !validPort(text.substr(at + 1))) return std::nullopt;
    return *ip + "@" + std::string(text.substr(at + 1));
  }
  if (auto colon = text.find(':'); colon != std::string_view::npos &&
                                   text.find(':', colon + 1) == std::string_view::npos) {
    // Exactly one colon: "v4:port" (an IPv6 address has at least two).
    auto ip = canonicalIp(std::string(text.substr(0, colon)), AF_INET);
    if (!ip || !validPort(text.substr(colon + 1))) return std::nullopt;
    return *ip + "@" + std::string(text.substr(colon + 1));
  }
  return canonicalAnyIp(text);
}

std::optional<MxHost> parseMxRdata(std::span<const uint8_t> rdata) {
  if (rdata.size() < 3) return std::nullopt;  // preference + at least the root label
  MxHost mx;
  mx.preference = static_cast<uint16_t>((rdata[0] << 8) | rdata[1]);
  std::string name;
  std::size_t pos = 2;
  std::size_t wireLength = 0;
  while (true) {
    if (pos >= rdata.size()) return std::nullopt;  // ran off the end without the root label
    uint8_t len = rdata[pos++];
    ++wireLength;
    if (len == 0) break;
    if (len > kMaxLabel) return std::nullopt;  // compression pointer (0xC0) or reserved label type
    if (len > rdata.size() - pos) return std::nullopt;
    wireLength += len;
    if (wireLength > 255) return std::nullopt;
    if (!name.empty()) name.push_back('.');
    for (std::size_t i = 0; i < len; ++i) {
      char c = static_cast<char>(rdata[pos + i]);
      // A '.' inside a label would change the name's meaning once written as text.
      if (!isLetterDigit(c) && c != '-') return std::nullopt;
      name.push_back(c);
    }
    pos += len;
  }
  if (pos != rdata.size()) return std::nullopt;  // trailing bytes: not a well-formed MX rdata
  if (name.empty()) return mx;                   // "." : RFC 7505 null MX
  auto host = normalizeHostName(name);
  if (!host) return std::nullopt;
  mx.host = std::move(*host);
  return mx;
}

}  // namespace tern::dns
