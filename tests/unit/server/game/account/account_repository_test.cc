// The AccountStore and CharacterStore contract, one suite run against both
// engines: the SQLite file and a real PostgreSQL server (started once per test
// process by tests/support/postgres_instance.h; each test gets an empty
// schema). Engine-specific behaviour (file modes, pragmas, migrations of old
// files) stays in sqlite_account_store_test.cc / pg_account_store_test.cc.
#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "gtest/gtest.h"
#include "server/game/account/account_store.h"
#include "server/game/account/known_devices.h"
#include "tests/unit/server/game/account/account_engines.h"
#include "tests/unit/server/game/account/account_test_util.h"

namespace muwarden::game {
namespace {

using ::muwarden::game::testing::PostgresEngine;
using ::muwarden::game::testing::SqliteEngine;

absl::Time Utc(int y, int mo, int d, int h, int mi, int s) {
  return absl::FromCivil(absl::CivilSecond(y, mo, d, h, mi, s),
                         absl::UTCTimeZone());
}

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

template <typename Engine>
class AccountRepositoryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(engine_.Init(), "");
    Reopen();
  }

  void Reopen() {
    store_.reset();
    auto opened = AccountStore::Open(engine_.Config(), clock_);
    ASSERT_TRUE(opened.ok()) << opened.status();
    store_ = *std::move(opened);
  }

  Engine engine_;
  FakeClock clock_;
  std::unique_ptr<AccountStore> store_;
};

struct EngineNames {
  template <typename T>
  static std::string GetName(int) {
    return T::kName;
  }
};

using Engines = ::testing::Types<SqliteEngine, PostgresEngine>;
TYPED_TEST_SUITE(AccountRepositoryTest, Engines, EngineNames);

template <typename Engine>
class CharacterRepositoryTest : public AccountRepositoryTest<Engine> {
 protected:
  void SetUp() override {
    AccountRepositoryTest<Engine>::SetUp();
    if (this->store_ == nullptr) return;
    ASSERT_TRUE(this->store_->AddAccount("alice", "pw").ok());
    ASSERT_TRUE(this->store_->AddAccount("bobby", "pw").ok());
  }
  CharacterStore& chars() { return this->store_->characters(); }
};
TYPED_TEST_SUITE(CharacterRepositoryTest, Engines, EngineNames);

TYPED_TEST(AccountRepositoryTest, StoresAnArgon2idHashNotThePassword) {
  ASSERT_TRUE(this->store_->AddAccount("test0", "hunter2").ok());
  std::string hash = this->engine_.Query(
      "SELECT password_hash FROM accounts WHERE name='test0'");
  EXPECT_TRUE(absl::StartsWith(hash, "$argon2id$")) << hash;
  EXPECT_FALSE(absl::StrContains(hash, "hunter2"));
}

TYPED_TEST(AccountRepositoryTest, NewerSchemaVersionIsRefused) {
  this->store_.reset();
  const int version = TypeParam::kSchemaVersion;
  this->engine_.Exec(
      absl::StrCat("UPDATE schema_version SET version = ", version + 1));
  auto opened = AccountStore::Open(this->engine_.Config(), this->clock_);
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(absl::EndsWith(
      opened.status().message(),
      absl::StrCat("schema version ", version + 1,
                   " is newer than this build understands (", version, ")")))
      << opened.status();
}

TYPED_TEST(AccountRepositoryTest, SqlInNamesAndPasswordsIsOnlyData) {
  // Parameters only: quotes and SQL in a password are bytes like any other.
  const std::string password = "x'); DROP TABLE a;--";
  ASSERT_TRUE(this->store_->AddAccount("test0", password).ok());
  EXPECT_EQ(this->store_->Verify("test0", password).result, LoginResult::kOk);
  ASSERT_TRUE(this->store_->characters().SetSecurityCode("test0", "1'--").ok());
  EXPECT_EQ(*this->store_->characters().SecurityCode("test0"), "1'--");
  EXPECT_EQ(this->engine_.Query("SELECT count(*) FROM accounts"), "1");
}

