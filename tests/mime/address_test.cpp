#include "mime/address.h"

#include <gtest/gtest.h>

using namespace tern::mime;
using K = Address::Kind;

namespace {
// Compact rendering for table comparisons: name|route|mailbox|host, groups as "group:" and ";".
std::string render(const std::vector<Address>& list) {
  std::string out;
  for (const auto& a : list) {
    if (!out.empty()) out += " ";
    if (a.kind == K::GroupStart)
      out += "[" + a.mailbox + ":";
    else if (a.kind == K::GroupEnd)
      out += ";]";
    else
      out += "{" + (a.hasName ? a.name : std::string("NIL")) + "|" + a.route + "|" + a.mailbox + "|" + a.host + "}";
  }
  return out;
}
}  // namespace

// RFC 5322 appendix A forms plus obsolete and broken ones.
TEST(AddressList, Table) {
  struct Case {
    std::string in, out;
  } cases[] = {
      {"John Doe <jdoe@machine.example>", "{John Doe||jdoe|machine.example}"},
      {"\"Joe Q. Public\" <john.q.public@example.com>", "{Joe Q. Public||john.q.public|example.com}"},
      {"Mary Smith <mary@x.test>, jdoe@example.org, Who? <one@y.test>",
       "{Mary Smith||mary|x.test} {NIL||jdoe|example.org} {Who?||one|y.test}"},
      {"<boss@nil.test>, \"Giant; \\\"Big\\\" Box\" <sysservices@example.net>",
       "{NIL||boss|nil.test} {Giant; \"Big\" Box||sysservices|example.net}"},
      {"A Group:Ed Jones <c@a.test>,joe@where.test,John <jdoe@one.test>;",
       "[A Group: {Ed Jones||c|a.test} {NIL||joe|where.test} {John||jdoe|one.test} ;]"},
      {"Undisclosed recipients:;", "[Undisclosed recipients: ;]"},
      {"Pete(A nice \\) chap) <pete(his account)@silly.test(his host)>", "{Pete||pete|silly.test}"},
      {"A Group(Some people)\r\n     :Chris Jones <c@(Chris's host.)public.example>,\r\n         joe@example.org,\r\n"
       "  John <jdoe@one.test> (my dear friend); (the end of the group)",
       "[A Group: {Chris Jones||c|public.example} {NIL||joe|example.org} {John||jdoe|one.test} ;]"},
      {"(Empty list)(start)Hidden recipients  :(nobody(that I know))  ;", "[Hidden recipients: ;]"},
      {"\"john doe\"@example.com", "{NIL||john doe|example.com}"},
      {"\"quoted\\\"local\"@example.com", "{NIL||quoted\"local|example.com}"},
      {"jdoe@example.org (John Doe)", "{John Doe||jdoe|example.org}"},           // obsolete name in comment
      {"<@route.example,@two.example:user@host.example>", "{NIL|@route.example,@two.example|user|host.example}"},
      {"Joe Q. Public <john . q . public @ example . com>", "{Joe Q. Public||john.q.public|example.com}"},
      {"a@b,,c@d, ,", "{NIL||a|b} {NIL||c|d}"},                                  // obs-addr-list empties
      {"user@[192.0.2.1]", "{NIL||user|[192.0.2.1]}"},
      {"=?utf-8?q?J=C3=B6rg?= <j@example.de>", "{=?utf-8?q?J=C3=B6rg?=||j|example.de}"},  // not decoded
      {"john", "{NIL||john|MISSING_DOMAIN}"},
      {"Name Only <>", "{Name Only||MISSING_MAILBOX|MISSING_DOMAIN}"},
      {"Unterminated: a@b", "[Unterminated: {NIL||a|b} ;]"},
      {"\"\" <empty@name.test>", "{||empty|name.test}"},
      {"", ""},
      {"Broken <a@b", "{Broken||a|b}"},
  };
  for (const auto& c : cases) EXPECT_EQ(render(parseAddressList(c.in)), c.out) << c.in;
}

TEST(AddressList, AddrSpecRequotes) {
  auto l = parseAddressList("\"john doe\"@example.com, plain@example.com");
  ASSERT_EQ(l.size(), 2u);
  EXPECT_EQ(l[0].addrSpec(), "\"john doe\"@example.com");
  EXPECT_EQ(l[1].addrSpec(), "plain@example.com");
}

TEST(AddressList, BoundedAndBalanced) {
  std::string many = "G:";
  for (int i = 0; i < 5000; ++i) many += "a" + std::to_string(i) + "@x.test,";
  many += ";";
  auto l = parseAddressList(many);
  ASSERT_EQ(l.size(), kMaxAddresses);
  EXPECT_EQ(l.front().kind, K::GroupStart);
  EXPECT_EQ(l.back().kind, K::GroupEnd);
}
