#include "server/game/account/sqlite.h"

#include <sqlite3.h>
#include <sys/stat.h>

#include <string>

#include "absl/strings/match.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "tests/unit/server/game/account/account_test_util.h"

namespace muwarden::game::sqlite {
namespace {

using ::muwarden::game::testing::TempDir;

class SqliteTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = dir_.File("test.db");
    absl::StatusOr<Db> db = OpenDurable(path_, absl::Milliseconds(1500));
    ASSERT_TRUE(db.ok()) << db.status();
    db_ = *std::move(db);
    ASSERT_TRUE(
        Exec(db_.get(), "CREATE TABLE t (k TEXT PRIMARY KEY, v INT)", "create")
            .ok());
  }

  std::string Pragma(const std::string& name) {
    return QueryText(db_.get(), "PRAGMA " + name, "pragma").value_or("?");
  }
  int64_t Count() {
    return QueryInt(db_.get(), "SELECT count(*) FROM t", "count").value_or(-1);
  }

  TempDir dir_;
  std::string path_;
  Db db_;
};

TEST_F(SqliteTest, OpenDurableMakesAnOwnerOnlyWalFileWithFullSync) {
  struct stat st;
  ASSERT_EQ(stat(path_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(Pragma("journal_mode"), "wal");
  EXPECT_EQ(Pragma("synchronous"), "2");  // FULL
  EXPECT_EQ(Pragma("busy_timeout"), "1500");
  EXPECT_EQ(Pragma("foreign_keys"), "1");
  EXPECT_EQ(Pragma("trusted_schema"), "0");
}

TEST(SqliteOpenTest, MissingDirectoryIsUnavailableWithTheReason) {
  TempDir dir;
  absl::StatusOr<Db> db =
      OpenDurable(dir.File("no/such/dir/x.db"), absl::Seconds(1));
  EXPECT_EQ(db.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(db.status().message(), "No such file or directory");
}

TEST(SqliteOpenTest, NotADatabaseIsRefused) {
  TempDir dir;
  const std::string path = dir.File("x.db");
  FILE* f = fopen(path.c_str(), "w");
  ASSERT_NE(f, nullptr);
  fputs("this is not an SQLite database, just some text...............\n", f);
  fclose(f);
  absl::StatusOr<Db> db = OpenDurable(path, absl::Seconds(1));
  ASSERT_FALSE(db.ok());
  EXPECT_TRUE(absl::StartsWith(db.status().message(),
                               "account database: journal_mode: "))
      << db.status();
}

TEST_F(SqliteTest, StatementsBindStepAndAreReadyAgainAfterUse) {
  absl::StatusOr<Stmt> insert =
      Prepare(db_.get(), "INSERT INTO t (k, v) VALUES (?1, ?2)", true, "p");
  ASSERT_TRUE(insert.ok()) << insert.status();
  for (int i = 0; i < 3; ++i) {
    StmtUse use(insert->get());
    const std::string key(1, static_cast<char>('a' + i));
    ASSERT_TRUE(Bind(insert->get(), {key, int64_t{10} + i}).ok());
    ASSERT_TRUE(StepDone(insert->get(), "insert").ok());
    EXPECT_EQ(Changes(insert->get()), 1);
  }
  {
    // A duplicate key: the constraint's code, the step's name in the text.
    StmtUse use(insert->get());
    ASSERT_TRUE(Bind(insert->get(), {"a"}).ok());
    absl::Status dup = StepDone(insert->get(), "insert");
    EXPECT_EQ(dup.code(), absl::StatusCode::kAlreadyExists);
    EXPECT_TRUE(absl::StartsWith(dup.message(), "account database: insert: "))
        << dup;
  }
  absl::StatusOr<Stmt> select =
      Prepare(db_.get(), "SELECT k, v FROM t ORDER BY k", false, "p");
  ASSERT_TRUE(select.ok());
  StmtUse use(select->get());
  std::string keys;
  int64_t sum = 0;
  for (;;) {
    absl::StatusOr<bool> row = StepRow(select->get(), "select");
    ASSERT_TRUE(row.ok()) << row.status();
    if (!*row) break;
    keys += ColumnText(select->get(), 0);
    sum += ColumnInt(select->get(), 1);
  }
  EXPECT_EQ(keys, "abc");
  EXPECT_EQ(sum, 33);
}

TEST_F(SqliteTest, PrepareErrorNamesWhatFailed) {
  absl::StatusOr<Stmt> bad = Prepare(db_.get(), "SELEKT 1", false, "prepare");
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInternal);
  EXPECT_TRUE(
      absl::StartsWith(bad.status().message(), "account database: prepare: "))
      << bad.status();
  EXPECT_FALSE(QueryText(db_.get(), "SELECT k FROM t", "empty").ok());
}

TEST_F(SqliteTest, TransactionRollsBackUnlessCommitted) {
  {
    absl::StatusOr<Transaction> tx =
        Transaction::BeginImmediate(db_.get(), "b");
    ASSERT_TRUE(tx.ok()) << tx.status();
    ASSERT_TRUE(Exec(db_.get(), "INSERT INTO t VALUES ('x', 1)", "i").ok());
    EXPECT_EQ(Count(), 1);
  }
  EXPECT_EQ(Count(), 0);
  {
    absl::StatusOr<Transaction> tx =
        Transaction::BeginImmediate(db_.get(), "b");
    ASSERT_TRUE(tx.ok());
    ASSERT_TRUE(Exec(db_.get(), "INSERT INTO t VALUES ('y', 1)", "i").ok());
    EXPECT_TRUE(tx->Commit("commit").ok());
  }
  EXPECT_EQ(Count(), 1);
}

TEST_F(SqliteTest, SecondWriterWaitsThenGetsBusy) {
  absl::StatusOr<Db> other = OpenDurable(path_, absl::Milliseconds(50));
  ASSERT_TRUE(other.ok()) << other.status();
  absl::StatusOr<Transaction> tx = Transaction::BeginImmediate(db_.get(), "b");
  ASSERT_TRUE(tx.ok());
  absl::StatusOr<Transaction> blocked =
      Transaction::BeginImmediate(other->get(), "begin");
  EXPECT_EQ(blocked.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_TRUE(absl::StartsWith(blocked.status().message(),
                               "account database: begin: "));
}

TEST(SqliteCodeTest, ResultCodesMapToCanonicalCodes) {
  EXPECT_EQ(CodeFor(SQLITE_BUSY), absl::StatusCode::kUnavailable);
  EXPECT_EQ(CodeFor(SQLITE_LOCKED), absl::StatusCode::kUnavailable);
  EXPECT_EQ(CodeFor(SQLITE_FULL), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(CodeFor(SQLITE_CONSTRAINT_PRIMARYKEY),
            absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(CodeFor(SQLITE_READONLY), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(CodeFor(SQLITE_PERM), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(CodeFor(SQLITE_CORRUPT), absl::StatusCode::kInternal);
  EXPECT_EQ(Error(nullptr, SQLITE_FULL, "write").message(),
            "account database: write: database or disk is full");
}

}  // namespace
}  // namespace muwarden::game::sqlite