TYPED_TEST(AccountRepositoryTest, AddThenVerifyOk) {
  ASSERT_TRUE(this->store_->AddAccount("test0", "pass word!").ok());
  absl::StatusOr<AccountInfo> info = this->store_->Get("test0");
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->name, "test0");
  EXPECT_EQ(info->state, AccountState::kActive);
  EXPECT_FALSE(info->blocked_until.has_value());
  EXPECT_EQ(info->created_at, Utc(2026, 1, 1, 0, 0, 0));
  EXPECT_FALSE(info->last_login.has_value());

  this->clock_.Advance(absl::Seconds(90));
  LoginCheck check = this->store_->Verify("test0", "pass word!");
  EXPECT_EQ(check.result, LoginResult::kOk);
  ASSERT_TRUE(check.account.has_value());
  EXPECT_EQ(check.account->name, "test0");
  EXPECT_FALSE(check.account->last_login.has_value());  // the previous one
  EXPECT_EQ(this->store_->Get("test0")->last_login, Utc(2026, 1, 1, 0, 1, 30));

  this->clock_.Advance(absl::Seconds(30));
  check = this->store_->Verify("test0", "pass word!");
  EXPECT_EQ(check.result, LoginResult::kOk);
  EXPECT_EQ(check.account->last_login, Utc(2026, 1, 1, 0, 1, 30));
  EXPECT_EQ(this->store_->Get("test0")->last_login, Utc(2026, 1, 1, 0, 2, 0));
}

TYPED_TEST(AccountRepositoryTest, WrongPasswordCostsOneHashVerify) {
  ASSERT_TRUE(this->store_->AddAccount("test0", "right").ok());
  uint64_t before = this->store_->hash_verifies();
  LoginCheck check = this->store_->Verify("test0", "wrong");
  EXPECT_EQ(check.result, LoginResult::kWrongPassword);
  ASSERT_TRUE(check.account.has_value());
  EXPECT_EQ(check.account->name, "test0");
  EXPECT_EQ(this->store_->hash_verifies(), before + 1);
  EXPECT_FALSE(this->store_->Get("test0")->last_login.has_value());
  // A prefix or an extension of the password is not the password.
  EXPECT_EQ(this->store_->Verify("test0", "righ").result,
            LoginResult::kWrongPassword);
  EXPECT_EQ(this->store_->Verify("test0", "right ").result,
            LoginResult::kWrongPassword);
  EXPECT_EQ(this->store_->Verify("test0", "").result, LoginResult::kWrongPassword);
}

TYPED_TEST(AccountRepositoryTest, UnknownAccountAlsoCostsOneHashVerify) {
  uint64_t before = this->store_->hash_verifies();
  LoginCheck check = this->store_->Verify("nobody", "whatever");
  EXPECT_EQ(check.result, LoginResult::kNoSuchAccount);
  EXPECT_FALSE(check.account.has_value());
  EXPECT_EQ(this->store_->hash_verifies(), before + 1);

  // Malformed names never reach the database but pay the same hash.
  check = this->store_->Verify("x';--", "whatever");
  EXPECT_EQ(check.result, LoginResult::kNoSuchAccount);
  EXPECT_EQ(this->store_->hash_verifies(), before + 2);
  check = this->store_->Verify("", "");
  EXPECT_EQ(check.result, LoginResult::kNoSuchAccount);
  EXPECT_EQ(this->store_->hash_verifies(), before + 3);
}

TYPED_TEST(AccountRepositoryTest, OversizePasswordIsWrongAndStillHashed) {
  ASSERT_TRUE(this->store_->AddAccount("test0", "12345678901234567890").ok());
  uint64_t before = this->store_->hash_verifies();
  EXPECT_EQ(this->store_->Verify("test0", "12345678901234567890").result,
            LoginResult::kOk);
  EXPECT_EQ(this->store_->Verify("test0", "12345678901234567890X").result,
            LoginResult::kWrongPassword);
  EXPECT_EQ(this->store_->hash_verifies(), before + 2);
}

