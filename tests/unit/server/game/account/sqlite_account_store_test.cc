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
#include "absl/time/civil_time.h"
#include "gtest/gtest.h"
#include "tests/unit/server/game/account/account_test_util.h"

namespace muwarden::game {
namespace {

using ::muwarden::game::testing::FastConfig;
using ::muwarden::game::testing::TempDir;

absl::Time Utc(int y, int mo, int d, int h, int mi, int s) {
  return absl::FromCivil(absl::CivilSecond(y, mo, d, h, mi, s),
                         absl::UTCTimeZone());
}

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

TEST_F(AccountStoreTest, AddThenVerifyOk) {
  ASSERT_TRUE(store_->AddAccount("test0", "pass word!").ok());
  absl::StatusOr<AccountInfo> info = store_->Get("test0");
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->name, "test0");
  EXPECT_EQ(info->state, AccountState::kActive);
  EXPECT_FALSE(info->blocked_until.has_value());
  EXPECT_EQ(info->created_at, Utc(2026, 1, 1, 0, 0, 0));
  EXPECT_FALSE(info->last_login.has_value());

  clock_.Advance(absl::Seconds(90));
  LoginCheck check = store_->Verify("test0", "pass word!");
  EXPECT_EQ(check.result, LoginResult::kOk);
  ASSERT_TRUE(check.account.has_value());
  EXPECT_EQ(check.account->name, "test0");
  EXPECT_FALSE(check.account->last_login.has_value());  // the previous one
  EXPECT_EQ(store_->Get("test0")->last_login, Utc(2026, 1, 1, 0, 1, 30));

