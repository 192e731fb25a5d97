// StructureCache: aligned lookups, least-recently-used eviction within the byte budget, oversized
// entries refused; CachedStructure renders exactly as the formatters do, once, under concurrent use; loadStructures against a real SqliteStore serves repeated lookups from the cache
// (the store row is not read again) and parses and caches messages stored without a structure.
#include <gtest/gtest.h>
#include <thread>

#include "imap/protocol/message_structure.h"
#include "imap/server/structures.h"
#include "mime/serialize.h"
#include "../../store/store_fixture.h"

using namespace tern;
using tern::imap::server::StructureCache;

namespace {

using tern::imap::server::CachedStructure;
using tern::imap::server::StructurePtr;

StructurePtr parsed(const std::string& subject) {
  return std::make_shared<const CachedStructure>(mime::parseMessage("Subject: " + subject + "\r\n\r\nbody\r\n"));
}

TEST(StructureCache, LookupsAreAlignedWithTheIds) {
  StructureCache cache(1 << 20);
  auto a = parsed("a");
  cache.put("id-a", a);
  auto got = cache.getMany({"id-x", "id-a", "id-y", "id-a"});
  ASSERT_EQ(got.size(), 4u);
  EXPECT_EQ(got[0], nullptr);
  EXPECT_EQ(got[1], a);
  EXPECT_EQ(got[2], nullptr);
  EXPECT_EQ(got[3], a);
  EXPECT_EQ(cache.hits(), 2u);
  EXPECT_EQ(cache.entries(), 1u);
}

TEST(StructureCache, EvictsTheLeastRecentlyUsedWithinTheBudget) {
  const size_t one = StructureCache::costOf("one", parsed("1")->parsed());
  StructureCache cache(4 * one + one / 2);  // room for four entries, not five
  cache.put("one", parsed("1"));
  cache.put("two", parsed("2"));
  cache.put("three", parsed("3"));
  cache.put("four", parsed("4"));
  EXPECT_EQ(cache.entries(), 4u);
  EXPECT_NE(cache.getMany({"one"})[0], nullptr);  // "two" is now the least recently used
  cache.put("five", parsed("5"));
  auto got = cache.getMany({"one", "two", "three", "four", "five"});
  EXPECT_NE(got[0], nullptr);
  EXPECT_EQ(got[1], nullptr);
  EXPECT_NE(got[2], nullptr);
  EXPECT_NE(got[3], nullptr);
  EXPECT_NE(got[4], nullptr);
  EXPECT_EQ(cache.entries(), 4u);
  EXPECT_LE(cache.bytes(), 4 * one + one / 2);
}

TEST(StructureCache, ChargesTheHeapMemoryOfTheParse) {
  auto small = parsed("s");
  auto big = parsed(std::string(20000, 'x'));  // the subject is kept in the envelope and the sort fields
  EXPECT_GT(StructureCache::costOf("id", big->parsed()), StructureCache::costOf("id", small->parsed()) + 40000);
}

TEST(StructureCache, RefusesAnEntryAboveAQuarterOfTheBudget) {
  StructureCache cache(40000);
  cache.put("small", parsed("s"));
  cache.put("huge", parsed(std::string(20000, 'x')));
  auto got = cache.getMany({"small", "huge"});
  EXPECT_NE(got[0], nullptr);
  EXPECT_EQ(got[1], nullptr);
}

TEST(StructureCache, KeepsTheFirstEntryOfAnId) {
  StructureCache cache(1 << 20);
  auto first = parsed("first");
  cache.put("same", first);
  cache.put("same", parsed("second"));
  EXPECT_EQ(cache.getMany({"same"})[0], first);
  EXPECT_EQ(cache.entries(), 1u);
}

TEST(CachedStructure, RendersAsTheFormattersDoOnceForAllThreads) {
  const std::string bytes =
      "From: =?utf-8?q?J=C3=B6rg?= <j@example.com>\r\nSubject: Gr\xc3\xbc\xc3\x9f" "e\r\nMIME-Version: 1.0\r\n"
      "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
      "hi\r\n--b\r\nContent-Type: application/pdf; name=\"a.pdf\"\r\nContent-Transfer-Encoding: base64\r\n\r\n"
      "AAAA\r\n--b--\r\n";
  const mime::ParsedMessage p = mime::parseMessage(bytes);
  CachedStructure cached(p);
  for (bool utf8 : {false, true}) {
    EXPECT_EQ(cached.envelope(utf8), imap::formatEnvelope(p.envelope, utf8));
    EXPECT_EQ(cached.bodyStructure(false, utf8), imap::formatBodyStructure(p, false, utf8));
    EXPECT_EQ(cached.bodyStructure(true, utf8), imap::formatBodyStructure(p, true, utf8));
  }
  EXPECT_NE(cached.envelope(false), cached.envelope(true));  // the 8-bit subject: a literal vs quoted
  EXPECT_EQ(&cached.envelope(true), &cached.envelope(true));  // made once, then the same string

  CachedStructure shared(p);
  std::vector<const std::string*> seen(8);
  std::vector<std::thread> threads;
  for (size_t t = 0; t < seen.size(); ++t)
    threads.emplace_back([&, t] { seen[t] = &shared.bodyStructure(true, t % 2 == 0); });
  for (auto& t : threads) t.join();
  for (size_t t = 0; t < seen.size(); ++t) {
    EXPECT_EQ(seen[t], &shared.bodyStructure(true, t % 2 == 0));
    EXPECT_EQ(*seen[t], imap::formatBodyStructure(p, true, t % 2 == 0));
  }
}

// A store with alice's INBOX (store_fixture.h), and messages appended through its blob store.
class LoadStructuresTest : public store::test::StoreTest {
 protected:
  // Appends a message; with `withStructure` its parse is stored with it, as APPEND and delivery do.
  std::string append(const std::string& bytes, bool withStructure) {
    auto id = blobs().put(bytes);
    EXPECT_TRUE(id.ok());
    store::NewMessage m;
    m.blobId = *id;
    m.size = bytes.size();
    if (withStructure) m.structure = mime::serializeMessage(mime::parseMessage(bytes));
    EXPECT_TRUE(store_->append(alice_, inbox_, {m}).ok());
    return *id;
  }
  store::BlobStore& blobs() { return store_->blobs(); }
};

TEST_F(LoadStructuresTest, RepeatedLookupsComeFromTheCache) {
  const std::string bytes = "Subject: hello\r\nFrom: a@example.com\r\n\r\nhi\r\n";
  std::string id = append(bytes, true);
  StructureCache cache;
  auto first = imap::server::loadStructures(*store_, blobs(), cache, alice_, {id});
  ASSERT_TRUE(first.ok());
  ASSERT_NE((*first)[0], nullptr);
  EXPECT_EQ((*first)[0]->parsed(), mime::parseMessage(bytes));
  EXPECT_EQ(cache.hits(), 0u);
  auto second = imap::server::loadStructures(*store_, blobs(), cache, alice_, {id, id});
  ASSERT_TRUE(second.ok());
  EXPECT_EQ((*second)[0], (*first)[0]);  // the very object: not read from the store again
  EXPECT_EQ((*second)[1], (*first)[0]);
  EXPECT_EQ(cache.hits(), 2u);
}

TEST_F(LoadStructuresTest, MessagesWithoutAStoredStructureAreParsedOnceAndCached) {
  const std::string bytes = "Subject: old\r\nContent-Type: text/plain\r\n\r\nstored before structures\r\n";
  std::string id = append(bytes, false);
  StructureCache cache;
  auto got = imap::server::loadStructures(*store_, blobs(), cache, alice_, {id});
  ASSERT_TRUE(got.ok());
  ASSERT_NE((*got)[0], nullptr);
  EXPECT_EQ((*got)[0]->parsed().envelope.subject, std::optional<std::string>("old"));
  EXPECT_EQ(cache.entries(), 1u);
  // And stored: a fresh cache finds it in the store.
  auto row = store_->getStructures(alice_, {id});
  ASSERT_TRUE(row.ok());
  ASSERT_TRUE((*row)[0].has_value());
  EXPECT_EQ(*mime::deserializeMessage(*(*row)[0]), mime::parseMessage(bytes));
}

TEST_F(LoadStructuresTest, UnreadableBlobsGiveNullAndAreNotCached) {
  StructureCache cache;
  auto got = imap::server::loadStructures(*store_, blobs(), cache, alice_, {std::string(64, 'f')});
  ASSERT_TRUE(got.ok());
  EXPECT_EQ((*got)[0], nullptr);
  EXPECT_EQ(cache.entries(), 0u);
}

}  // namespace
