// BlobStore: content addressing, dedupe, mmap reads, permissions, rejection of malformed ids.
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

}  // namespace
}  // namespace tern::store::test
