// The per-blob parsed structure (schema v2): written with APPEND in the same transaction, shared by
// copies, visible only to accounts that own a message with the blob, filled in later by
// putStructures without overwriting an existing row.
#include <gtest/gtest.h>

#include "store_fixture.h"

namespace tern::store::test {
namespace {

using Structures = std::vector<std::optional<std::string>>;

TEST_F(StoreTest, StructureIsStoredWithTheMessageAndSharedByCopies) {
  NewMessage m = newMessage(10);
  m.blobId = std::string(64, 'b');
  m.structure = std::string("\x01\x00struct", 8);  // binary-safe
  auto r = store_->append(alice_, inbox_, {m});
  ASSERT_TRUE(r.ok()) << r.error().detail;
  NewMessage plain = newMessage(11);  // blob 'a...', no structure
  ASSERT_TRUE(store_->append(alice_, inbox_, {plain}).ok());

  auto got = store_->getStructures(alice_, {m.blobId, plain.blobId, std::string(64, 'c')});
  ASSERT_TRUE(got.ok()) << got.error().detail;
  EXPECT_EQ(*got, (Structures{m.structure, std::nullopt, std::nullopt}));

  // Another account never sees it, even knowing the blob id.
  auto other = store_->getStructures(bob_, {m.blobId});
  ASSERT_TRUE(other.ok());
  EXPECT_EQ(*other, (Structures{std::nullopt}));
  ASSERT_TRUE(store_->putStructures(bob_, {{plain.blobId, "bob's"}}).ok());

  // Filled in later; an existing row is kept.
  ASSERT_TRUE(store_->putStructures(alice_, {{plain.blobId, "late"}, {m.blobId, "replaced?"}}).ok());
  got = store_->getStructures(alice_, {m.blobId, plain.blobId});
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(*got, (Structures{m.structure, std::string("late")}));

  // A copy in another mailbox shares the row.
  auto box = store_->createMailbox(alice_, "Other");
  ASSERT_TRUE(box.ok());
  ASSERT_TRUE(store_->copy(alice_, inbox_, {r->uids[0]}, box->id, true).ok());
  got = store_->getStructures(alice_, {m.blobId});
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(*got, (Structures{m.structure}));
}

}  // namespace
}  // namespace tern::store::test
