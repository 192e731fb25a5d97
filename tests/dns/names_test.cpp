// Tests of the DNS module's pure helpers: host name validation, IP literals, resolver server notation
// and the MX rdata decoder (malformed wire data included). Table-driven; no network.
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "dns/names.h"

namespace tern::dns {
namespace {

struct NameCase {
  std::string input;
  std::optional<std::string> expected;
};

TEST(NormalizeHostName, Table) {
  const std::string label63(63, 'a');
  const std::string label64(64, 'a');
  // 4 labels of 63 + 3 dots = 255 > 253; 3 labels of 63 + one of 61 + 3 dots = 253.
  const std::string name253 = label63 + "." + label63 + "." + label63 + "." + std::string(61, 'b');
  const std::string name254 = label63 + "." + label63 + "." + label63 + "." + std::string(62, 'b');
  const std::vector<NameCase> cases = {
      {"example.com", "example.com"},
      {"Example.COM.", "example.com"},          // case folded, root dot dropped
      {"mx-1.example.net", "mx-1.example.net"},
      {"xn--bcher-kva.example", "xn--bcher-kva.example"},  // IDN A-label
      {"localhost", "localhost"},               // single label
      {"3com.example", "3com.example"},         // digits allowed in leading labels
      {label63 + ".test", label63 + ".test"},
      {name253, name253},
      {"", std::nullopt},
      {".", std::nullopt},
      {"example..com", std::nullopt},           // empty label
      {".example.com", std::nullopt},
      {"example.com..", std::nullopt},
      {"-bad.example", std::nullopt},           // leading hyphen
      {"bad-.example", std::nullopt},           // trailing hyphen
      {"under_score.example", std::nullopt},    // not LDH
      {"sp ace.example", std::nullopt},
      {"bücher.example", std::nullopt},         // U-label: must arrive as an A-label
      {"192.0.2.1", std::nullopt},              // an IP address is not a name
      {"example.123", std::nullopt},            // all-numeric top label
      {label64 + ".test", std::nullopt},
      {name254, std::nullopt},
      {std::string("nul\0l.test", 10), std::nullopt},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(normalizeHostName(c.input), c.expected) << "input: " << c.input;
  }
}

TEST(ParseIpLiteral, Table) {
  const std::vector<NameCase> cases = {
      {"192.0.2.1", "192.0.2.1"},
      {"2001:DB8:0:0::1", "2001:db8::1"},   // canonical text
      {"::1", "::1"},
      {"[192.0.2.1]", "192.0.2.1"},         // RFC 5321 address literal
      {"[IPv6:2001:db8::1]", "2001:db8::1"},
      {"[ipv6:::1]", "::1"},
      {"[2001:db8::1]", "2001:db8::1"},
      {"[IPv6:192.0.2.1]", std::nullopt},   // the IPv6 tag needs an IPv6 address
      {"192.0.2", std::nullopt},
      {"192.0.2.256", std::nullopt},
      {"example.com", std::nullopt},
      {"[192.0.2.1", std::nullopt},
      {"", std::nullopt},
      {"[]", std::nullopt},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(parseIpLiteral(c.input), c.expected) << "input: " << c.input;
  }
}

TEST(NormalizeServerAddress, Table) {
  const std::vector<NameCase> cases = {
      {"192.0.2.53", "192.0.2.53"},
      {"127.0.0.1@5353", "127.0.0.1@5353"},
      {"127.0.0.1:5353", "127.0.0.1@5353"},
      {"::1", "::1"},
      {"::1@5353", "::1@5353"},
      {"[::1]:5353", "::1@5353"},
      {"[2001:db8::53]", "2001:db8::53"},
      {"127.0.0.1@0", std::nullopt},
      {"127.0.0.1@65536", std::nullopt},
      {"127.0.0.1:", std::nullopt},
      {"127.0.0.1@53x", std::nullopt},
      {"[127.0.0.1]:53", std::nullopt},     // brackets are for IPv6
      {"[::1]53", std::nullopt},
      {"[::1", std::nullopt},
      {"dns.example", std::nullopt},       // a name would need a resolver to find the resolver
      {"dns.example:53", std::nullopt},
      {"", std::nullopt},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(normalizeServerAddress(c.input), c.expected) << "input: " << c.input;
  }
}

std::vector<uint8_t> mxRdata(uint16_t pref, const std::vector<std::string>& labels) {
  std::vector<uint8_t> out = {static_cast<uint8_t>(pref >> 8), static_cast<uint8_t>(pref & 0xff)};
  for (const auto& l : labels) {
    out.push_back(static_cast<uint8_t>(l.size()));
    out.insert(out.end(), l.begin(), l.end());
  }
  out.push_back(0);
  return out;
}

TEST(ParseMxRdata, WellFormed) {
  auto mx = parseMxRdata(mxRdata(10, {"MX1", "Example", "net"}));
  ASSERT_TRUE(mx.has_value());
  EXPECT_EQ(mx->preference, 10);
  EXPECT_EQ(mx->host, "mx1.example.net");

  auto high = parseMxRdata(mxRdata(0xfffe, {"a", "b"}));
  ASSERT_TRUE(high.has_value());
  EXPECT_EQ(high->preference, 0xfffe);
  EXPECT_EQ(high->host, "a.b");
}

TEST(ParseMxRdata, NullMxIsEmptyHost) {
  // RFC 7505 section 3: preference 0, exchange "." (a single zero octet).
  auto mx = parseMxRdata(std::vector<uint8_t>{0, 0, 0});
  ASSERT_TRUE(mx.has_value());
  EXPECT_EQ(mx->preference, 0);
  EXPECT_TRUE(mx->host.empty());
}

TEST(ParseMxRdata, MalformedIsRejected) {
  auto good = mxRdata(10, {"mx", "test"});
  auto trailing = good;
  trailing.push_back(0);
  auto truncated = good;
  truncated.pop_back();  // no root label
  std::vector<uint8_t> overLong = {0, 10, 5, 'a', 'b'};  // label says 5, only 2 follow
  std::vector<uint8_t> pointer = {0, 10, 2, 'm', 'x', 0xc0, 0x0c};  // compression pointer
  std::vector<uint8_t> reserved = {0, 10, 0x41, 'a', 0};            // 0x40 label type
  std::vector<uint8_t> longName = {0, 10};
  for (int i = 0; i < 5; ++i) {  // 5 x (1 + 63) = 320 octets > 255
    longName.push_back(63);
    longName.insert(longName.end(), 63, 'a');
  }
  longName.push_back(0);
  const std::vector<std::vector<uint8_t>> cases = {
      {},
      {0},
      {0, 10},  // preference only
      trailing,
      truncated,
      overLong,
      pointer,
      reserved,
      longName,
      mxRdata(10, {"bad_name", "test"}),  // not a host name
      mxRdata(10, {"a.b", "test"}),       // a dot inside a label
      mxRdata(10, {"192", "0", "2", "1"}),  // an IP address written as a name
      mxRdata(10, {"-x", "test"}),
  };
  for (std::size_t i = 0; i < cases.size(); ++i) {
    EXPECT_FALSE(parseMxRdata(cases[i]).has_value()) << "case " << i;
  }
}

}  // namespace
}  // namespace tern::dns
