// The SQLite connection layer (store/sqlite/db.h): Db::exec runs single statements from the statement
// cache and scripts through sqlite3_exec, and keeps working after a statement fails; connections get
// the settings the store depends on.
#include <gtest/gtest.h>

#include <string>

#include "store/sqlite/db.h"
#include "store_fixture.h"

namespace tern::store::sqlite {
namespace {

class DbTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto db = Db::open(dir_.path() + "/t.db", false, true);
    ASSERT_TRUE(db.ok()) << db.error().detail;
    db_ = std::move(*db);
  }

  int64_t scalar(const char* sql) {
    auto st = db_->prepare(sql);
    EXPECT_TRUE(st.ok());
    if (!st.ok()) return -1;
    auto row = st->step();
    EXPECT_TRUE(row.ok() && *row) << sql;
    return row.ok() && *row ? st->i64(0) : -1;
  }

  test::TempDir dir_;
  std::unique_ptr<Db> db_;
};

TEST_F(DbTest, ScriptsRunEveryStatement) {
  ASSERT_TRUE(db_->exec("CREATE TABLE a (x INTEGER); CREATE TABLE b (y INTEGER);\n"
                        "INSERT INTO a VALUES (1); INSERT INTO a VALUES (2); INSERT INTO b VALUES (3);")
                  .ok());
  EXPECT_EQ(scalar("SELECT count(*) FROM a"), 2);
  EXPECT_EQ(scalar("SELECT sum(y) FROM b"), 3);
}

TEST_F(DbTest, BlankAndCommentOnlySqlRunsAsNothing) {
  EXPECT_TRUE(db_->exec("").ok());
  EXPECT_TRUE(db_->exec("  -- nothing to do\n").ok());
  EXPECT_FALSE(db_->prepare("  ").ok());  // a statement is required where rows are expected
  ASSERT_TRUE(db_->exec("CREATE TABLE t (x)").ok());
  EXPECT_EQ(scalar("SELECT count(*) FROM t"), 0);
}

TEST_F(DbTest, SingleStatementsRepeatAndTransactionsHold) {
  ASSERT_TRUE(db_->exec("CREATE TABLE t (x INTEGER);").ok());  // a trailing ';' is one statement
  for (int i = 0; i < 200; ++i) {
    ASSERT_TRUE(db_->exec("BEGIN IMMEDIATE").ok()) << i;
    ASSERT_TRUE(db_->exec("INSERT INTO t VALUES (1)").ok());
    ASSERT_TRUE(db_->exec("SAVEPOINT inner").ok());
    ASSERT_TRUE(db_->exec("INSERT INTO t VALUES (100)").ok());
    ASSERT_TRUE(db_->exec("ROLLBACK TO inner").ok());
    ASSERT_TRUE(db_->exec("RELEASE inner").ok());
    ASSERT_TRUE(db_->exec(i % 2 ? "ROLLBACK" : "COMMIT").ok()) << i;
  }
  EXPECT_EQ(scalar("SELECT count(*) FROM t"), 100);
  EXPECT_EQ(scalar("SELECT sum(x) FROM t"), 100);
}

TEST_F(DbTest, AFailedStatementReportsAndTheNextOnesRun) {
  auto commit = db_->exec("COMMIT");  // no transaction is open
  ASSERT_FALSE(commit.ok());
  EXPECT_NE(commit.error().detail.find("no transaction"), std::string::npos) << commit.error().detail;
  EXPECT_FALSE(db_->exec("SELEC 1").ok());
  EXPECT_FALSE(db_->exec("CREATE TABLE u (x); INSERT INTO nowhere VALUES (1)").ok());
  ASSERT_TRUE(db_->exec("BEGIN").ok());
  ASSERT_TRUE(db_->exec("INSERT INTO u VALUES (7)").ok());  // the script's first statement ran
  ASSERT_TRUE(db_->exec("COMMIT").ok());
  EXPECT_EQ(scalar("SELECT x FROM u"), 7);
}

// Durable commits, no zeroing of freed pages beyond the pages a write touches anyway, savepoint
// journals in memory (see Db::open for why each matters).
TEST_F(DbTest, ConnectionsHaveTheStoreSettings) {
  EXPECT_EQ(scalar("PRAGMA synchronous"), 2);    // FULL
  EXPECT_EQ(scalar("PRAGMA secure_delete"), 2);  // FAST
  EXPECT_EQ(scalar("PRAGMA temp_store"), 2);     // MEMORY
  EXPECT_EQ(scalar("PRAGMA foreign_keys"), 1);
  auto reader = Db::open(dir_.path() + "/t.db", true, true);
  ASSERT_TRUE(reader.ok());
  auto st = (*reader)->prepare("PRAGMA query_only");
  ASSERT_TRUE(st.ok());
  auto row = st->step();
  ASSERT_TRUE(row.ok() && *row);
  EXPECT_EQ(st->i64(0), 1);
}

}  // namespace
}  // namespace tern::store::sqlite
