// Table-driven tests of parseCommand / parseSequenceSet: wire input -> expected typed command, and
// malformed input -> error with the right tag. Expected values follow the RFC 9051 / 3501 grammar.
#include <gtest/gtest.h>

#include <sstream>

#include "imap/protocol/parser.h"

namespace tern::imap {
namespace {

using FK = FetchAtt::Kind;
using SK = SearchKey::Kind;

// --- builders ---------------------------------------------------------------------------------
SequenceSet seq(std::initializer_list<std::pair<uint32_t, uint32_t>> ranges) {
  SequenceSet s;
  for (auto [a, b] : ranges) s.ranges.push_back({a, b});
  return s;
}
SequenceSet one(uint32_t n) { return seq({{n, n}}); }
SequenceSet saved() {
  SequenceSet s;
  s.savedResult = true;
  return s;
}
SearchKey key(SK k) { return SearchKey{.kind = k}; }
SearchKey text(SK k, std::string t) { return SearchKey{.kind = k, .text = std::move(t)}; }
SearchKey header(std::string f, std::string t) {
  return SearchKey{.kind = SK::Header, .field = std::move(f), .text = std::move(t)};
}
SearchKey date(SK k, int y, int m, int d) { return SearchKey{.kind = k, .date = {y, m, d}}; }
SearchKey num(SK k, uint64_t n) { return SearchKey{.kind = k, .number = n}; }
SearchKey set(SK k, SequenceSet s) { return SearchKey{.kind = k, .set = std::move(s)}; }
SearchKey all(std::vector<SearchKey> c) { return SearchKey{.kind = SK::And, .children = std::move(c)}; }
SearchKey orKey(SearchKey a, SearchKey b) { return SearchKey{.kind = SK::Or, .children = {a, b}}; }
SearchKey notKey(SearchKey a) { return SearchKey{.kind = SK::Not, .children = {a}}; }
FetchAtt att(FK k) { return FetchAtt{.kind = k}; }
FetchAtt body(bool peek, Section s, std::optional<Partial> p = std::nullopt) {
  return FetchAtt{.kind = FK::BodySection, .peek = peek, .section = std::move(s), .partial = p};
}
Section sect(std::vector<uint32_t> part, Section::Text t = Section::Text::None,
             std::vector<std::string> fields = {}) {
  return Section{std::move(part), t, std::move(fields)};
}
Search search(std::vector<SearchKey> keys, bool uid = false) {
  Search s;
  s.uid = uid;
  s.key = all(std::move(keys));
  return s;
}
AppendMessage msg(std::string m, std::vector<std::string> flags = {},
                  std::optional<DateTime> dt = std::nullopt, bool binary = false) {
  return AppendMessage{std::move(flags), dt, std::move(m), binary};
}
std::vector<FetchAtt> fast() { return {att(FK::Flags), att(FK::InternalDate), att(FK::Rfc822Size)}; }

// --- a readable dump for failure messages ------------------------------------------------------
std::string dump(const SequenceSet& s) {
  if (s.savedResult) return "$";
  std::string r;
  for (auto& x : s.ranges) r += std::to_string(x.first) + ":" + std::to_string(x.last) + ",";
  return r;
}
std::string dump(const SearchKey& k) {
  std::ostringstream o;
  o << "K" << int(k.kind) << "{" << k.field << "|" << k.text << "|" << k.date.year << "-" << k.date.month
    << "-" << k.date.day << "|" << k.number << "|" << dump(k.set);
  for (auto& c : k.children) o << " " << dump(c);
  o << "}";
  return o.str();
}
std::string dump(const FetchAtt& a) {
  std::ostringstream o;
  o << "A" << int(a.kind) << (a.peek ? "p" : "") << "[";
  for (auto p : a.section.part) o << p << ".";
  o << int(a.section.text);
  for (auto& f : a.section.fields) o << " " << f;
  o << "]";
  if (a.partial) o << "<" << a.partial->offset << "." << a.partial->length << ">";
  return o.str();
}
struct Dumper {
  std::ostringstream& o;
  void operator()(const Fetch& f) {
    o << "FETCH uid=" << f.uid << " " << dump(f.set) << " cs=" << f.changedSince.value_or(0)
      << " v=" << f.vanished;
    for (auto& a : f.atts) o << " " << dump(a);
  }
  void operator()(const Search& s) {
    o << "SEARCH uid=" << s.uid << " cs=" << s.charset.value_or("-") << " es=" << s.esearch << " "
      << dump(s.key);
    for (auto& r : s.returnOptions) o << " " << r;
  }
  void operator()(const Store& s) {
    o << "STORE " << dump(s.set) << " op=" << int(s.op) << " silent=" << s.silent
      << " unch=" << s.unchangedSince.value_or(0);
    for (auto& f : s.flags) o << " " << f;
  }
  void operator()(const List& l) {
    o << "LIST lsub=" << l.lsub << " ref=" << l.reference;
    for (auto& x : l.selectionOptions) o << " sel:" << x;
    for (auto& x : l.patterns) o << " pat:" << x;
    for (auto& x : l.returnOptions) o << " ret:" << x;
    for (auto& x : l.returnStatus) o << " st:" << x;
  }
  void operator()(const Append& a) {
    o << "APPEND " << a.mailbox;
    for (auto& m : a.messages) {
      o << " [" << m.message.size() << " bin=" << m.binaryLiteral;
      for (auto& f : m.flags) o << " " << f;
      if (m.internalDate) o << " t=" << m.internalDate->unixSeconds << "/" << m.internalDate->tzOffsetMinutes;
      o << "]";
    }
  }
  template <class T>
  void operator()(const T&) {
    o << "(body " << typeid(T).name() << ")";
  }
};

}  // namespace

void PrintTo(const Command& c, std::ostream* os) {
  std::ostringstream o;
  o << "tag=" << c.tag << " ";
  std::visit(Dumper{o}, c.body);
  *os << o.str();
}

namespace {

using namespace std::string_literals;

struct Case {
  std::string wire;
  Command expected;
};

std::vector<Case> goodCases() {
  Select sel{.mailbox = "INBOX"};
  Select exa{.mailbox = "Archive/2024", .readOnly = true, .condstore = true};
  Select qr{.mailbox = "INBOX", .condstore = false};
  qr.qresync = QResyncParams{.uidValidity = 67890007, .modSeq = 20050715194045000ull,
                             .knownUids = seq({{41, 211}, {214, 541}})};
  Select qr2{.mailbox = "INBOX"};
  qr2.qresync = QResyncParams{.uidValidity = 1, .modSeq = 5, .knownUids = std::nullopt,
                              .knownSequenceSet = seq({{1, 3}}), .knownUidSet = seq({{10, 12}})};

  DateTime jul{.unixSeconds = 837596665, .tzOffsetMinutes = -420};  // 17-Jul-1996 02:44:25 -0700
  DateTime feb{.unixSeconds = 1706751000, .tzOffsetMinutes = 60};    // 1-Feb-2024 02:30:00 +0100

  return {
      {"a1 CAPABILITY\r\n", {"a1", Capability{}}},
      {"a2 noop\r\n", {"a2", Noop{}}},
      {"z LOGOUT\r\n", {"z", Logout{}}},
      {"t1 StartTLS\r\n", {"t1", StartTls{}}},
      {"a AUTHENTICATE plain\r\n", {"a", Authenticate{"PLAIN", std::nullopt}}},
      {"a AUTHENTICATE PLAIN AGZvbwBiYXI=\r\n", {"a", Authenticate{"PLAIN", "AGZvbwBiYXI="}}},
      {"a AUTHENTICATE XOAUTH2 =\r\n", {"a", Authenticate{"XOAUTH2", "="}}},
      {"a LOGIN fred secret\r\n", {"a", Login{"fred", "secret"}}},
      {"a LOGIN \"fred smith\" \"p\\\"a\\\\ss\"\r\n", {"a", Login{"fred smith", "p\"a\\ss"}}},
      {"a LOGIN {4}\r\nfr d {6+}\r\npa\"s w\r\n", {"a", Login{"fr d", "pa\"s w"}}},
      {"a LOGIN \"\" \"\"\r\n", {"a", Login{"", ""}}},
      {"a LOGIN jo] x]y\r\n", {"a", Login{"jo]", "x]y"}}},  // ']' is an ASTRING-CHAR
      {"a LOGIN \"J\xc3\xb6rg\" pw\r\n", {"a", Login{"J\xc3\xb6rg", "pw"}}},
      {"a ENABLE condstore utf8=accept\r\n", {"a", Enable{{"CONDSTORE", "UTF8=ACCEPT"}}}},
      {"a ID NIL\r\n", {"a", Id{}}},
      {"a ID (\"name\" \"Thunderbird\" \"version\" NIL)\r\n",
       {"a", Id{{{"name", "Thunderbird"}, {"version", std::nullopt}}}}},
      {"a ID ()\r\n", {"a", Id{}}},
      {"a NAMESPACE\r\n", {"a", Namespace{}}},
      {"a SELECT inbox\r\n", {"a", sel}},
      {"a SELECT \"InBoX\"\r\n", {"a", sel}},
      {"a EXAMINE Archive/2024 (CONDSTORE)\r\n", {"a", exa}},
      {"a SELECT INBOX (QRESYNC (67890007 20050715194045000 41:211,214:541))\r\n", {"a", qr}},
      {"a SELECT INBOX (QRESYNC (1 5 (1:3 10:12)))\r\n", {"a", qr2}},
      {"a CREATE Drafts2 (USE (\\Drafts))\r\n", {"a", Create{"Drafts2", {"\\Drafts"}}}},
      {"a CREATE \"a b\"\r\n", {"a", Create{"a b", {}}}},
      {"a DELETE foo\r\n", {"a", Delete{"foo"}}},
      {"a RENAME foo \"bar baz\"\r\n", {"a", Rename{"foo", "bar baz"}}},
      {"a RENAME Inbox old-inbox\r\n", {"a", Rename{"INBOX", "old-inbox"}}},
      {"a SUBSCRIBE news\r\n", {"a", Subscribe{"news", true}}},
      {"a UNSUBSCRIBE news\r\n", {"a", Subscribe{"news", false}}},
      {"a LIST \"\" *\r\n", {"a", List{.reference = "", .patterns = {"*"}}}},
      {"a LIST \"\" \"\"\r\n", {"a", List{.reference = "", .patterns = {""}}}},
      {"a LIST ~/Mail/ %/a]b\r\n", {"a", List{.reference = "~/Mail/", .patterns = {"%/a]b"}}}},
      {"a LIST (SUBSCRIBED RECURSIVEMATCH) \"\" (INBOX Sent* \"x y\") RETURN (CHILDREN STATUS (MESSAGES "
       "unseen))\r\n",
       {"a", List{.selectionOptions = {"SUBSCRIBED", "RECURSIVEMATCH"},
                  .reference = "",
                  .patterns = {"INBOX", "Sent*", "x y"},
                  .returnOptions = {"CHILDREN", "STATUS"},
                  .returnStatus = {"MESSAGES", "UNSEEN"}}}},
      {"a LIST () \"\" % RETURN (SPECIAL-USE)\r\n",
       {"a", List{.reference = "", .patterns = {"%"}, .returnOptions = {"SPECIAL-USE"}}}},
      {"a LIST (special-use) \"\" *\r\n",
       {"a", List{.selectionOptions = {"SPECIAL-USE"}, .reference = "", .patterns = {"*"}}}},
      {"a LSUB \"\" news.*\r\n", {"a", List{.lsub = true, .reference = "", .patterns = {"news.*"}}}},
      {"a STATUS blurdybloop (UIDNEXT MESSAGES)\r\n", {"a", Status{"blurdybloop", {"UIDNEXT", "MESSAGES"}}}},
      {"a STATUS inbox (size deleted highestmodseq uidvalidity unseen recent)\r\n",
       {"a", Status{"INBOX", {"SIZE", "DELETED", "HIGHESTMODSEQ", "UIDVALIDITY", "UNSEEN", "RECENT"}}}},
      {"a APPEND saved-messages (\\Seen) {5}\r\nhello\r\n", {"a", Append{"saved-messages", {msg("hello", {"\\Seen"})}}}},
      {"a APPEND INBOX {0+}\r\n\r\n", {"a", Append{"INBOX", {msg("")}}}},
      {"a APPEND x \"17-Jul-1996 02:44:25 -0700\" {2}\r\nhi\r\n", {"a", Append{"x", {msg("hi", {}, jul)}}}},
      {"a APPEND x () \" 1-Feb-2024 02:30:00 +0100\" ~{3}\r\na\0b\r\n"s,
       {"a", Append{"x", {msg(std::string("a\0b", 3), {}, feb, true)}}}},
      {"a APPEND x (\\Seen $Forwarded) {1}\r\nA {2+}\r\nBC (\\Draft) ~{1}\r\nD\r\n",
       {"a", Append{"x", {msg("A", {"\\Seen", "$Forwarded"}), msg("BC"), msg("D", {"\\Draft"}, std::nullopt, true)}}}},
      // RFC 6855 UTF8 append-data (UTF8=ACCEPT).
      {"a APPEND x (\\Seen) UTF8 (~{2}\r\n\xc3\xa9)\r\n",
       {"a", Append{"x", {msg("\xc3\xa9", {"\\Seen"}, std::nullopt, true)}}}},
      {"a IDLE\r\n", {"a", Idle{}}},
      {"a CHECK\r\n", {"a", Check{}}},
      {"a CLOSE\r\n", {"a", Close{}}},
      {"a UNSELECT\r\n", {"a", Unselect{}}},
      {"a EXPUNGE\r\n", {"a", Expunge{}}},
      {"a UID EXPUNGE 3000:3002\r\n", {"a", Expunge{seq({{3000, 3002}})}}},
      {"a COPY 2:4 MEETING\r\n", {"a", Copy{false, false, seq({{2, 4}}), "MEETING"}}},
      {"a UID COPY 1,3:* inbox\r\n", {"a", Copy{true, false, seq({{1, 1}, {3, 0}}), "INBOX"}}},
      {"a MOVE $ Trash\r\n", {"a", Copy{false, true, saved(), "Trash"}}},
      {"a uid move 7 \"Junk\"\r\n", {"a", Copy{true, true, one(7), "Junk"}}},
      {"a STORE 2:4 +FLAGS (\\Deleted)\r\n",
       {"a", Store{false, seq({{2, 4}}), Store::Op::Add, false, {"\\Deleted"}, std::nullopt}}},
      {"a STORE 1 -flags.silent \\Seen $Junk\r\n",
       {"a", Store{false, one(1), Store::Op::Remove, true, {"\\Seen", "$Junk"}, std::nullopt}}},
      {"a UID STORE 5:7 FLAGS ()\r\n", {"a", Store{true, seq({{5, 7}}), Store::Op::Replace, false, {}, std::nullopt}}},
      {"a STORE 7,5,9 (UNCHANGEDSINCE 320162338) +FLAGS.SILENT (\\Deleted)\r\n",
       {"a", Store{false, seq({{7, 7}, {5, 5}, {9, 9}}), Store::Op::Add, true, {"\\Deleted"}, 320162338}}},
      {"a STORE 1 (UNCHANGEDSINCE 0) FLAGS \\Seen\r\n",
       {"a", Store{false, one(1), Store::Op::Replace, false, {"\\Seen"}, 0}}},
      // FETCH
      {"a FETCH 1 FAST\r\n", {"a", Fetch{false, one(1), fast()}}},
      {"a FETCH 1:* ALL\r\n",
       {"a", Fetch{false, seq({{1, 0}}),
                   {att(FK::Flags), att(FK::InternalDate), att(FK::Rfc822Size), att(FK::Envelope)}}}},
      {"a FETCH 2 full\r\n",
       {"a", Fetch{false, one(2),
                   {att(FK::Flags), att(FK::InternalDate), att(FK::Rfc822Size), att(FK::Envelope),
                    att(FK::Body)}}}},
      {"a FETCH 1 BODY\r\n", {"a", Fetch{false, one(1), {att(FK::Body)}}}},
      {"a FETCH 1 (uid rfc822.size FLAGS BODYSTRUCTURE ENVELOPE INTERNALDATE)\r\n",
       {"a", Fetch{false, one(1),
                   {att(FK::Uid), att(FK::Rfc822Size), att(FK::Flags), att(FK::BodyStructure),
                    att(FK::Envelope), att(FK::InternalDate)}}}},
      {"a FETCH 1 (RFC822 RFC822.HEADER RFC822.TEXT MODSEQ SAVEDATE PREVIEW)\r\n",
       {"a", Fetch{false, one(1),
                   {att(FK::Rfc822), att(FK::Rfc822Header), att(FK::Rfc822Text), att(FK::ModSeq),
                    att(FK::SaveDate), att(FK::Preview)}}}},
      {"a FETCH 1 (PREVIEW (LAZY) UID)\r\n", {"a", Fetch{false, one(1), {att(FK::Preview), att(FK::Uid)}}}},
      {"a FETCH 1 BODY[]\r\n", {"a", Fetch{false, one(1), {body(false, sect({}))}}}},
      {"a FETCH 1 BODY.PEEK[]<0.2048>\r\n", {"a", Fetch{false, one(1), {body(true, sect({}), Partial{0, 2048})}}}},
      {"a FETCH 1 body[header]\r\n", {"a", Fetch{false, one(1), {body(false, sect({}, Section::Text::Header))}}}},
      {"a FETCH 1 BODY[TEXT]<100.50>\r\n",
       {"a", Fetch{false, one(1), {body(false, sect({}, Section::Text::Text), Partial{100, 50})}}}},
      {"a FETCH 1 (BODY.PEEK[HEADER.FIELDS (From To \"Subject\")])\r\n",
       {"a", Fetch{false, one(1),
                   {body(true, sect({}, Section::Text::HeaderFields, {"From", "To", "Subject"}))}}}},
      {"a FETCH 1 BODY[HEADER.FIELDS.NOT (Received)]\r\n",
       {"a", Fetch{false, one(1), {body(false, sect({}, Section::Text::HeaderFieldsNot, {"Received"}))}}}},
      {"a FETCH 1 (BODY[1.2.3] BODY[4.MIME] BODY[2.HEADER] BODY.PEEK[3.TEXT] BODY[4.2.HEADER.FIELDS (CC)])\r\n",
       {"a", Fetch{false, one(1),
                   {body(false, sect({1, 2, 3})), body(false, sect({4}, Section::Text::Mime)),
                    body(false, sect({2}, Section::Text::Header)), body(true, sect({3}, Section::Text::Text)),
                    body(false, sect({4, 2}, Section::Text::HeaderFields, {"CC"}))}}}},
      {"a FETCH 1 (BINARY[1] BINARY.PEEK[1.2]<0.10> BINARY.SIZE[2] BINARY[])\r\n",
       {"a", Fetch{false, one(1),
                   {FetchAtt{.kind = FK::Binary, .section = sect({1})},
                    FetchAtt{.kind = FK::Binary, .peek = true, .section = sect({1, 2}), .partial = Partial{0, 10}},
                    FetchAtt{.kind = FK::BinarySize, .section = sect({2})}, FetchAtt{.kind = FK::Binary}}}}},
      {"a FETCH 1:* (FLAGS) (CHANGEDSINCE 12345)\r\n",
       {"a", Fetch{false, seq({{1, 0}}), {att(FK::Flags)}, 12345, false}}},
      {"a UID FETCH 300:500 (FLAGS) (CHANGEDSINCE 12345 VANISHED)\r\n",
       {"a", Fetch{true, seq({{300, 500}}), {att(FK::Flags)}, 12345, true}}},
      {"a UID FETCH 4294967295 UID\r\n", {"a", Fetch{true, one(4294967295u), {att(FK::Uid)}}}},
      {"a FETCH 1 BODY[]<9223372036854775807.1>\r\n",
       {"a", Fetch{false, one(1), {body(false, sect({}), Partial{9223372036854775807ull, 1})}}}},
      // SEARCH
      {"a SEARCH ALL\r\n", {"a", search({key(SK::All)})}},
      {"a SEARCH FLAGGED SINCE 1-Feb-1994 NOT FROM \"Smith\"\r\n",
       {"a", search({key(SK::Flagged), date(SK::Since, 1994, 2, 1), notKey(text(SK::From, "Smith"))})}},
      {"a UID SEARCH OR (SEEN ANSWERED) NOT DELETED\r\n",
       {"a", search({orKey(all({key(SK::Seen), key(SK::Answered)}), notKey(key(SK::Deleted)))}, true)}},
      {"a SEARCH 1:5,7 UID 100:* $\r\n",
       {"a", search({set(SK::SequenceSet, seq({{1, 5}, {7, 7}})), set(SK::Uid, seq({{100, 0}})),
                     set(SK::SequenceSet, saved())})}},
      {"a SEARCH HEADER Message-ID \"<x@y>\" BODY {5}\r\nhello\r\n",
       {"a", search({header("Message-ID", "<x@y>"), text(SK::Body, "hello")})}},
      {"a SEARCH KEYWORD $Forwarded UNKEYWORD NonJunk\r\n",
       {"a", search({text(SK::Keyword, "$Forwarded"), text(SK::Unkeyword, "NonJunk")})}},
      {"a SEARCH LARGER 1000 SMALLER 99999999999 OLDER 3600 YOUNGER 60\r\n",
       {"a", search({num(SK::Larger, 1000), num(SK::Smaller, 99999999999ull), num(SK::Older, 3600),
                     num(SK::Younger, 60)})}},
      {"a SEARCH BEFORE \"31-Dec-2023\" ON 29-feb-2024 SENTBEFORE 1-Jan-2000 SENTON 01-Mar-2001 SENTSINCE "
       "9-Sep-1999\r\n",
       {"a", search({date(SK::Before, 2023, 12, 31), date(SK::On, 2024, 2, 29), date(SK::SentBefore, 2000, 1, 1),
                     date(SK::SentOn, 2001, 3, 1), date(SK::SentSince, 1999, 9, 9)})}},
      {"a SEARCH NEW OLD RECENT UNANSWERED UNDELETED UNDRAFT UNFLAGGED UNSEEN DRAFT\r\n",
       {"a", search({key(SK::New), key(SK::Old), key(SK::Recent), key(SK::Unanswered), key(SK::Undeleted),
                     key(SK::Undraft), key(SK::Unflagged), key(SK::Unseen), key(SK::Draft)})}},
      {"a SEARCH BCC a CC b SUBJECT \"c d\" TEXT e TO f\r\n",
       {"a", search({text(SK::Bcc, "a"), text(SK::Cc, "b"), text(SK::Subject, "c d"), text(SK::Text, "e"),
                     text(SK::To, "f")})}},
      {"a SEARCH MODSEQ 620162338\r\n", {"a", search({num(SK::ModSeq, 620162338)})}},
      {"a SEARCH MODSEQ \"/flags/\\\\draft\" all 620162338\r\n", {"a", search({num(SK::ModSeq, 620162338)})}},
      {"a SEARCH ((SEEN) (OR 1 2))\r\n",
       {"a", search({all({all({key(SK::Seen)}), all({orKey(set(SK::SequenceSet, one(1)),
                                                                set(SK::SequenceSet, one(2)))})})})}},
      [] {
        Search s = search({text(SK::Subject, "caf\xc3\xa9")});
        s.charset = "UTF-8";
        return Case{"a SEARCH CHARSET UTF-8 SUBJECT \"caf\xc3\xa9\"\r\n", {"a", s}};
      }(),
      [] {
        Search s = search({key(SK::Deleted)}, true);
        s.esearch = true;
        s.returnOptions = {"MIN", "MAX", "COUNT", "SAVE", "ALL"};
        return Case{"a UID SEARCH RETURN (MIN max COUNT SAVE ALL) DELETED\r\n", {"a", s}};
      }(),
      [] {
        Search s = search({key(SK::Unseen)});
        s.esearch = true;
        s.charset = "us-ascii";
        return Case{"a SEARCH RETURN () CHARSET \"us-ascii\" UNSEEN\r\n", {"a", s}};
      }(),
      // tags
      {"A0001.x] NOOP\r\n", {"A0001.x]", Noop{}}},
  };
}

TEST(ParserTest, ParsesEveryCommandForm) {
  for (const auto& c : goodCases()) {
    auto r = parseCommand(c.wire);
    ASSERT_TRUE(r.ok()) << c.wire << " -> " << r.error().text;
    EXPECT_EQ(*r, c.expected) << c.wire;
  }
}

struct BadCase {
  std::string wire;
  const char* tag;
  const char* code = "";
};

TEST(ParserTest, RejectsMalformedInputWithTheRightTag) {
  const std::vector<BadCase> cases = {
      {"\r\n", "*"},
      {" NOOP\r\n", "*"},
      {"a+b NOOP\r\n", "*"},
      {"a*b NOOP\r\n", "*"},
      {"{3}\r\nabc NOOP\r\n", "*"},
      {"\"a\" NOOP\r\n", "*"},
      {"abc\r\n", "abc"},
      {"abc \r\n", "abc"},
      {"a FROB\r\n", "a"},
      {"a UID\r\n", "a"},
      {"a UID NOOP\r\n", "a"},
      {"a NOOP extra\r\n", "a"},
      {"a NOOP\n", "a"},
      {"a NOOP", "a"},
      {"a NOOP\r\n\r\n", "a"},
      {"a LOGIN fred\r\n", "a"},
      {"a LOGIN fred  secret\r\n", "a"},
      {"a LOGIN \"fred secret\r\n", "a"},
      {"a LOGIN \"fr\\x\" s\r\n", "a"},
      {"a LOGIN {10}\r\nshort\r\n", "a"},
      {"a LOGIN {3}\r\nabc {99999999999999999999999}\r\nx\r\n", "a"},
      {std::string("a LOGIN {3}\r\na\0c x\r\n", 19), "a"},
      {"a LOGIN ~{3}\r\nabc x\r\n", "a"},
      {"a LOGIN fred (x)\r\n", "a"},
      {"a SELECT\r\n", "a"},
      {"a SELECT INBOX (FOO)\r\n", "a"},
      {"a SELECT INBOX (QRESYNC (0 5))\r\n", "a"},
      {"a CREATE x (FOO (bar))\r\n", "a"},
      {"a ENABLE\r\n", "a"},
      {"a ID (\"name\")\r\n", "a"},
      {"a STATUS INBOX (FOO)\r\n", "a"},
      {"a STATUS INBOX ()\r\n", "a"},
      {"a STATUS INBOX MESSAGES\r\n", "a"},
      {"a LIST (RECURSIVEMATCH) \"\" *\r\n", "a"},
      {"a LIST (BOGUS) \"\" *\r\n", "a"},
      {"a LIST \"\" * RETURN (BOGUS)\r\n", "a"},
      {"a LIST \"\"\r\n", "a"},
      {"a APPEND INBOX\r\n", "a"},
      {"a APPEND INBOX hello\r\n", "a"},
      {"a APPEND INBOX UTF8 ~{1}\r\nx\r\n", "a"},
      {"a APPEND INBOX UTF8 (~{1}\r\nx\r\n", "a"},
      {"a APPEND INBOX (\\Seen)\r\n", "a"},
      {"a APPEND INBOX \"32-Jan-2024 00:00:00 +0000\" {1}\r\nx\r\n", "a"},
      {"a APPEND INBOX \"  1-Jan-2024 00:00:00 +0000\" {1}\r\nx\r\n", "a"},
      {"a APPEND INBOX \"001-Jan-2024 00:00:00 +0000\" {1}\r\nx\r\n", "a"},
      {"a APPEND INBOX \"01-Jan-2024 24:00:00 +0000\" {1}\r\nx\r\n", "a"},
      {"a APPEND INBOX \"01-Jan-2024 00:00:00 0000\" {1}\r\nx\r\n", "a"},
      {"a APPEND INBOX {2}\r\nx\r\n", "a"},
      {"a COPY 0 x\r\n", "a"},
      {"a COPY 4294967296 x\r\n", "a"},
      {"a COPY 1:0 x\r\n", "a"},
      {"a COPY 1, x\r\n", "a"},
      {"a COPY 1 \r\n", "a"},
      {"a COPY x y\r\n", "a"},
      {"a STORE 1 FLAGS\r\n", "a"},
      {"a STORE 1 XFLAGS (\\Seen)\r\n", "a"},
      {"a STORE 1 +FLAGS (\\Seen\r\n", "a"},
      {"a STORE 1 +FLAGS (\\*)\r\n", "a"},
      {"a STORE 1 FLAGS \\Seen \r\n", "a"},
      {"a STORE 1 (UNCHANGEDSINCE 9223372036854775808) FLAGS \\Seen\r\n", "a"},
      {"a STORE 1 (FOO 1) FLAGS \\Seen\r\n", "a"},
      {"a FETCH 1\r\n", "a"},
      {"a FETCH 1 ()\r\n", "a"},
      {"a FETCH 1 (FLAGS\r\n", "a"},
      {"a FETCH 1 BOGUS\r\n", "a"},
      {"a FETCH 1 BODY.PEEK\r\n", "a"},
      {"a FETCH 1 BODY[MIME]\r\n", "a"},
      {"a FETCH 1 BODY[0]\r\n", "a"},
      {"a FETCH 1 BODY[1.]\r\n", "a"},
      {"a FETCH 1 BODY[HEADER.FIELDS ()]\r\n", "a"},
      {"a FETCH 1 BODY[HEADER.FIELDS From]\r\n", "a"},
      {"a FETCH 1 BODY[]<0>\r\n", "a"},
      {"a FETCH 1 BODY[]<0.0>\r\n", "a"},
      {"a FETCH 1 BINARY.SIZE[1]<0.1>\r\n", "a"},
      {"a FETCH 1 BINARY[TEXT]\r\n", "a"},
      {"a FETCH 1 FLAGS (CHANGEDSINCE 0)\r\n", "a"},
      {"a FETCH 1 FLAGS (CHANGEDSINCE 1 VANISHED)\r\n", "a", "CLIENTBUG"},
      {"a UID FETCH 1 FLAGS (VANISHED)\r\n", "a", "CLIENTBUG"},
      {"a FETCH 1 FLAGS (BOGUS)\r\n", "a"},
      {"a SEARCH\r\n", "a"},
      {"a SEARCH BOGUS\r\n", "a"},
      {"a SEARCH KEYWORD \\Seen\r\n", "a"},  // flag-keyword is an atom; system flags have own keys
      {"a SEARCH ALL \r\n", "a"},
      {"a SEARCH (ALL\r\n", "a"},
      {"a SEARCH ()\r\n", "a"},
      {"a SEARCH OR ALL\r\n", "a"},
      {"a SEARCH NOT\r\n", "a"},
      {"a SEARCH SINCE 30-Feb-2024\r\n", "a"},
      {"a SEARCH SINCE 29-Feb-2023\r\n", "a"},
      {"a SEARCH SINCE 1-Foo-2024\r\n", "a"},
      {"a SEARCH SINCE 1-Feb-24\r\n", "a"},
      {"a SEARCH SINCE 123-Feb-2024\r\n", "a"},
      {"a SEARCH LARGER -1\r\n", "a"},
      {"a SEARCH OLDER 0\r\n", "a"},
      {"a SEARCH HEADER Subject\r\n", "a"},
      {"a SEARCH RETURN (BOGUS) ALL\r\n", "a"},
      {"a SEARCH CHARSET\r\n", "a"},
      {"a SEARCH UID\r\n", "a"},
      {"a SEARCH 1:5:7\r\n", "a"},
      {"a UID EXPUNGE\r\n", "a"},
      {"a AUTHENTICATE\r\n", "a"},
      {"a AUTHENTICATE PLAIN a*b\r\n", "a"},
  };
  for (const auto& c : cases) {
    auto r = parseCommand(c.wire);
    ASSERT_FALSE(r.ok()) << c.wire;
    EXPECT_EQ(r.error().tag, c.tag) << c.wire;
    EXPECT_EQ(r.error().code, c.code) << c.wire;
    EXPECT_FALSE(r.error().text.empty());
    EXPECT_EQ(r.error().text.find_first_of("\r\n"), std::string::npos);
  }
}

TEST(ParserTest, UnknownCommandText) {
  auto r = parseCommand("x17 XYZZY foo\r\n");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().tag, "x17");
  EXPECT_EQ(r.error().text, "Unknown command");
}

TEST(ParserTest, ErrorTextDoesNotEchoClientBytes) {
  auto r = parseCommand("a LOGIN secret-password-123 {5}\r\nab\r\n");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().text.find("secret"), std::string::npos);
}