  clock_.Advance(absl::Seconds(30));
  check = store_->Verify("test0", "pass word!");
  EXPECT_EQ(check.result, LoginResult::kOk);
  EXPECT_EQ(check.account->last_login, Utc(2026, 1, 1, 0, 1, 30));
  EXPECT_EQ(store_->Get("test0")->last_login, Utc(2026, 1, 1, 0, 2, 0));
}

TEST_F(AccountStoreTest, StoresAnArgon2idHashNotThePassword) {
  ASSERT_TRUE(store_->AddAccount("test0", "hunter2").ok());
  std::string hash =
      QueryText(path_, "SELECT password_hash FROM accounts WHERE name='test0'");
  EXPECT_TRUE(absl::StartsWith(hash, "$argon2id$")) << hash;
  EXPECT_FALSE(absl::StrContains(hash, "hunter2"));
}

TEST_F(AccountStoreTest, WrongPasswordCostsOneHashVerify) {
  ASSERT_TRUE(store_->AddAccount("test0", "right").ok());
  uint64_t before = store_->hash_verifies();
  LoginCheck check = store_->Verify("test0", "wrong");
  EXPECT_EQ(check.result, LoginResult::kWrongPassword);
  ASSERT_TRUE(check.account.has_value());
  EXPECT_EQ(check.account->name, "test0");
  EXPECT_EQ(store_->hash_verifies(), before + 1);
  EXPECT_FALSE(store_->Get("test0")->last_login.has_value());
  // A prefix or an extension of the password is not the password.
  EXPECT_EQ(store_->Verify("test0", "righ").result,
            LoginResult::kWrongPassword);
  EXPECT_EQ(store_->Verify("test0", "right ").result,
            LoginResult::kWrongPassword);
  EXPECT_EQ(store_->Verify("test0", "").result, LoginResult::kWrongPassword);
}

TEST_F(AccountStoreTest, UnknownAccountAlsoCostsOneHashVerify) {
  uint64_t before = store_->hash_verifies();
  LoginCheck check = store_->Verify("nobody", "whatever");
  EXPECT_EQ(check.result, LoginResult::kNoSuchAccount);
  EXPECT_FALSE(check.account.has_value());
  EXPECT_EQ(store_->hash_verifies(), before + 1);

  // Malformed names never reach the database but pay the same hash.
  check = store_->Verify("x';--", "whatever");
  EXPECT_EQ(check.result, LoginResult::kNoSuchAccount);
  EXPECT_EQ(store_->hash_verifies(), before + 2);
  check = store_->Verify("", "");
  EXPECT_EQ(check.result, LoginResult::kNoSuchAccount);
  EXPECT_EQ(store_->hash_verifies(), before + 3);
}

TEST_F(AccountStoreTest, OversizePasswordIsWrongAndStillHashed) {
  ASSERT_TRUE(store_->AddAccount("test0", "12345678901234567890").ok());
  uint64_t before = store_->hash_verifies();
  EXPECT_EQ(store_->Verify("test0", "12345678901234567890").result,
            LoginResult::kOk);
  EXPECT_EQ(store_->Verify("test0", "12345678901234567890X").result,
            LoginResult::kWrongPassword);
  EXPECT_EQ(store_->hash_verifies(), before + 2);
}

TEST_F(AccountStoreTest, NamesAreCaseInsensitiveAndKeepTheirSpelling) {
  ASSERT_TRUE(store_->AddAccount("Tester", "pw").ok());
  EXPECT_EQ(store_->Verify("tESTER", "pw").result, LoginResult::kOk);
  EXPECT_EQ(store_->Get("TESTER")->name, "Tester");
  absl::Status dup = store_->AddAccount("tester", "pw2");
  EXPECT_EQ(dup.code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(dup.message(), "account name 'tester' is taken");
  // The password is case-sensitive.
  EXPECT_EQ(store_->Verify("Tester", "PW").result, LoginResult::kWrongPassword);
}

TEST_F(AccountStoreTest, DuplicateAddIsAlreadyExistsAndKeepsOldPassword) {
  ASSERT_TRUE(store_->AddAccount("test0", "first").ok());
  absl::Status dup = store_->AddAccount("test0", "second");
  EXPECT_EQ(dup.code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(dup.message(), "account name 'test0' is taken");
  EXPECT_EQ(store_->Verify("test0", "first").result, LoginResult::kOk);
  EXPECT_EQ(store_->Verify("test0", "second").result,
            LoginResult::kWrongPassword);
}

TEST_F(AccountStoreTest, RejectsBadNamesNamingTheRule) {
  const char* bad[] = {"",      "abc",         "abcdefghijk", "ab cd",
                       "ab-cd", "t\xc3\xabst", "abc\n",       "ab;d'"};
  for (const char* name : bad) {
    absl::Status s = store_->AddAccount(name, "pw");
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << name;
    EXPECT_TRUE(absl::StrContains(
        s.message(), "is invalid: 4 to 10 characters of A-Z a-z 0-9 _"))
        << s.message();
  }
  EXPECT_EQ(store_->AddAccount("x", "pw").message(),
            "account name 'x' is invalid: 4 to 10 characters of A-Z a-z 0-9 _");
  // Control bytes are escaped, not written raw to a terminal.
  EXPECT_EQ(store_->AddAccount("a\x1b[2J", "pw").message(),
            "account name 'a\\x1b[2J' is invalid: 4 to 10 characters of A-Z "
            "a-z 0-9 _");
  EXPECT_TRUE(store_->AddAccount("abcd", "pw").ok());
  EXPECT_TRUE(store_->AddAccount("Ab_9012345", "pw").ok());
  EXPECT_EQ(store_->List()->size(), 2u);
}

TEST_F(AccountStoreTest, RejectsBadPasswordsWithoutQuotingThem) {
  const std::string bad[] = {"",          "123456789012345678901",
                             "tab\there", std::string("nul\0x", 5),
                             "del\x7f",   "caf\xc3\xa9"};
  for (const std::string& password : bad) {
    absl::Status s = store_->AddAccount("test0", password);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(s.message(),
              "password is invalid: 1 to 20 printable ASCII characters");
  }
  EXPECT_EQ(store_->List()->size(), 0u);
  EXPECT_TRUE(store_->AddAccount("test0", "12345678901234567890").ok());
  EXPECT_TRUE(store_->AddAccount("test1", " ~!@#$%^&*()_+{}|:\"<").ok());
  EXPECT_TRUE(store_->AddAccount("test2", "x").ok());
  EXPECT_EQ(store_->SetPassword("test0", "").code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(AccountStoreTest, PermanentBlockShownOnlyWithTheRightPassword) {
  ASSERT_TRUE(store_->AddAccount("test0", "pw").ok());
  ASSERT_TRUE(store_->Block("test0", std::nullopt).ok());
  absl::StatusOr<AccountInfo> info = store_->Get("test0");
  EXPECT_EQ(info->state, AccountState::kBlocked);
  EXPECT_FALSE(info->blocked_until.has_value());
  EXPECT_TRUE(info->IsBlockedAt(clock_.WallNow() + absl::Hours(24 * 365)));

  EXPECT_EQ(store_->Verify("test0", "pw").result, LoginResult::kBlocked);
  // A guesser learns nothing about the block.
  EXPECT_EQ(store_->Verify("test0", "guess").result,
            LoginResult::kWrongPassword);
  EXPECT_FALSE(store_->Get("test0")->last_login.has_value());

  ASSERT_TRUE(store_->Unblock("test0").ok());
  EXPECT_EQ(store_->Get("test0")->state, AccountState::kActive);
  EXPECT_EQ(store_->Verify("test0", "pw").result, LoginResult::kOk);
}

TEST_F(AccountStoreTest, TemporaryBlockExpiresWithWallTime) {
  ASSERT_TRUE(store_->AddAccount("test0", "pw").ok());
  absl::Time until = clock_.WallNow() + absl::Hours(1);
  ASSERT_TRUE(store_->Block("test0", until).ok());
  absl::StatusOr<AccountInfo> info = store_->Get("test0");
  EXPECT_EQ(info->state, AccountState::kBlocked);
  EXPECT_EQ(info->blocked_until, Utc(2026, 1, 1, 1, 0, 0));

  LoginCheck check = store_->Verify("test0", "pw");
  EXPECT_EQ(check.result, LoginResult::kTemporarilyBlocked);
  EXPECT_EQ(check.account->blocked_until, until);
  clock_.Advance(absl::Hours(1) - absl::Seconds(1));
  EXPECT_EQ(store_->Verify("test0", "pw").result,
            LoginResult::kTemporarilyBlocked);
  clock_.Advance(absl::Seconds(1));
  EXPECT_EQ(store_->Verify("test0", "pw").result, LoginResult::kOk);
  EXPECT_EQ(store_->Get("test0")->last_login, until);
}

TEST_F(AccountStoreTest, BlockEndMustBeInTheFuture) {
  ASSERT_TRUE(store_->AddAccount("test0", "pw").ok());
  absl::Status s = store_->Block("test0", clock_.WallNow());
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "block end 2026-01-01T00:00:00Z is not in the future");
  EXPECT_EQ(store_->Get("test0")->state, AccountState::kActive);
}

TEST_F(AccountStoreTest, UnknownAccountIsNotFoundForEveryEdit) {
  const std::string message = "no account named 'nobody'";
  EXPECT_EQ(store_->Block("nobody", std::nullopt).message(), message);
  EXPECT_EQ(store_->Block("nobody", std::nullopt).code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(store_->Unblock("nobody").code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(store_->SetPassword("nobody", "pw").code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(store_->Get("nobody").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(store_->Get("nobody").status().message(), message);
  EXPECT_EQ(store_->List()->size(), 0u);
}

TEST_F(AccountStoreTest, SetPasswordReplacesTheOldOne) {
  ASSERT_TRUE(store_->AddAccount("test0", "old").ok());
  ASSERT_TRUE(store_->SetPassword("TEST0", "new").ok());
  EXPECT_EQ(store_->Verify("test0", "old").result, LoginResult::kWrongPassword);
  EXPECT_EQ(store_->Verify("test0", "new").result, LoginResult::kOk);
}

TEST_F(AccountStoreTest, ListIsOrderedByName) {
  ASSERT_TRUE(store_->AddAccount("zeta", "pw").ok());
  ASSERT_TRUE(store_->AddAccount("Alpha", "pw").ok());
  ASSERT_TRUE(store_->AddAccount("beta", "pw").ok());
  absl::StatusOr<std::vector<AccountInfo>> all = store_->List();
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 3u);
  EXPECT_EQ((*all)[0].name, "Alpha");
  EXPECT_EQ((*all)[1].name, "beta");
  EXPECT_EQ((*all)[2].name, "zeta");
}

TEST_F(AccountStoreTest, EverythingSurvivesCloseAndReopen) {
  ASSERT_TRUE(store_->AddAccount("test0", "pw0").ok());
  ASSERT_TRUE(store_->AddAccount("test1", "pw1").ok());
  ASSERT_TRUE(
      store_->Block("test1", clock_.WallNow() + absl::Seconds(600)).ok());
  clock_.Advance(absl::Seconds(5));
  ASSERT_EQ(store_->Verify("test0", "pw0").result, LoginResult::kOk);

  Reopen();
  absl::StatusOr<AccountInfo> t0 = store_->Get("test0");
  ASSERT_TRUE(t0.ok());
  EXPECT_EQ(t0->created_at, Utc(2026, 1, 1, 0, 0, 0));
  EXPECT_EQ(t0->last_login, Utc(2026, 1, 1, 0, 0, 5));
  EXPECT_EQ(store_->Verify("test0", "pw0").result, LoginResult::kOk);
  EXPECT_EQ(store_->Verify("test1", "pw1").result,
            LoginResult::kTemporarilyBlocked);
  EXPECT_EQ(store_->Get("test1")->blocked_until, Utc(2026, 1, 1, 0, 10, 0));
}

TEST_F(AccountStoreTest, SecondStoreOnTheSameFileSeesWrites) {
  // The operator CLI and the running server each hold a connection.
  auto other = SqliteAccountStore::Open(FastConfig(path_), clock_);
  ASSERT_TRUE(other.ok()) << other.status();
  ASSERT_TRUE((*other)->AddAccount("test0", "pw").ok());
  EXPECT_EQ(store_->Verify("test0", "pw").result, LoginResult::kOk);
  ASSERT_TRUE((*other)->Block("test0", std::nullopt).ok());
  EXPECT_EQ(store_->Verify("test0", "pw").result, LoginResult::kBlocked);
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

TEST_F(AccountStoreTest, ConcurrentVerifyFromFourThreads) {
  ASSERT_TRUE(store_->AddAccount("test0", "pw0").ok());
  ASSERT_TRUE(store_->AddAccount("test1", "pw1").ok());
  ASSERT_TRUE(store_->AddAccount("test2", "pw2").ok());
  constexpr int kThreads = 4;
  constexpr int kRounds = 25;
  std::atomic<int> mismatches{0};
  uint64_t before = store_->hash_verifies();
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kRounds; ++i) {
        if (store_->Verify("test0", "pw0").result != LoginResult::kOk) {
          ++mismatches;
        }
        if (store_->Verify("test1", "pw0").result !=
            LoginResult::kWrongPassword) {
          ++mismatches;
        }
        if (store_->Verify("ghost", "pw").result !=
            LoginResult::kNoSuchAccount) {
          ++mismatches;
        }
        // A writer in the mix: test2 toggles between blocked and not.
        if (t == 0) {
          EXPECT_TRUE(store_->Block("test2", std::nullopt).ok());
        } else if (t == 1) {
          EXPECT_TRUE(store_->Unblock("test2").ok());
        } else {
          LoginResult r = store_->Verify("test2", "pw2").result;
          if (r != LoginResult::kOk && r != LoginResult::kBlocked) {
            ++mismatches;
          }
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(mismatches.load(), 0);
  EXPECT_EQ(store_->hash_verifies(),
            before + kThreads * kRounds * 3 + 2 * kRounds * 1);
  EXPECT_EQ(store_->hash_slot_timeouts(), 0u);
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


TEST_F(AccountStoreTest, KnownBlocksAreRecordedPerAccountBoundedAndExpire) {
  ASSERT_TRUE(store_->AddAccount("Test0", "pw").ok());
  const absl::Time start = clock_.WallNow();
  const absl::Time month_ago = start - absl::Hours(24 * 30);
  EXPECT_FALSE(store_->IsKnownBlock("test0", "192.0.2.1", month_ago));
  store_->RecordKnownBlock("test0", "192.0.2.1", month_ago);
  // Case-insensitive like the account name; per account and per block.
  EXPECT_TRUE(store_->IsKnownBlock("TEST0", "192.0.2.1", month_ago));
  EXPECT_FALSE(store_->IsKnownBlock("test0", "192.0.2.2", month_ago));
  EXPECT_FALSE(store_->IsKnownBlock("other", "192.0.2.1", month_ago));
  EXPECT_FALSE(store_->IsKnownBlock("x y", "192.0.2.1", month_ago));
  // Survives a restart (it is in the file), in its own table.
  Reopen();
  EXPECT_TRUE(store_->IsKnownBlock("test0", "192.0.2.1", month_ago));
  EXPECT_EQ(QueryText(path_, "SELECT count(*) FROM known_devices"), "1");
  // Bounded per account: the oldest is forgotten first.
  for (int i = 2; i <= kMaxKnownBlocksPerAccount + 3; ++i) {
    clock_.SetWallNow(clock_.WallNow() + absl::Seconds(10));
    store_->RecordKnownBlock("test0", absl::StrCat("192.0.2.", i),
                             clock_.WallNow() - absl::Hours(24 * 30));
  }
  EXPECT_EQ(QueryText(path_, "SELECT count(*) FROM known_devices"),
            absl::StrCat(kMaxKnownBlocksPerAccount));
  EXPECT_FALSE(store_->IsKnownBlock("test0", "192.0.2.1", month_ago));
  EXPECT_TRUE(store_->IsKnownBlock(
      "test0", absl::StrCat("192.0.2.", kMaxKnownBlocksPerAccount + 3),
      month_ago));
  // Known means seen since the horizon the caller gives.
  const absl::Time later = clock_.WallNow() + absl::Hours(24 * 31);
  EXPECT_FALSE(store_->IsKnownBlock("test0", "192.0.2.11",
                                    later - absl::Hours(24 * 30)));
  // The next record forgets what is past the horizon.
  clock_.SetWallNow(later);
  store_->RecordKnownBlock("test0", "2001:db8::/64",
                           later - absl::Hours(24 * 30));
  EXPECT_EQ(QueryText(path_, "SELECT count(*) FROM known_devices"), "1");
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

// The CharacterStore contract on the SQLite store.
class CharacterStoreTest : public AccountStoreTest {
 protected:
  void SetUp() override {
    AccountStoreTest::SetUp();
    ASSERT_TRUE(store_->AddAccount("alice", "pw").ok());
    ASSERT_TRUE(store_->AddAccount("bobby", "pw").ok());
  }
  CharacterStore& chars() { return store_->characters(); }
};

TEST_F(CharacterStoreTest, CreateTakesTheLowestFreeSlotUpToTheCap) {
  EXPECT_EQ(chars().CreateCharacter("alice", Named("One"), 3)->slot, 0);
  EXPECT_EQ(chars().CreateCharacter("alice", Named("Two"), 3)->slot, 1);
  EXPECT_EQ(chars().CreateCharacter("alice", Named("Three"), 3)->slot, 2);
  EXPECT_EQ(chars().CreateCharacter("alice", Named("Four"), 3).status().code(),
            absl::StatusCode::kResourceExhausted);
  ASSERT_TRUE(chars().DeleteCharacter("alice", "Two").ok());
  EXPECT_EQ(chars().CreateCharacter("alice", Named("Again"), 3)->slot, 1);
  auto list = chars().ListCharacters("ALICE");
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 3u);
  EXPECT_EQ((*list)[0].name, "One");
  EXPECT_EQ((*list)[1].name, "Again");
  EXPECT_EQ((*list)[2].name, "Three");
  EXPECT_EQ((*list)[0].strength, 28);
}

TEST_F(CharacterStoreTest, NamesAreUniqueServerWideInAnyCase) {
  ASSERT_TRUE(chars().CreateCharacter("alice", Named("Hero"), 5).ok());
  EXPECT_EQ(chars().CreateCharacter("bobby", Named("HERO"), 5).status().code(),
            absl::StatusCode::kAlreadyExists);
  EXPECT_TRUE(chars().ListCharacters("bobby")->empty());
}

TEST_F(CharacterStoreTest, DeleteAndGetOnlyTheAccountsOwn) {
  ASSERT_TRUE(chars().CreateCharacter("alice", Named("Mine"), 5).ok());
  EXPECT_EQ(chars().GetCharacter("bobby", "Mine").status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(chars().DeleteCharacter("bobby", "Mine").code(),
            absl::StatusCode::kNotFound);
  EXPECT_TRUE(chars().GetCharacter("alice", "mine").ok());
  EXPECT_TRUE(chars().DeleteCharacter("alice", "Mine").ok());
}

TEST_F(CharacterStoreTest, PositionAndSecurityCodeSurviveAReopen) {
  ASSERT_TRUE(chars().CreateCharacter("alice", Named("Walker"), 5).ok());
  ASSERT_TRUE(chars().SavePosition("Walker", 3, 175, 110, 6).ok());
  EXPECT_EQ(*chars().SecurityCode("alice"), "");
  ASSERT_TRUE(chars().SetSecurityCode("alice", "1234").ok());
  Reopen();
  auto c = chars().GetCharacter("alice", "Walker");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->map, 3);
  EXPECT_EQ(c->x, 175);
  EXPECT_EQ(c->y, 110);
  EXPECT_EQ(c->direction, 6);
  EXPECT_EQ(*chars().SecurityCode("alice"), "1234");
  EXPECT_EQ(chars().SavePosition("Nobody", 0, 1, 1, 0).code(),
            absl::StatusCode::kNotFound);
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
