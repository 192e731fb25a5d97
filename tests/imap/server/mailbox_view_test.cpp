#include "imap/server/mailbox_view.h"

#include <gtest/gtest.h>

using namespace tern;
using tern::imap::SeqRange;
using tern::imap::SequenceSet;
using tern::imap::server::MailboxView;

namespace {

store::MessageMeta msg(store::Uid uid, store::ModSeq modSeq, uint32_t flags = 0) {
  store::MessageMeta m;
  m.uid = uid;
  m.modSeq = modSeq;
  m.flags.system = flags;
  m.size = 100 + uid;
  m.blobId = "blob" + std::to_string(uid);
  return m;
}

store::MailboxInfo info(store::Uid uidNext, store::ModSeq modSeq) {
  store::MailboxInfo i;
  i.id = 7;
  i.name = "INBOX";
  i.uidValidity = 42;
  i.uidNext = uidNext;
  i.highestModSeq = modSeq;
  return i;
}

SequenceSet set(std::initializer_list<SeqRange> r) { return SequenceSet{r, false}; }

MailboxView threeMessages() { return MailboxView(info(11, 5), {msg(3, 1), msg(5, 2, store::kSeen), msg(10, 5)}, 5, false); }

}  // namespace

TEST(MailboxView, MsnUidMapping) {
  auto v = threeMessages();
  EXPECT_EQ(v.exists(), 3u);
  EXPECT_EQ(v.at(2).uid, 5u);
  EXPECT_EQ(v.msnOf(10), 3u);
  EXPECT_FALSE(v.msnOf(4));
  EXPECT_EQ(v.recentCount(), 2u);  // uids 5 and 10 are >= firstRecent 5
  EXPECT_EQ(v.firstUnseenMsn(), 1u);
}

TEST(MailboxView, ResolveSequenceNumbers) {
  auto v = threeMessages();
  EXPECT_EQ(*v.resolve(set({{1, 0}}), false), (std::vector<uint32_t>{1, 2, 3}));
  EXPECT_EQ(*v.resolve(set({{3, 2}, {1, 1}}), false), (std::vector<uint32_t>{1, 2, 3}));
  EXPECT_FALSE(v.resolve(set({{4, 4}}), false));  // beyond EXISTS
  EXPECT_FALSE(v.resolve(set({{1, 9}}), false));
}

TEST(MailboxView, ResolveUids) {
  auto v = threeMessages();
  EXPECT_EQ(*v.resolve(set({{4, 10}}), true), (std::vector<uint32_t>{2, 3}));
  EXPECT_EQ(*v.resolve(set({{100, 0}}), true), (std::vector<uint32_t>{3}));  // n:* includes the last
  EXPECT_TRUE(v.resolve(set({{11, 20}}), true)->empty());
  MailboxView empty(info(1, 0), {}, 0, false);
  EXPECT_TRUE(empty.resolve(set({{1, 0}}), true)->empty());
  EXPECT_FALSE(empty.resolve(set({{1, 0}}), false));
}

TEST(MailboxView, NewMessagesAndFlagChanges) {
  auto v = threeMessages();
  store::Changes ch;
  ch.mailbox = info(13, 8);
  ch.changed = {msg(5, 6, store::kSeen | store::kFlagged), msg(11, 7), msg(12, 8)};
  auto out = v.apply(ch, true, 12, true);
  EXPECT_EQ(out.untagged, "* 2 FETCH (UID 5 FLAGS (\\Seen \\Flagged \\Recent))\r\n* 5 EXISTS\r\n* 3 RECENT\r\n");
  EXPECT_EQ(v.exists(), 5u);
  EXPECT_EQ(v.seenModSeq(), 8u);
  EXPECT_EQ(v.uidNext(), 13u);
}

TEST(MailboxView, OwnChangesAreNotRepeated) {
  auto v = threeMessages();
  store::Flags f;
  f.system = store::kDeleted;
  v.setFlags(3, f, 6);
  store::Changes ch;
  ch.mailbox = info(11, 6);
  ch.changed = {msg(3, 6, store::kDeleted)};
  EXPECT_EQ(v.apply(ch, true, 0, false).untagged, "");
}

TEST(MailboxView, ExpungesWaitUntilAllowed) {
  auto v = threeMessages();
  store::Changes ch;
  ch.mailbox = info(11, 9);
  ch.expunged = {3, 10};
  auto out = v.apply(ch, false, 0, false);
  EXPECT_EQ(out.untagged, "");
  EXPECT_EQ(v.exists(), 3u);  // numbering unchanged while a FETCH/STORE/SEARCH runs
  // A new message arriving meanwhile still gets the next number.
  store::Changes more;
  more.mailbox = info(12, 10);
  more.changed = {msg(11, 10)};
  EXPECT_EQ(v.apply(more, false, 0, false).untagged, "* 4 EXISTS\r\n");
  // Highest MSN first, so each number is valid when the client reads it.
  EXPECT_EQ(v.flushPendingExpunges(), "* 3 EXPUNGE\r\n* 1 EXPUNGE\r\n");
  EXPECT_EQ(v.exists(), 2u);
  EXPECT_EQ(v.at(1).uid, 5u);
  EXPECT_EQ(v.at(2).uid, 11u);
}

TEST(MailboxView, ExpungeOfUnknownUidIsIgnored) {
  auto v = threeMessages();
  EXPECT_EQ(v.expunge({4, 99}), "");
  EXPECT_EQ(v.expunge({5}), "* 2 EXPUNGE\r\n");
}

TEST(MailboxView, NewKeywordIsReported) {
  auto v = threeMessages();
  store::Changes ch;
  ch.mailbox = info(11, 6);
  auto m = msg(3, 6);
  m.flags.keywords = {"$Forwarded"};
  ch.changed = {m};
  auto out = v.apply(ch, true, 0, false);
  EXPECT_TRUE(out.newKeywords);
  ASSERT_EQ(v.keywords().size(), 1u);
  EXPECT_EQ(v.keywords()[0], "$Forwarded");
}

TEST(ParseFlags, SystemAndKeywords) {
  auto f = tern::imap::server::parseFlags({"\\seen", "\\Deleted", "$Junk", "$junk", "\\Recent"});
  ASSERT_TRUE(f);
  EXPECT_EQ(f->system, store::kSeen | store::kDeleted);
  EXPECT_EQ(f->keywords, std::vector<std::string>{"$Junk"});
  EXPECT_FALSE(tern::imap::server::parseFlags({"\\Bogus"}));
}
