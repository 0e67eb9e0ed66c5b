#include "server/game/account/account_store.h"

#include <string>

#include "absl/strings/match.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "tests/unit/server/game/account/account_test_util.h"

namespace muwarden::game {
namespace {

using ::muwarden::game::testing::FastConfig;
using ::muwarden::game::testing::TempDir;

TEST(AccountStoreConfigTest, Defaults) {
  AccountStoreConfig config;
  EXPECT_EQ(config.path, "accounts.db");
  EXPECT_EQ(config.busy_timeout, absl::Seconds(5));
  EXPECT_EQ(config.hasher.opslimit, kInteractiveOpsLimit);
  EXPECT_EQ(config.hasher.memlimit, kInteractiveMemLimit);
}

TEST(AccountNameTest, FourToTenOfTheAllowedCharacters) {
  EXPECT_TRUE(ValidateAccountName("abcd").ok());
  EXPECT_TRUE(ValidateAccountName("Ab_9012345").ok());
  const char* bad[] = {"",      "abc",         "abcdefghijk", "ab cd",
                       "ab-cd", "t\xc3\xabst", "abc\n",       "ab;d'"};
  for (const char* name : bad) {
    absl::Status s = ValidateAccountName(name);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << name;
    EXPECT_TRUE(absl::EndsWith(
        s.message(), "is invalid: 4 to 10 characters of A-Z a-z 0-9 _"))
        << s.message();
  }
}

TEST(AccountNameTest, ErrorsQuoteTheNameEscapedAndCut) {
  EXPECT_EQ(ValidateAccountName("a\x1b[2J").message(),
            "account name 'a\\x1b[2J' is invalid: 4 to 10 characters of A-Z "
            "a-z 0-9 _");
  const std::string long_name(40, 'x');
  EXPECT_EQ(ValidateAccountName(long_name).message(),
            "account name '" + std::string(32, 'x') +
                "'... is invalid: 4 to 10 characters of A-Z a-z 0-9 _");
  EXPECT_EQ(NoSuchAccountError("nobody").message(),
            "no account named 'nobody'");
  EXPECT_EQ(NoSuchAccountError("nobody").code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(AccountNameTakenError("test0").message(),
            "account name 'test0' is taken");
  EXPECT_EQ(AccountNameTakenError("test0").code(),
            absl::StatusCode::kAlreadyExists);
}

TEST(PasswordRuleTest, OneToTwentyPrintableAsciiNeverQuoted) {
  EXPECT_TRUE(ValidatePassword("x").ok());
  EXPECT_TRUE(ValidatePassword("12345678901234567890").ok());
  EXPECT_TRUE(ValidatePassword(" ~!@#$%^&*()_+{}|:\"<").ok());
  const std::string bad[] = {"",          "123456789012345678901",
                             "tab\there", std::string("nul\0x", 5),
                             "del\x7f",   "caf\xc3\xa9"};
  for (const std::string& password : bad) {
    absl::Status s = ValidatePassword(password);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(s.message(),
              "password is invalid: 1 to 20 printable ASCII characters");
  }
}

TEST(HashNewPasswordTest, ValidatesBeforeItHashes) {
  auto hasher = PasswordHasher::Create(testing::FastHasherConfig());
  ASSERT_TRUE(hasher.ok()) << hasher.status();
  EXPECT_EQ(HashNewPassword(**hasher, "x", "pw").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(HashNewPassword(**hasher, "test0", "").status().message(),
            "password is invalid: 1 to 20 printable ASCII characters");
  absl::StatusOr<std::string> hash = HashNewPassword(**hasher, "test0", "pw");
  ASSERT_TRUE(hash.ok()) << hash.status();
  EXPECT_TRUE(absl::StartsWith(*hash, "$argon2id$")) << *hash;
  EXPECT_EQ((*hasher)->Verify(&*hash, "pw").match, PasswordMatch::kMatch);
}

TEST(AccountInfoTest, BlockedAtHonoursTheEndOfATemporaryBlock) {
  const absl::Time t = absl::FromUnixSeconds(1'800'000'000);
  AccountInfo info;
  EXPECT_FALSE(info.IsBlockedAt(t));
  info.state = AccountState::kBlocked;
  EXPECT_TRUE(info.IsBlockedAt(t + absl::Hours(24 * 365)));
  info.blocked_until = t;
  EXPECT_TRUE(info.IsBlockedAt(t - absl::Seconds(1)));
  EXPECT_FALSE(info.IsBlockedAt(t));
}

TEST(LoginResultTest, Names) {
  EXPECT_EQ(LoginResultName(LoginResult::kOk), "ok");
  EXPECT_EQ(LoginResultName(LoginResult::kNoSuchAccount), "no such account");
  EXPECT_EQ(LoginResultName(LoginResult::kWrongPassword), "wrong password");
  EXPECT_EQ(LoginResultName(LoginResult::kBlocked), "blocked");
  EXPECT_EQ(LoginResultName(LoginResult::kTemporarilyBlocked),
            "temporarily blocked");
  EXPECT_EQ(LoginResultName(LoginResult::kUnavailable), "unavailable");
}

TEST(AccountStoreOpenTest, OpensTheSqliteStoreBehindTheInterface) {
  TempDir dir;
  FakeClock clock;
  absl::StatusOr<std::unique_ptr<AccountStore>> store =
      AccountStore::Open(FastConfig(dir.File("accounts.db")), clock);
  ASSERT_TRUE(store.ok()) << store.status();
  ASSERT_TRUE((*store)->AddAccount("test0", "pw").ok());
  EXPECT_EQ((*store)->Verify("test0", "pw").result, LoginResult::kOk);
  EXPECT_EQ((*store)->hash_verifies(), 1u);
  EXPECT_EQ(AccountStore::Open(FastConfig(""), clock).status().message(),
            "account database path is empty");
}

}  // namespace
}  // namespace muwarden::game
