// SORT and THREAD orderings (RFC 5256, RFC 5957) on header values built by the mime parser, and the
// case folding / preview helpers SEARCH and FETCH PREVIEW use. Expected orders are worked out by
// hand from the RFC rules.
#include "imap/server/sort.h"

#include <gtest/gtest.h>

#include <deque>

#include "imap/server/message_text.h"

using namespace tern;
using tern::imap::SortCriterion;
using tern::imap::server::SortItem;

namespace {

// Owns the parsed fields the SortItems point to.
struct Box {
  std::deque<mime::SortFields> fields;
  std::vector<SortItem> items;
  // Adds message number n (= msn) with the given header lines.
  void add(std::string header, int64_t internalDate = 0, uint64_t size = 100) {
    auto parsed = mime::parseMessage(header + "\r\n\r\nbody\r\n");
    fields.push_back(parsed.sort);
    SortItem it;
    it.number = it.msn = static_cast<uint32_t>(items.size() + 1);
    it.size = size;
    it.internalDate = internalDate;
    it.fields = &fields.back();
    items.push_back(it);
  }
};

std::vector<uint32_t> sorted(const Box& b, std::vector<SortCriterion> c) {
  return imap::server::sortMessages(b.items, c);
}

using K = SortCriterion::Key;

TEST(Sort, KeysAndReverse) {
  Box b;
  b.add("Subject: Re: Beta\r\nFrom: \"Zoe\" <carl@c.test>\r\nDate: Mon, 01 Jan 2024 10:00:00 +0000\r\nCc: y@y", 50, 300);
  b.add("Subject: [fwd: alpha]\r\nFrom: Anna <zz@a.test>\r\nDate: Mon, 01 Jan 2024 09:00:00 +0000\r\nCc: x@x", 40, 100);
  b.add("Subject: gamma\r\nFrom: bert@b.test\r\nDate: Sun, 31 Dec 2023 23:00:00 -0500", 30, 200);
  b.add("Subject: GAMMA (fwd)\r\nFrom: Bert <BERT@b.test>", 20, 200);  // no Date: internal date is used
  EXPECT_EQ(sorted(b, {{K::Subject}}), (std::vector<uint32_t>{2, 1, 3, 4}));  // alpha beta gamma gamma
  EXPECT_EQ(sorted(b, {{K::Subject, true}}), (std::vector<uint32_t>{3, 4, 1, 2}));  // ties stay in msn order
  EXPECT_EQ(sorted(b, {{K::Date}}), (std::vector<uint32_t>{4, 3, 2, 1}));
  EXPECT_EQ(sorted(b, {{K::Arrival}}), (std::vector<uint32_t>{4, 3, 2, 1}));
  EXPECT_EQ(sorted(b, {{K::From}}), (std::vector<uint32_t>{3, 4, 1, 2}));  // bert BERT carl zz
  // DISPLAYFROM (RFC 5957): Anna, "Bert", "bert@b.test" (no name: the addr-spec), Zoe, case-folded;
  // "bert" sorts before "bert@b.test" as its prefix.
  EXPECT_EQ(sorted(b, {{K::DisplayFrom}}), (std::vector<uint32_t>{2, 4, 3, 1}));
  EXPECT_EQ(sorted(b, {{K::Size}, {K::Date, true}}), (std::vector<uint32_t>{2, 3, 4, 1}));
  EXPECT_EQ(sorted(b, {{K::Cc}}), (std::vector<uint32_t>{3, 4, 2, 1}));  // empty first
}

std::string refs(const Box& b) { return imap::server::threadReferences(b.items); }
std::string ordered(const Box& b) { return imap::server::threadOrderedSubject(b.items); }

TEST(Thread, ReferencesChainAndSiblings) {
  Box b;
  b.add("Message-ID: <1@x>\r\nSubject: topic\r\nDate: Mon, 01 Jan 2024 10:00:00 +0000");
  b.add("Message-ID: <9@x>\r\nSubject: other\r\nDate: Mon, 01 Jan 2024 11:00:00 +0000");
  b.add("Message-ID: <2@x>\r\nSubject: Re: topic\r\nReferences: <1@x>\r\nDate: Mon, 01 Jan 2024 12:00:00 +0000");
  b.add("Message-ID: <3@x>\r\nSubject: Re: topic\r\nReferences: <1@x> <2@x>\r\nDate: Mon, 01 Jan 2024 13:00:00 +0000");
  b.add("Message-ID: <4@x>\r\nSubject: Re: topic\r\nIn-Reply-To: <1@x>\r\nDate: Mon, 01 Jan 2024 14:00:00 +0000");
  EXPECT_EQ(refs(b), "(1 (3 4)(5))(2)");
  EXPECT_EQ(ordered(b), "(1 (3)(4)(5))(2)");
}

TEST(Thread, MissingParentMakesDummy) {
  Box b;  // two replies to a message we do not have: a dummy root with two children
  b.add("Message-ID: <a@x>\r\nSubject: Re: q\r\nReferences: <gone@x>\r\nDate: Mon, 01 Jan 2024 10:00:00 +0000");
  b.add("Message-ID: <b@x>\r\nSubject: Re: q\r\nReferences: <gone@x>\r\nDate: Mon, 01 Jan 2024 11:00:00 +0000");
  EXPECT_EQ(refs(b), "((1)(2))");
  Box one;  // a single child of a missing message is promoted
  one.add("Message-ID: <a@x>\r\nSubject: Re: q\r\nReferences: <gone@x>");
  EXPECT_EQ(refs(one), "(1)");
}

TEST(Thread, SubjectMerging) {
  Box reply;  // no references, but "Re: hello" is a reply to "hello"
  reply.add("Message-ID: <r@x>\r\nSubject: Re: hello\r\nDate: Mon, 01 Jan 2024 11:00:00 +0000");
  reply.add("Message-ID: <o@x>\r\nSubject: hello\r\nDate: Mon, 01 Jan 2024 10:00:00 +0000");
  EXPECT_EQ(refs(reply), "(2 1)");
  Box same;  // two originals with one subject become siblings under a dummy
  same.add("Message-ID: <p@x>\r\nSubject: hello\r\nDate: Mon, 01 Jan 2024 10:00:00 +0000");
  same.add("Message-ID: <q@x>\r\nSubject: hello\r\nDate: Mon, 01 Jan 2024 11:00:00 +0000");
  EXPECT_EQ(refs(same), "((1)(2))");
  Box empty;  // empty base subjects are never merged
  empty.add("Message-ID: <p@x>\r\nSubject: Re:");
  empty.add("Message-ID: <q@x>");
  EXPECT_EQ(refs(empty), "(1)(2)");
}

TEST(Thread, HostileReferencesStillGiveAForest) {
  Box b;  // a cycle through References, duplicate and missing Message-IDs, a self reference
  b.add("Message-ID: <a@x>\r\nReferences: <b@x>\r\nSubject: s1\r\nDate: Mon, 01 Jan 2024 10:00:00 +0000");
  b.add("Message-ID: <b@x>\r\nReferences: <a@x>\r\nSubject: s2\r\nDate: Mon, 01 Jan 2024 11:00:00 +0000");
  b.add("Message-ID: <a@x>\r\nSubject: s3\r\nDate: Mon, 01 Jan 2024 12:00:00 +0000");
  b.add("Subject: s4\r\nDate: Mon, 01 Jan 2024 13:00:00 +0000");
  b.add("Message-ID: <c@x>\r\nReferences: <c@x>\r\nSubject: s5\r\nDate: Mon, 01 Jan 2024 14:00:00 +0000");
  std::string t = refs(b);
  for (const char* n : {"1", "2", "3", "4", "5"}) {
    size_t first = t.find(n);
    ASSERT_NE(first, std::string::npos) << t;
    EXPECT_EQ(t.find(n, first + 1), std::string::npos) << t;  // each message exactly once
  }
  // 1 hangs under b (2); 2's reference back to a would close a cycle and is refused.
  EXPECT_EQ(t, "(2 1)(3)(4)(5)");
}

TEST(MessageText, FoldCase) {
  EXPECT_EQ(imap::server::foldCase("HeLLo"), "hello");
  EXPECT_EQ(imap::server::foldCase("CAFÉ ÀÖ"), "café àö");
  EXPECT_EQ(imap::server::foldCase("ΣΟΦΙΑ"), "σοφια");
  EXPECT_EQ(imap::server::foldCase("ПРИВЕТ Ёж"), "привет ёж");
  EXPECT_EQ(imap::server::foldCase("\xff"), "\xef\xbf\xbd");  // malformed: U+FFFD
  EXPECT_TRUE(imap::server::containsFolded("Grüße aus KÖLN", imap::server::foldCase("köln")));
  EXPECT_FALSE(imap::server::containsFolded("Koeln", "köln"));
}

TEST(MessageText, PreviewSkipsAttachmentsAndStripsHtml) {
  std::string msg =
      "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n"
      "Content-Disposition: attachment\r\n\r\nnot me\r\n--b\r\nContent-Type: text/html\r\n\r\n"
      "<html><style>p{x}</style><p>Hi&amp;\r\n\r\n   there</p></html>\r\n--b--\r\n";
  auto parsed = mime::parseMessage(msg);
  EXPECT_EQ(imap::server::previewText(msg, parsed), "Hi& there");
}

}  // namespace