TEST(ParserTest, DateTimeConversion) {
  // RFC 3501 example "17-Jul-1996 02:44:25 -0700" is 1996-07-17T09:44:25Z = 837596665.
  auto r = parseCommand("a APPEND x \"17-Jul-1996 02:44:25 -0700\" {1}\r\nx\r\n");
  ASSERT_TRUE(r.ok());
  const auto& m = std::get<Append>(r->body).messages.at(0);
  ASSERT_TRUE(m.internalDate);
  EXPECT_EQ(m.internalDate->unixSeconds, 837596665);
  EXPECT_EQ(m.internalDate->tzOffsetMinutes, -420);
}

TEST(ParserTest, SearchNestingIsBounded) {
  ParserOptions opts;
  opts.maxSearchDepth = 10;
  std::string ok = "a SEARCH " + std::string(10, '(') + "ALL" + std::string(10, ')') + "\r\n";
  EXPECT_TRUE(parseCommand(ok, opts).ok());
  std::string deep = "a SEARCH " + std::string(11, '(') + "ALL" + std::string(11, ')') + "\r\n";
  auto r = parseCommand(deep, opts);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().tag, "a");
  std::string nots = "a SEARCH ";
  for (int i = 0; i < 11; ++i) nots += "NOT ";
  nots += "ALL\r\n";
  EXPECT_FALSE(parseCommand(nots, opts).ok());
  // Default depth: a hostile 100000-deep nesting fails cleanly instead of overflowing the stack.
  std::string huge = "a SEARCH " + std::string(100000, '(') + "ALL" + std::string(100000, ')') + "\r\n";
  EXPECT_FALSE(parseCommand(huge).ok());
  std::string ors = "a SEARCH ";
  for (int i = 0; i < 100000; ++i) ors += "OR ALL ";
  ors += "ALL\r\n";
  EXPECT_FALSE(parseCommand(ors).ok());
}

