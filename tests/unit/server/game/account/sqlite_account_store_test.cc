#include "server/game/account/sqlite_account_store.h"
#include "server/game/account/known_devices.h"

#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "gtest/gtest.h"
#include "tests/unit/server/game/account/account_test_util.h"

namespace muwarden::game {
namespace {

using ::muwarden::game::testing::FastConfig;
using ::muwarden::game::testing::TempDir;

// Runs one query on a separate connection and returns the first column of the
// first row as text ("" if none).
std::string QueryText(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  EXPECT_EQ(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr),
            SQLITE_OK);
  sqlite3_stmt* stmt = nullptr;
  EXPECT_EQ(sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr), SQLITE_OK)
      << sqlite3_errmsg(db);
  std::string text;
  if (stmt != nullptr && sqlite3_step(stmt) == SQLITE_ROW &&
      sqlite3_column_text(stmt, 0) != nullptr) {
    text = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
  }
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  return text;
}

void Exec(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr),
            SQLITE_OK);
  EXPECT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr), SQLITE_OK)
      << sqlite3_errmsg(db);
  sqlite3_close(db);
}

// The AccountStore contract, on the SQLite store (the suite keeps the
// interface's name: SECURITY.md cites its tests).
class AccountStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = dir_.File("accounts.db");
    Reopen();
  }

  void Reopen() {
    store_.reset();
    auto opened = SqliteAccountStore::Open(FastConfig(path_), clock_);
    ASSERT_TRUE(opened.ok()) << opened.status();
    store_ = *std::move(opened);
  }

  TempDir dir_;
  std::string path_;
  FakeClock clock_;
  std::unique_ptr<SqliteAccountStore> store_;
};