TYPED_TEST(AccountRepositoryTest, NamesAreCaseInsensitiveAndKeepTheirSpelling) {
  ASSERT_TRUE(this->store_->AddAccount("Tester", "pw").ok());
  EXPECT_EQ(this->store_->Verify("tESTER", "pw").result, LoginResult::kOk);
  EXPECT_EQ(this->store_->Get("TESTER")->name, "Tester");
  absl::Status dup = this->store_->AddAccount("tester", "pw2");
  EXPECT_EQ(dup.code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(dup.message(), "account name 'tester' is taken");
  // The password is case-sensitive.
  EXPECT_EQ(this->store_->Verify("Tester", "PW").result, LoginResult::kWrongPassword);
}

TYPED_TEST(AccountRepositoryTest, DuplicateAddIsAlreadyExistsAndKeepsOldPassword) {
  ASSERT_TRUE(this->store_->AddAccount("test0", "first").ok());
  absl::Status dup = this->store_->AddAccount("test0", "second");
  EXPECT_EQ(dup.code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(dup.message(), "account name 'test0' is taken");
  EXPECT_EQ(this->store_->Verify("test0", "first").result, LoginResult::kOk);
  EXPECT_EQ(this->store_->Verify("test0", "second").result,
            LoginResult::kWrongPassword);
}

TYPED_TEST(AccountRepositoryTest, RejectsBadNamesNamingTheRule) {
  const char* bad[] = {"",      "abc",         "abcdefghijk", "ab cd",
                       "ab-cd", "t\xc3\xabst", "abc\n",       "ab;d'"};
  for (const char* name : bad) {
    absl::Status s = this->store_->AddAccount(name, "pw");
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << name;
    EXPECT_TRUE(absl::StrContains(
        s.message(), "is invalid: 4 to 10 characters of A-Z a-z 0-9 _"))
        << s.message();
  }
  EXPECT_EQ(this->store_->AddAccount("x", "pw").message(),
            "account name 'x' is invalid: 4 to 10 characters of A-Z a-z 0-9 _");
  // Control bytes are escaped, not written raw to a terminal.
  EXPECT_EQ(this->store_->AddAccount("a\x1b[2J", "pw").message(),
            "account name 'a\\x1b[2J' is invalid: 4 to 10 characters of A-Z "
            "a-z 0-9 _");
  EXPECT_TRUE(this->store_->AddAccount("abcd", "pw").ok());
  EXPECT_TRUE(this->store_->AddAccount("Ab_9012345", "pw").ok());
  EXPECT_EQ(this->store_->List()->size(), 2u);
}

TYPED_TEST(AccountRepositoryTest, RejectsBadPasswordsWithoutQuotingThem) {
  const std::string bad[] = {"",          "123456789012345678901",
                             "tab\there", std::string("nul\0x", 5),
                             "del\x7f",   "caf\xc3\xa9"};
  for (const std::string& password : bad) {
    absl::Status s = this->store_->AddAccount("test0", password);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(s.message(),
              "password is invalid: 1 to 20 printable ASCII characters");
  }
  EXPECT_EQ(this->store_->List()->size(), 0u);
  EXPECT_TRUE(this->store_->AddAccount("test0", "12345678901234567890").ok());
  EXPECT_TRUE(this->store_->AddAccount("test1", " ~!@#$%^&*()_+{}|:\"<").ok());
  EXPECT_TRUE(this->store_->AddAccount("test2", "x").ok());
  EXPECT_EQ(this->store_->SetPassword("test0", "").code(),
            absl::StatusCode::kInvalidArgument);
}

TYPED_TEST(AccountRepositoryTest, PermanentBlockShownOnlyWithTheRightPassword) {
  ASSERT_TRUE(this->store_->AddAccount("test0", "pw").ok());
  ASSERT_TRUE(this->store_->Block("test0", std::nullopt).ok());
  absl::StatusOr<AccountInfo> info = this->store_->Get("test0");
  EXPECT_EQ(info->state, AccountState::kBlocked);
  EXPECT_FALSE(info->blocked_until.has_value());
  EXPECT_TRUE(info->IsBlockedAt(this->clock_.WallNow() + absl::Hours(24 * 365)));

  EXPECT_EQ(this->store_->Verify("test0", "pw").result, LoginResult::kBlocked);
  // A guesser learns nothing about the block.
  EXPECT_EQ(this->store_->Verify("test0", "guess").result,
            LoginResult::kWrongPassword);
  EXPECT_FALSE(this->store_->Get("test0")->last_login.has_value());

  ASSERT_TRUE(this->store_->Unblock("test0").ok());
  EXPECT_EQ(this->store_->Get("test0")->state, AccountState::kActive);
  EXPECT_EQ(this->store_->Verify("test0", "pw").result, LoginResult::kOk);
}

TYPED_TEST(AccountRepositoryTest, TemporaryBlockExpiresWithWallTime) {
  ASSERT_TRUE(this->store_->AddAccount("test0", "pw").ok());
  absl::Time until = this->clock_.WallNow() + absl::Hours(1);
  ASSERT_TRUE(this->store_->Block("test0", until).ok());
  absl::StatusOr<AccountInfo> info = this->store_->Get("test0");
  EXPECT_EQ(info->state, AccountState::kBlocked);
  EXPECT_EQ(info->blocked_until, Utc(2026, 1, 1, 1, 0, 0));

  LoginCheck check = this->store_->Verify("test0", "pw");
  EXPECT_EQ(check.result, LoginResult::kTemporarilyBlocked);
  EXPECT_EQ(check.account->blocked_until, until);
  this->clock_.Advance(absl::Hours(1) - absl::Seconds(1));
  EXPECT_EQ(this->store_->Verify("test0", "pw").result,
            LoginResult::kTemporarilyBlocked);
  this->clock_.Advance(absl::Seconds(1));
  EXPECT_EQ(this->store_->Verify("test0", "pw").result, LoginResult::kOk);
  EXPECT_EQ(this->store_->Get("test0")->last_login, until);
}

TYPED_TEST(AccountRepositoryTest, BlockEndMustBeInTheFuture) {
  ASSERT_TRUE(this->store_->AddAccount("test0", "pw").ok());
  absl::Status s = this->store_->Block("test0", this->clock_.WallNow());
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "block end 2026-01-01T00:00:00Z is not in the future");
  EXPECT_EQ(this->store_->Get("test0")->state, AccountState::kActive);
}

TYPED_TEST(AccountRepositoryTest, UnknownAccountIsNotFoundForEveryEdit) {
  const std::string message = "no account named 'nobody'";
  EXPECT_EQ(this->store_->Block("nobody", std::nullopt).message(), message);
  EXPECT_EQ(this->store_->Block("nobody", std::nullopt).code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(this->store_->Unblock("nobody").code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(this->store_->SetPassword("nobody", "pw").code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(this->store_->Get("nobody").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(this->store_->Get("nobody").status().message(), message);
  EXPECT_EQ(this->store_->List()->size(), 0u);
}

TYPED_TEST(AccountRepositoryTest, SetPasswordReplacesTheOldOne) {
  ASSERT_TRUE(this->store_->AddAccount("test0", "old").ok());
  ASSERT_TRUE(this->store_->SetPassword("TEST0", "new").ok());
  EXPECT_EQ(this->store_->Verify("test0", "old").result, LoginResult::kWrongPassword);
  EXPECT_EQ(this->store_->Verify("test0", "new").result, LoginResult::kOk);
}

TYPED_TEST(AccountRepositoryTest, ListIsOrderedByName) {
  ASSERT_TRUE(this->store_->AddAccount("zeta", "pw").ok());
  ASSERT_TRUE(this->store_->AddAccount("Alpha", "pw").ok());
  ASSERT_TRUE(this->store_->AddAccount("beta", "pw").ok());
  absl::StatusOr<std::vector<AccountInfo>> all = this->store_->List();
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 3u);
  EXPECT_EQ((*all)[0].name, "Alpha");
  EXPECT_EQ((*all)[1].name, "beta");
  EXPECT_EQ((*all)[2].name, "zeta");
}

TYPED_TEST(AccountRepositoryTest, EverythingSurvivesCloseAndReopen) {
  ASSERT_TRUE(this->store_->AddAccount("test0", "pw0").ok());
  ASSERT_TRUE(this->store_->AddAccount("test1", "pw1").ok());
  ASSERT_TRUE(
      this->store_->Block("test1", this->clock_.WallNow() + absl::Seconds(600)).ok());
  this->clock_.Advance(absl::Seconds(5));
  ASSERT_EQ(this->store_->Verify("test0", "pw0").result, LoginResult::kOk);

  this->Reopen();
  absl::StatusOr<AccountInfo> t0 = this->store_->Get("test0");
  ASSERT_TRUE(t0.ok());
  EXPECT_EQ(t0->created_at, Utc(2026, 1, 1, 0, 0, 0));
  EXPECT_EQ(t0->last_login, Utc(2026, 1, 1, 0, 0, 5));
  EXPECT_EQ(this->store_->Verify("test0", "pw0").result, LoginResult::kOk);
  EXPECT_EQ(this->store_->Verify("test1", "pw1").result,
            LoginResult::kTemporarilyBlocked);
  EXPECT_EQ(this->store_->Get("test1")->blocked_until, Utc(2026, 1, 1, 0, 10, 0));
}

TYPED_TEST(AccountRepositoryTest, SecondStoreOnTheSameFileSeesWrites) {
  // The operator CLI and the running server each hold a connection.
  auto other = AccountStore::Open(this->engine_.Config(), this->clock_);
  ASSERT_TRUE(other.ok()) << other.status();
  ASSERT_TRUE((*other)->AddAccount("test0", "pw").ok());
  EXPECT_EQ(this->store_->Verify("test0", "pw").result, LoginResult::kOk);
  ASSERT_TRUE((*other)->Block("test0", std::nullopt).ok());
  EXPECT_EQ(this->store_->Verify("test0", "pw").result, LoginResult::kBlocked);
}

TYPED_TEST(AccountRepositoryTest, ConcurrentVerifyFromFourThreads) {
  ASSERT_TRUE(this->store_->AddAccount("test0", "pw0").ok());
  ASSERT_TRUE(this->store_->AddAccount("test1", "pw1").ok());
  ASSERT_TRUE(this->store_->AddAccount("test2", "pw2").ok());
  constexpr int kThreads = 4;
  constexpr int kRounds = 25;
  std::atomic<int> mismatches{0};
  uint64_t before = this->store_->hash_verifies();
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kRounds; ++i) {
        if (this->store_->Verify("test0", "pw0").result != LoginResult::kOk) {
          ++mismatches;
        }
        if (this->store_->Verify("test1", "pw0").result !=
            LoginResult::kWrongPassword) {
          ++mismatches;
        }
        if (this->store_->Verify("ghost", "pw").result !=
            LoginResult::kNoSuchAccount) {
          ++mismatches;
        }
        // A writer in the mix: test2 toggles between blocked and not.
        if (t == 0) {
          EXPECT_TRUE(this->store_->Block("test2", std::nullopt).ok());
        } else if (t == 1) {
          EXPECT_TRUE(this->store_->Unblock("test2").ok());
        } else {
          LoginResult r = this->store_->Verify("test2", "pw2").result;
          if (r != LoginResult::kOk && r != LoginResult::kBlocked) {
            ++mismatches;
          }
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(mismatches.load(), 0);
  EXPECT_EQ(this->store_->hash_verifies(),
            before + kThreads * kRounds * 3 + 2 * kRounds * 1);
  EXPECT_EQ(this->store_->hash_slot_timeouts(), 0u);
}

TYPED_TEST(AccountRepositoryTest, KnownBlocksAreRecordedPerAccountBoundedAndExpire) {
  ASSERT_TRUE(this->store_->AddAccount("Test0", "pw").ok());
  const absl::Time start = this->clock_.WallNow();
  const absl::Time month_ago = start - absl::Hours(24 * 30);
  EXPECT_FALSE(this->store_->IsKnownBlock("test0", "192.0.2.1", month_ago));
  this->store_->RecordKnownBlock("test0", "192.0.2.1", month_ago);
  // Case-insensitive like the account name; per account and per block.
  EXPECT_TRUE(this->store_->IsKnownBlock("TEST0", "192.0.2.1", month_ago));
  EXPECT_FALSE(this->store_->IsKnownBlock("test0", "192.0.2.2", month_ago));
  EXPECT_FALSE(this->store_->IsKnownBlock("other", "192.0.2.1", month_ago));
  EXPECT_FALSE(this->store_->IsKnownBlock("x y", "192.0.2.1", month_ago));
  // Survives a restart (it is in the file), in its own table.
  this->Reopen();
  EXPECT_TRUE(this->store_->IsKnownBlock("test0", "192.0.2.1", month_ago));
  EXPECT_EQ(this->engine_.Query("SELECT count(*) FROM known_devices"), "1");
  // Bounded per account: the oldest is forgotten first.
  for (int i = 2; i <= kMaxKnownBlocksPerAccount + 3; ++i) {
    this->clock_.SetWallNow(this->clock_.WallNow() + absl::Seconds(10));
    this->store_->RecordKnownBlock("test0", absl::StrCat("192.0.2.", i),
                             this->clock_.WallNow() - absl::Hours(24 * 30));
  }
  EXPECT_EQ(this->engine_.Query("SELECT count(*) FROM known_devices"),
            absl::StrCat(kMaxKnownBlocksPerAccount));
  EXPECT_FALSE(this->store_->IsKnownBlock("test0", "192.0.2.1", month_ago));
  EXPECT_TRUE(this->store_->IsKnownBlock(
      "test0", absl::StrCat("192.0.2.", kMaxKnownBlocksPerAccount + 3),
      month_ago));
  // Known means seen since the horizon the caller gives.
  const absl::Time later = this->clock_.WallNow() + absl::Hours(24 * 31);
  EXPECT_FALSE(this->store_->IsKnownBlock("test0", "192.0.2.11",
                                    later - absl::Hours(24 * 30)));
  // The next record forgets what is past the horizon.
  this->clock_.SetWallNow(later);
  this->store_->RecordKnownBlock("test0", "2001:db8::/64",
                           later - absl::Hours(24 * 30));
  EXPECT_EQ(this->engine_.Query("SELECT count(*) FROM known_devices"), "1");
}

TYPED_TEST(CharacterRepositoryTest, CreateTakesTheLowestFreeSlotUpToTheCap) {
  EXPECT_EQ(this->chars().CreateCharacter("alice", Named("One"), 3)->slot, 0);
  EXPECT_EQ(this->chars().CreateCharacter("alice", Named("Two"), 3)->slot, 1);
  EXPECT_EQ(this->chars().CreateCharacter("alice", Named("Three"), 3)->slot, 2);
  EXPECT_EQ(this->chars().CreateCharacter("alice", Named("Four"), 3).status().code(),
            absl::StatusCode::kResourceExhausted);
  ASSERT_TRUE(this->chars().DeleteCharacter("alice", "Two").ok());
  EXPECT_EQ(this->chars().CreateCharacter("alice", Named("Again"), 3)->slot, 1);
  auto list = this->chars().ListCharacters("ALICE");
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 3u);
  EXPECT_EQ((*list)[0].name, "One");
  EXPECT_EQ((*list)[1].name, "Again");
  EXPECT_EQ((*list)[2].name, "Three");
  EXPECT_EQ((*list)[0].strength, 28);
}

TYPED_TEST(CharacterRepositoryTest, NamesAreUniqueServerWideInAnyCase) {
  ASSERT_TRUE(this->chars().CreateCharacter("alice", Named("Hero"), 5).ok());
  EXPECT_EQ(this->chars().CreateCharacter("bobby", Named("HERO"), 5).status().code(),
            absl::StatusCode::kAlreadyExists);
  EXPECT_TRUE(this->chars().ListCharacters("bobby")->empty());
}

TYPED_TEST(CharacterRepositoryTest, DeleteAndGetOnlyTheAccountsOwn) {
  ASSERT_TRUE(this->chars().CreateCharacter("alice", Named("Mine"), 5).ok());
  EXPECT_EQ(this->chars().GetCharacter("bobby", "Mine").status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(this->chars().DeleteCharacter("bobby", "Mine").code(),
            absl::StatusCode::kNotFound);
  EXPECT_TRUE(this->chars().GetCharacter("alice", "mine").ok());
  EXPECT_TRUE(this->chars().DeleteCharacter("alice", "Mine").ok());
}

TYPED_TEST(CharacterRepositoryTest, PositionAndSecurityCodeSurviveAReopen) {
  ASSERT_TRUE(this->chars().CreateCharacter("alice", Named("Walker"), 5).ok());
  ASSERT_TRUE(this->chars().SavePosition("Walker", 3, 175, 110, 6).ok());
  EXPECT_EQ(*this->chars().SecurityCode("alice"), "");
  ASSERT_TRUE(this->chars().SetSecurityCode("alice", "1234").ok());
  this->Reopen();
  auto c = this->chars().GetCharacter("alice", "Walker");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->map, 3);
  EXPECT_EQ(c->x, 175);
  EXPECT_EQ(c->y, 110);
  EXPECT_EQ(c->direction, 6);
  EXPECT_EQ(*this->chars().SecurityCode("alice"), "1234");
  EXPECT_EQ(this->chars().SavePosition("Nobody", 0, 1, 1, 0).code(),
            absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace muwarden::game