TEST(ParserTest, ListItemsAreBounded) {
  ParserOptions opts;
  opts.maxListItems = 5;
  EXPECT_TRUE(parseCommand("a FETCH 1,2,3,4,5 FLAGS\r\n", opts).ok());
  EXPECT_FALSE(parseCommand("a FETCH 1,2,3,4,5,6 FLAGS\r\n", opts).ok());
  EXPECT_FALSE(parseCommand("a STORE 1 FLAGS (a b c d e f)\r\n", opts).ok());
  EXPECT_FALSE(parseCommand("a FETCH 1 (UID UID UID UID UID UID)\r\n", opts).ok());
}

TEST(ParserTest, EveryPrefixOfValidCommandsFailsCleanly) {
  // Truncation anywhere must give an error, never a read past the end (run under ASan in CI).
  for (const auto& c : goodCases()) {
    std::string w = c.wire;
    for (size_t n = 0; n + 2 < w.size(); ++n) {
      std::string prefix = w.substr(0, n);
      auto r = parseCommand(prefix);
      EXPECT_FALSE(r.ok()) << prefix;
    }
  }
}

struct SetCase {
  const char* text;
  std::optional<SequenceSet> expected;
};

TEST(ParserTest, SequenceSets) {
  const std::vector<SetCase> cases = {
      {"1", one(1)},
      {"*", seq({{0, 0}})},
      {"1:5,7,9:*", seq({{1, 5}, {7, 7}, {9, 0}})},
      {"5:2", seq({{5, 2}})},
      {"*:4", seq({{0, 4}})},
      {"$", saved()},
      {"4294967295", one(4294967295u)},
      {"", std::nullopt},
      {"0", std::nullopt},
      {"1:0", std::nullopt},
      {"4294967296", std::nullopt},
      {"1,", std::nullopt},
      {",1", std::nullopt},
      {"1::2", std::nullopt},
      {"1 ", std::nullopt},
      {"$,1", std::nullopt},
      {"-1", std::nullopt},
      {"a", std::nullopt},
  };
  for (const auto& c : cases) {
    auto r = parseSequenceSet(c.text);
    if (c.expected) {
      ASSERT_TRUE(r.ok()) << c.text;
      EXPECT_EQ(*r, *c.expected) << c.text;
    } else {
      ASSERT_FALSE(r.ok()) << c.text;
      EXPECT_EQ(r.error().tag, "*");
    }
  }
}

}  // namespace
}  // namespace tern::imap