TEST_F(AccountStoreTest, CreatesOwnerOnlyFileWithSchemaVersion) {
  struct stat st;
  ASSERT_EQ(stat(path_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(QueryText(path_, "SELECT version FROM schema_version"), "2");
  EXPECT_EQ(QueryText(path_, "SELECT count(*) FROM schema_version"), "1");
}

TEST_F(AccountStoreTest, WalFullSyncAndBusyTimeoutAreOn) {
  // journal_mode=WAL is stored in the file, so a fresh connection sees it.
  EXPECT_EQ(QueryText(path_, "PRAGMA journal_mode"), "wal");
  // synchronous and busy_timeout are per connection: read the store's own.
  EXPECT_EQ(*store_->Pragma("journal_mode"), "wal");
  EXPECT_EQ(*store_->Pragma("synchronous"), "2");  // FULL
  EXPECT_EQ(*store_->Pragma("busy_timeout"), "5000");
  EXPECT_EQ(store_->Pragma("journal_mode; DROP TABLE accounts").status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(AccountStoreTest, NewerSchemaVersionIsRefused) {
  store_.reset();
  Exec(path_, "UPDATE schema_version SET version = 3");
  auto opened = SqliteAccountStore::Open(FastConfig(path_), clock_);
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(opened.status().message(),
            "cannot open account database '" + path_ +
                "': schema version 3 is newer than this build understands "
                "(2)");
}

TEST_F(AccountStoreTest, HashFromOtherLimitsIsUpgradedOnLogin) {
  ASSERT_TRUE(store_->AddAccount("test0", "pw").ok());
  const std::string sql =
      "SELECT password_hash FROM accounts WHERE name='test0'";
  std::string old_hash = QueryText(path_, sql);
  EXPECT_TRUE(absl::StrContains(old_hash, "m=8,t=1,")) << old_hash;

  store_.reset();
  AccountStoreConfig config = FastConfig(path_);
  config.hasher.opslimit = 2;
  config.hasher.memlimit = 16 * 1024;
  auto opened = SqliteAccountStore::Open(config, clock_);
  ASSERT_TRUE(opened.ok());
  EXPECT_EQ((*opened)->Verify("test0", "nope").result,
            LoginResult::kWrongPassword);
  EXPECT_EQ(QueryText(path_, sql), old_hash);  // only with the right password
  EXPECT_EQ((*opened)->Verify("test0", "pw").result, LoginResult::kOk);
  std::string new_hash = QueryText(path_, sql);
  EXPECT_TRUE(absl::StrContains(new_hash, "m=16,t=2,")) << new_hash;
  EXPECT_EQ((*opened)->Verify("test0", "pw").result, LoginResult::kOk);
}

TEST(SqliteAccountStoreOpenTest, MissingDirectoryNamesPathAndReason) {
  TempDir dir;
  FakeClock clock;
  std::string path = dir.File("no/such/dir/accounts.db");
  auto opened = SqliteAccountStore::Open(FastConfig(path), clock);
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(opened.status().message(), "cannot open account database '" + path +
                                           "': No such file or directory");
}

TEST(SqliteAccountStoreOpenTest, NotADatabaseIsRefused) {
  TempDir dir;
  FakeClock clock;
  std::string path = dir.File("accounts.db");
  FILE* f = fopen(path.c_str(), "w");
  ASSERT_NE(f, nullptr);
  fputs("this is not an SQLite database, just some text...............\n", f);
  fclose(f);
  auto opened = SqliteAccountStore::Open(FastConfig(path), clock);
  ASSERT_FALSE(opened.ok());
  EXPECT_TRUE(absl::StartsWith(opened.status().message(),
                               "cannot open account database '" + path + "': "))
      << opened.status();
}

TEST(SqliteAccountStoreOpenTest, BadConfigIsInvalidArgument) {
  TempDir dir;
  FakeClock clock;
  AccountStoreConfig config = FastConfig(dir.File("a.db"));
  config.hasher.opslimit = 0;
  EXPECT_EQ(SqliteAccountStore::Open(config, clock).status().code(),
            absl::StatusCode::kInvalidArgument);
  config = FastConfig(dir.File("a.db"));
  config.hasher.memlimit = 1024;
  EXPECT_EQ(SqliteAccountStore::Open(config, clock).status().code(),
            absl::StatusCode::kInvalidArgument);
  config = FastConfig(dir.File("a.db"));
  config.hasher.max_concurrent_hashes = 0;
  EXPECT_EQ(SqliteAccountStore::Open(config, clock).status().code(),
            absl::StatusCode::kInvalidArgument);
  config = FastConfig("");
  EXPECT_EQ(SqliteAccountStore::Open(config, clock).status().message(),
            "account database path is empty");
  // The hasher's own message, named as an account setting.
  config = FastConfig(dir.File("a.db"));
  config.hasher.opslimit = 0;
  EXPECT_TRUE(absl::StartsWith(
      SqliteAccountStore::Open(config, clock).status().message(),
      "account opslimit 0 is out of range 1.."));
  config = FastConfig(dir.File("a.db"));
  config.busy_timeout = absl::Hours(1) + absl::Seconds(1);
  EXPECT_EQ(SqliteAccountStore::Open(config, clock).status().message(),
            "account hash_wait_timeout and busy_timeout must be 0 to 3600 s");
  config = FastConfig(dir.File("a.db"));
  config.hasher.hash_wait_timeout = -absl::Seconds(1);
  EXPECT_EQ(SqliteAccountStore::Open(config, clock).status().code(),
            absl::StatusCode::kInvalidArgument);
  // Nothing was created for a refused config.
  EXPECT_NE(access(dir.File("a.db").c_str(), F_OK), 0);
}


TEST_F(AccountStoreTest, AFileWithoutTheKnownDevicesTableGainsIt) {
  store_.reset();
  Exec(path_, "DROP TABLE known_devices");
  Reopen();
  ASSERT_TRUE(store_->AddAccount("test0", "pw").ok());
  store_->RecordKnownBlock("test0", "192.0.2.1", absl::UnixEpoch());
  EXPECT_TRUE(store_->IsKnownBlock("test0", "192.0.2.1", absl::UnixEpoch()));
}

}  // namespace
}  // namespace muwarden::game

namespace muwarden::game {
namespace {

CharacterRecord Named(const std::string& name) {
  CharacterRecord c;
  c.name = name;
  c.class_number = 1;
  c.level = 1;
  c.strength = 28;
  c.map = 0;
  c.x = 140;
  c.y = 125;
  return c;
}

TEST_F(AccountStoreTest, VersionOneFileIsMigratedKeepingItsAccounts) {
  ASSERT_TRUE(store_->AddAccount("olden", "pw").ok());
  store_.reset();
  // What a version-1 build left: no characters table, no security code.
  Exec(path_, "DROP TABLE characters; ALTER TABLE accounts DROP COLUMN "
              "security_code; UPDATE schema_version SET version = 1");
  Reopen();
  EXPECT_EQ(QueryText(path_, "SELECT version FROM schema_version"), "2");
  EXPECT_EQ(store_->Verify("olden", "pw").result, LoginResult::kOk);
  EXPECT_TRUE(store_->characters().CreateCharacter("olden", Named("Fresh"), 5).ok());
}

}  // namespace
}  // namespace muwarden::game
