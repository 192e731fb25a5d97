// BlobStore: content addressing, dedupe, mmap reads, permissions, rejection of malformed ids; the
// time-ordered ids of inline blobs and the check that bytes match either kind of id.
#include "store/blob_store.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include "store_fixture.h"

namespace tern::store::test {
namespace {

TEST(BlobStore, PutOpenRoundTripUsesSha256) {
  TempDir dir;
  BlobStore blobs(dir.path() + "/blobs");
  auto id = blobs.put("abc");
  ASSERT_TRUE(id.ok()) << id.error().detail;
  // FIPS 180-2 test vector for "abc".
  EXPECT_EQ(*id, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_TRUE(blobs.exists(*id));
  struct stat st{};
  ASSERT_EQ(::stat((dir.path() + "/blobs/ba/78/" + *id).c_str(), &st), 0);
  auto blob = blobs.open(*id);
  ASSERT_TRUE(blob.ok());
  EXPECT_EQ((*blob)->bytes(), "abc");
}

TEST(BlobStore, DedupesAndKeepsFirstFile) {
  TempDir dir;
  BlobStore blobs(dir.path());
  std::string body(100000, 'x');
  auto a = blobs.put(body);
  ASSERT_TRUE(a.ok());
  struct stat before{};
  ASSERT_EQ(::stat((dir.path() + "/" + a->substr(0, 2) + "/" + a->substr(2, 2) + "/" + *a).c_str(), &before), 0);
  auto b = blobs.put(body);
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(*a, *b);
  struct stat after{};
  ASSERT_EQ(::stat((dir.path() + "/" + a->substr(0, 2) + "/" + a->substr(2, 2) + "/" + *a).c_str(), &after), 0);
  EXPECT_EQ(before.st_ino, after.st_ino);  // the second put was a no-op
  auto blob = blobs.open(*a);
  ASSERT_TRUE(blob.ok());
  EXPECT_EQ((*blob)->bytes(), body);
}

TEST(BlobStore, EmptyBlob) {
  TempDir dir;
  BlobStore blobs(dir.path());
  auto id = blobs.put("");
  ASSERT_TRUE(id.ok());
  EXPECT_EQ(*id, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  auto blob = blobs.open(*id);
  ASSERT_TRUE(blob.ok());
  EXPECT_TRUE((*blob)->bytes().empty());
}

TEST(BlobStore, Permissions) {
  TempDir dir;
  BlobStore blobs(dir.path() + "/b");
  auto id = blobs.put("secret mail");
  ASSERT_TRUE(id.ok());
  struct stat st{};
  ASSERT_EQ(::stat((dir.path() + "/b/" + id->substr(0, 2) + "/" + id->substr(2, 2) + "/" + *id).c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  for (std::string d : {dir.path() + "/b", dir.path() + "/b/" + id->substr(0, 2),
                        dir.path() + "/b/" + id->substr(0, 2) + "/" + id->substr(2, 2)}) {
    ASSERT_EQ(::stat(d.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0700u) << d;
  }
}

TEST(BlobStore, MappingOutlivesRemove) {
  TempDir dir;
  BlobStore blobs(dir.path());
  auto id = blobs.put("hello");
  ASSERT_TRUE(id.ok());
  auto blob = blobs.open(*id);
  ASSERT_TRUE(blob.ok());
  ASSERT_TRUE(blobs.remove(*id).ok());
  EXPECT_FALSE(blobs.exists(*id));
  EXPECT_EQ((*blob)->bytes(), "hello");
  auto again = blobs.open(*id);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code, Errc::NotFound);
  EXPECT_EQ(blobs.remove(*id).error().code, Errc::NotFound);
}

TEST(BlobStore, RejectsMalformedIds) {
  TempDir dir;
  BlobStore blobs(dir.path());
  for (std::string bad : {std::string(""), std::string("../../etc/passwd"), std::string(64, 'A'),
                          std::string(63, 'a'), std::string(62, 'a') + "/."}) {
    auto r = blobs.open(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error().code, Errc::Invalid);
    EXPECT_FALSE(blobs.exists(bad));
  }
}

TEST(BlobIds, InlineIdIsTheTimeThenTheHashPrefix) {
  // 2026-11-27 00:00:00 UTC is 0x18ebbdd53dd00000 ns since the epoch: the first 16 hex digits.
  const int64_t nanos = 1795737600LL * 1000000000LL;
  auto id = inlineBlobIdOf("abc", nanos);
  ASSERT_TRUE(id.ok());
  EXPECT_EQ(*id, "18ebbdd53dd00000ba7816bf8f01cfea414140de5dae2223b00361a396177a9c");
  EXPECT_EQ(id->size(), 64u);
}

TEST(BlobIds, InlineIdsOfLaterStagesSortLater) {
  // What keeps the database's blob indexes growing at one end: ids sort by staging time, whatever
  // the content.
  auto a = inlineBlobIdOf("zzz later bytes", 1795737600000000000LL);
  auto b = inlineBlobIdOf("aaa", 1795737600000000001LL);
  auto c = inlineBlobIdOf("abc", 1795737601000000000LL);
  ASSERT_TRUE(a.ok() && b.ok() && c.ok());
  EXPECT_LT(*a, *b);
  EXPECT_LT(*b, *c);
}

TEST(BlobIds, MatchesAcceptsBothFormsAndRejectsOtherBytes) {
  auto content = blobIdOf("abc");
  auto timed = inlineBlobIdOf("abc", 1795737600000000000LL);
  ASSERT_TRUE(content.ok() && timed.ok());
  for (const auto& id : {*content, *timed}) {
    auto yes = blobIdMatches(id, "abc");
    ASSERT_TRUE(yes.ok());
    EXPECT_TRUE(*yes) << id;
    auto no = blobIdMatches(id, "abd");
    ASSERT_TRUE(no.ok());
    EXPECT_FALSE(*no) << id;
  }
  std::string damaged = *timed;
  damaged.back() = damaged.back() == '0' ? '1' : '0';
  EXPECT_FALSE(*blobIdMatches(damaged, "abc"));
  EXPECT_FALSE(*blobIdMatches("abc", "abc"));
}

TEST(BlobStore, StageGivesInlineBytesATimeOrderedIdAndLargeOnesAFile) {
  TempDir dir;
  BlobStore blobs(dir.path());
  struct NoInline final : InlineBlobSource {
    Result<std::optional<std::string>> readInlineBlob(std::string_view) const override {
      return std::optional<std::string>();
    }
  } source;
  blobs.setInlineSource(&source, 100);
  auto first = blobs.stage("small message");
  auto second = blobs.stage("small message");
  ASSERT_TRUE(first.ok() && second.ok());
  ASSERT_TRUE(first->inlineBytes.has_value());
  EXPECT_EQ(*first->inlineBytes, "small message");
  EXPECT_TRUE(*blobIdMatches(first->id, "small message"));
  EXPECT_LE(first->id, second->id);  // the same bytes staged later: a later (or, within 1 ns, equal) id
  EXPECT_FALSE(blobs.exists(first->id)) << "inline bytes are the caller's to commit, not a file";

  const std::string large(101, 'x');
  auto big = blobs.stage(large);
  ASSERT_TRUE(big.ok());
  EXPECT_FALSE(big->inlineBytes.has_value());
  EXPECT_EQ(big->id, *blobIdOf(large));  // files stay content-addressed (deduplicated)
  EXPECT_TRUE(blobs.exists(big->id));
}

}  // namespace
}  // namespace tern::store::test
