// SORT / UID SORT (RFC 5256, RFC 5957, ESORT's RETURN of RFC 5267) and THREAD parsing: a table of
// wire inputs and the commands they must produce, and malformed forms that must be refused.
#include <gtest/gtest.h>

#include "imap/protocol/parser.h"

using namespace tern::imap;

namespace {

using SK = SearchKey::Kind;
using CK = SortCriterion::Key;

SearchKey andOf(std::vector<SearchKey> keys) { return SearchKey{.kind = SK::And, .children = std::move(keys)}; }
SearchKey key(SK k) { return SearchKey{.kind = k}; }
SearchKey text(SK k, std::string t) { return SearchKey{.kind = k, .text = std::move(t)}; }

struct Case {
  const char* wire;
  CommandBody expected;
};

TEST(SortThreadParser, ParsesForms) {
  const Case cases[] = {
      {"a SORT (SUBJECT) UTF-8 ALL\r\n", Sort{.criteria = {{CK::Subject}}, .charset = "UTF-8", .key = andOf({key(SK::All)})}},
      {"a UID SORT (REVERSE DATE from DisplayFrom displayto ARRIVAL CC SIZE TO) US-ASCII SEEN FROM \"x y\"\r\n",
       Sort{.uid = true,
            .criteria = {{CK::Date, true}, {CK::From}, {CK::DisplayFrom}, {CK::DisplayTo}, {CK::Arrival}, {CK::Cc},
                         {CK::Size}, {CK::To}},
            .charset = "US-ASCII",
            .key = andOf({key(SK::Seen), text(SK::From, "x y")})}},
      {"a SORT RETURN (MIN COUNT) (SIZE) \"utf-8\" ALL\r\n",
       Sort{.criteria = {{CK::Size}}, .charset = "utf-8", .key = andOf({key(SK::All)}), .esearch = true,
            .returnOptions = {"MIN", "COUNT"}}},
      {"a THREAD REFERENCES UTF-8 ALL\r\n",
       Thread{.algorithm = Thread::Algorithm::References, .charset = "UTF-8", .key = andOf({key(SK::All)})}},
      {"a UID THREAD orderedsubject UTF-8 SUBJECT hi UNSEEN\r\n",
       Thread{.uid = true, .algorithm = Thread::Algorithm::OrderedSubject, .charset = "UTF-8",
              .key = andOf({text(SK::Subject, "hi"), key(SK::Unseen)})}},
  };
  for (const auto& c : cases) {
    auto r = parseCommand(c.wire);
    ASSERT_TRUE(r.ok()) << c.wire << " -> " << r.error().text;
    EXPECT_EQ(r->tag, "a") << c.wire;
    EXPECT_TRUE(r->body == c.expected) << c.wire;
  }
}

TEST(SortThreadParser, RejectsMalformed) {
  for (const char* wire : {
           "a SORT SUBJECT UTF-8 ALL\r\n",          // criteria must be a list
           "a SORT () UTF-8 ALL\r\n",               // at least one criterion
           "a SORT (REVERSE) UTF-8 ALL\r\n",        // REVERSE needs a key
           "a SORT (SUBJECT BOGUS) UTF-8 ALL\r\n",  // unknown key
           "a SORT (SUBJECT) ALL\r\n",              // charset is mandatory: ALL is read as one, no key
           "a SORT (SUBJECT) UTF-8\r\n",            // no search key
           "a SORT RETURN (FOO) (SUBJECT) UTF-8 ALL\r\n",
           "a THREAD UTF-8 ALL\r\n",                // no algorithm
           "a THREAD XYZ UTF-8 ALL\r\n",
           "a THREAD REFERENCES UTF-8\r\n",
       }) {
    EXPECT_FALSE(parseCommand(wire).ok()) << wire;
  }
}

}  // namespace
