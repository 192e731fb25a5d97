// addressInNetworks / validateNetwork: IPv4 and IPv6 CIDR matching, plain addresses, IPv4-mapped
// IPv6 on either side, prefix edge cases, and malformed input.
#include "net/address.h"

#include <gtest/gtest.h>

namespace tern::net {
namespace {

struct Case {
  const char* ip;
  std::vector<std::string> networks;
  bool expected;
};

TEST(AddressInNetworks, Table) {
  const Case cases[] = {
      // IPv4 prefixes
      {"10.1.2.3", {"10.0.0.0/8"}, true},
      {"11.1.2.3", {"10.0.0.0/8"}, false},
      {"192.168.1.77", {"192.168.1.64/26"}, true},   // .64-.127
      {"192.168.1.128", {"192.168.1.64/26"}, false},
      {"192.168.1.63", {"192.168.1.64/26"}, false},
      {"172.31.255.255", {"172.16.0.0/12"}, true},   // 172.16-172.31
      {"172.32.0.0", {"172.16.0.0/12"}, false},
      {"8.8.8.8", {"0.0.0.0/0"}, true},
      {"127.0.0.1", {"127.0.0.1"}, true},            // plain address = /32
      {"127.0.0.2", {"127.0.0.1"}, false},
      {"127.0.0.2", {"127.0.0.1/32"}, false},
      {"127.0.0.2", {"127.0.0.0/31"}, false},
      {"127.0.0.1", {"127.0.0.0/31"}, true},
      {"10.0.0.1", {"192.168.0.0/16", "10.0.0.0/24"}, true},  // any entry matches
      {"10.0.0.1", {}, false},
      // Host bits set in the network are ignored beyond the prefix.
      {"10.9.9.9", {"10.1.2.3/8"}, true},
      // IPv6
      {"::1", {"::1"}, true},
      {"::2", {"::1"}, false},
      {"::1", {"::1/128"}, true},
      {"fd12:3456::1", {"fd00::/8"}, true},
      {"fe80::1", {"fd00::/8"}, false},
      {"2001:db8:abcd:12::1", {"2001:db8:abcd::/48"}, true},
      {"2001:db8:abce::1", {"2001:db8:abcd::/48"}, false},
      {"2001:db8::1", {"2001:db8::/33"}, true},
      {"2001:db8:8000::1", {"2001:db8::/33"}, false},  // bit 33 set
      {"2001:db8::1", {"::/0"}, true},
      // The two families never match each other...
      {"127.0.0.1", {"::1"}, false},
      {"::1", {"127.0.0.1"}, false},
      {"1.2.3.4", {"::/0"}, false},
      {"::1", {"0.0.0.0/0"}, false},
      // ...except IPv4-mapped IPv6, which is IPv4 on either side.
      {"::ffff:10.1.2.3", {"10.0.0.0/8"}, true},
      {"::ffff:11.1.2.3", {"10.0.0.0/8"}, false},
      {"::FFFF:127.0.0.1", {"127.0.0.1"}, true},
      {"10.1.2.3", {"::ffff:10.0.0.0/104"}, true},      // /104 = 96 + 8
      {"11.1.2.3", {"::ffff:10.0.0.0/104"}, false},
      {"10.1.2.3", {"::ffff:10.1.2.3"}, true},
      // Malformed peer addresses or networks never match.
      {"", {"0.0.0.0/0"}, false},
      {"localhost", {"0.0.0.0/0"}, false},
      {"10.0.0.1 ", {"10.0.0.0/8"}, false},
      {"10.0.0.1", {"10.0.0.0/33"}, false},
      {"10.0.0.1", {"10.0.0.0/"}, false},
      {"10.0.0.1", {"10.0.0.0/-1"}, false},
      {"10.0.0.1", {"10.0.0.0/8/8"}, false},
      {"10.0.0.1", {"10.0.0/8"}, false},
      {"::1", {"::/129"}, false},
      {"10.0.0.1", {"::ffff:10.0.0.0/95"}, false},
      {"10.0.0.1", {"bogus", "10.0.0.1"}, true},  // a bad entry does not hide good ones
  };
  for (const auto& c : cases) {
    std::string nets;
    for (const auto& n : c.networks) nets += n + " ";
    EXPECT_EQ(addressInNetworks(c.ip, c.networks), c.expected) << c.ip << " in [ " << nets << "]";
  }
}

TEST(ValidateNetwork, AcceptsAddressesAndPrefixesOnly) {
  for (const char* ok : {"10.0.0.0/8", "127.0.0.1", "::1", "fd00::/8", "0.0.0.0/0", "::/0", "::ffff:10.0.0.0/104"}) {
    EXPECT_TRUE(validateNetwork(ok).ok()) << ok;
  }
  for (const char* bad : {"", "10.0.0.0/33", "::/129", "10/8", "host.example", "10.0.0.0/ 8", "1.2.3.4/08x"}) {
    auto r = validateNetwork(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_NE(r.error().find(std::string("\"") + bad + "\""), std::string::npos) << r.error();
  }
}

}  // namespace
}  // namespace tern::net
