#include "server/game/account/account_cli.h"

#include <unistd.h>

#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "gtest/gtest.h"
#include "tests/unit/server/game/account/account_test_util.h"

namespace muwarden::game {
namespace {

using ::muwarden::game::testing::FastConfig;
using ::muwarden::game::testing::TempDir;

struct Outcome {
  int code;
  std::string out;
  std::string err;
};

class AccountCliTest : public ::testing::Test {
 protected:
  AccountCliTest() : config_(FastConfig(dir_.File("accounts.db"))) {}

  Outcome Run(const std::vector<std::string>& args,
              const std::string& stdin_text = "") {
    std::istringstream in(stdin_text);
    std::ostringstream out;
    std::ostringstream err;
    int code = RunAccountCommand(args, config_, clock_, in, out, err);
    return Outcome{code, out.str(), err.str()};
  }

  // Direct view of the database the CLI wrote.
  std::unique_ptr<AccountStore> Store() {
    auto opened = AccountStore::Open(config_, clock_);
    EXPECT_TRUE(opened.ok()) << opened.status();
    return opened.ok() ? *std::move(opened) : nullptr;
  }

  bool DatabaseExists() { return access(config_.path.c_str(), F_OK) == 0; }

  TempDir dir_;
  AccountStoreConfig config_;
  FakeClock clock_;
};

TEST_F(AccountCliTest, AddReadsTheFirstStdinLine) {
  Outcome o = Run({"add", "test0"}, "s3cret pw\nsecond line\n");
  EXPECT_EQ(o.code, 0);
  EXPECT_EQ(o.out, "account 'test0' added\n");
  EXPECT_EQ(o.err, "");
  auto store = Store();
  EXPECT_EQ(store->Verify("test0", "s3cret pw").result, LoginResult::kOk);
  EXPECT_EQ(store->Verify("test0", "second line").result,
            LoginResult::kWrongPassword);
}

TEST_F(AccountCliTest, AddAcceptsCrLfAndNoFinalNewline) {
  EXPECT_EQ(Run({"add", "test0"}, "pw0\r\n").code, 0);
  EXPECT_EQ(Run({"add", "test1"}, "pw1").code, 0);
  auto store = Store();
  EXPECT_EQ(store->Verify("test0", "pw0").result, LoginResult::kOk);
  EXPECT_EQ(store->Verify("test1", "pw1").result, LoginResult::kOk);
}

TEST_F(AccountCliTest, AddRefusesMissingOrEmptyPassword) {
  Outcome o = Run({"add", "test0"}, "");
  EXPECT_EQ(o.code, 2);
  EXPECT_EQ(o.out, "");
  EXPECT_EQ(o.err, "no password on standard input\n");
  o = Run({"add", "test0"}, "\nlater\n");
  EXPECT_EQ(o.code, 2);
  EXPECT_EQ(o.err, "password is empty\n");
  o = Run({"add", "test0"}, "\r\n");
  EXPECT_EQ(o.code, 2);
  EXPECT_EQ(o.err, "password is empty\n");
  // Nothing was opened, so nothing was created.
  EXPECT_FALSE(DatabaseExists());
}

TEST_F(AccountCliTest, AddRefusesBadPasswordWithoutEchoingIt) {
  const std::string bad[] = {"tab\tsecret\n", "123456789012345678901\n",
                             std::string(5000, 'z') + "\n"};
  for (const std::string& input : bad) {
    Outcome o = Run({"add", "test0"}, input);
    EXPECT_EQ(o.code, 2);
    EXPECT_EQ(o.out, "");
    EXPECT_EQ(o.err,
              "password is invalid: 1 to 20 printable ASCII characters\n");
  }
  EXPECT_FALSE(DatabaseExists());
}

TEST_F(AccountCliTest, AddRefusesBadNameBeforeReadingStdin) {
  Outcome o = Run({"add", "x"}, "pw\n");
  EXPECT_EQ(o.code, 2);
  EXPECT_EQ(o.out, "");
  EXPECT_EQ(o.err,
            "account name 'x' is invalid: 4 to 10 characters of A-Z a-z 0-9 "
            "_\n");
  EXPECT_FALSE(DatabaseExists());
}

TEST_F(AccountCliTest, AddDuplicateIsUsageError) {
  ASSERT_EQ(Run({"add", "test0"}, "pw\n").code, 0);
  Outcome o = Run({"add", "TEST0"}, "other\n");
  EXPECT_EQ(o.code, 2);
  EXPECT_EQ(o.err, "account name 'TEST0' is taken\n");
}

TEST_F(AccountCliTest, WrongArgumentCounts) {
  EXPECT_EQ(Run({"add"}).err, "usage: add NAME\n");
  EXPECT_EQ(Run({"add"}).code, 2);
  EXPECT_EQ(Run({"show", "a", "b"}).err, "usage: show NAME\n");
  EXPECT_EQ(Run({"unblock"}).err, "usage: unblock NAME\n");
  EXPECT_EQ(Run({"list", "extra"}).err, "usage: list\n");
  EXPECT_EQ(Run({"list", "extra"}).code, 2);
  EXPECT_FALSE(DatabaseExists());
}

TEST_F(AccountCliTest, UnknownOrMissingCommand) {
  Outcome o = Run({"delete", "test0"});
  EXPECT_EQ(o.code, 2);
  EXPECT_EQ(o.err,
            "account: unknown command 'delete' (add, passwd, block, unblock, "
            "list, show)\n");
  o = Run({});
  EXPECT_EQ(o.code, 2);
  EXPECT_TRUE(absl::StartsWith(o.err, "account: missing command")) << o.err;
  EXPECT_EQ(o.err.find('\n'), o.err.size() - 1);  // one line
  o = Run({"help"});
  EXPECT_EQ(o.code, 0);
  EXPECT_EQ(o.out, kAccountUsage);
}

TEST_F(AccountCliTest, PasswdChangesThePassword) {
  ASSERT_EQ(Run({"add", "test0"}, "old\n").code, 0);
  Outcome o = Run({"passwd", "test0"}, "newpass\n");
  EXPECT_EQ(o.code, 0);
  EXPECT_EQ(o.out, "password of 'test0' changed\n");
  EXPECT_FALSE(absl::StrContains(o.out + o.err, "newpass"));
  auto store = Store();
  EXPECT_EQ(store->Verify("test0", "old").result, LoginResult::kWrongPassword);
  EXPECT_EQ(store->Verify("test0", "newpass").result, LoginResult::kOk);
}

TEST_F(AccountCliTest, PasswdUnknownAccountOrEmptyPassword) {
  ASSERT_EQ(Run({"add", "test0"}, "old\n").code, 0);
  Outcome o = Run({"passwd", "nobody"}, "pw\n");
  EXPECT_EQ(o.code, 2);
  EXPECT_EQ(o.err, "no account named 'nobody'\n");
  o = Run({"passwd", "test0"}, "\n");
  EXPECT_EQ(o.code, 2);
  EXPECT_EQ(o.err, "password is empty\n");
  EXPECT_EQ(Store()->Verify("test0", "old").result, LoginResult::kOk);
}

TEST_F(AccountCliTest, BlockPermanentlyAndUnblock) {
  ASSERT_EQ(Run({"add", "test0"}, "pw\n").code, 0);
  Outcome o = Run({"block", "test0"});
  EXPECT_EQ(o.code, 0);
  EXPECT_EQ(o.out, "account 'test0' blocked\n");
  EXPECT_EQ(Store()->Verify("test0", "pw").result, LoginResult::kBlocked);
  o = Run({"unblock", "test0"});
  EXPECT_EQ(o.code, 0);
  EXPECT_EQ(o.out, "account 'test0' unblocked\n");
  EXPECT_EQ(Store()->Verify("test0", "pw").result, LoginResult::kOk);
}

TEST_F(AccountCliTest, BlockForSecondsThenExpires) {
  ASSERT_EQ(Run({"add", "test0"}, "pw\n").code, 0);
  Outcome o = Run({"block", "test0", "--for", "3600"});
  EXPECT_EQ(o.code, 0);
  EXPECT_EQ(o.out, "account 'test0' blocked until 2026-01-01T01:00:00Z\n");
  EXPECT_EQ(Store()->Verify("test0", "pw").result,
            LoginResult::kTemporarilyBlocked);
  clock_.Advance(absl::Seconds(3600));
  EXPECT_EQ(Store()->Verify("test0", "pw").result, LoginResult::kOk);

  o = Run({"block", "--for=60", "test0"});
  EXPECT_EQ(o.code, 0);
  EXPECT_EQ(o.out, "account 'test0' blocked until 2026-01-01T01:01:00Z\n");
}

TEST_F(AccountCliTest, BlockUntilUtcTime) {
  ASSERT_EQ(Run({"add", "test0"}, "pw\n").code, 0);
  Outcome o = Run({"block", "test0", "--until", "2026-02-01T12:30:00Z"});
  EXPECT_EQ(o.code, 0);
  EXPECT_EQ(o.out, "account 'test0' blocked until 2026-02-01T12:30:00Z\n");
  // An explicit offset is converted to UTC.
  o = Run({"block", "test0", "--until=2026-02-01T14:30:00+02:00"});
  EXPECT_EQ(o.code, 0);
  EXPECT_EQ(o.out, "account 'test0' blocked until 2026-02-01T12:30:00Z\n");
  EXPECT_EQ(Store()->Get("test0")->blocked_until,
            absl::FromUnixSeconds(1769949000));
}

TEST_F(AccountCliTest, BlockRejectsBadOptions) {
  ASSERT_EQ(Run({"add", "test0"}, "pw\n").code, 0);
  struct Case {
    std::vector<std::string> args;
    std::string err;
  } const cases[] = {
      {{"block", "test0", "--until", "2025-12-31T23:59:59Z"},
       "block end 2025-12-31T23:59:59Z is not in the future\n"},
      {{"block", "test0", "--until", "tomorrow"},
       "block: --until 'tomorrow' is not a UTC time like "
       "2026-01-31T18:00:00Z\n"},
      {{"block", "test0", "--until", "2026-02-01 12:00:00"},
       "block: --until '2026-02-01 12:00:00' is not a UTC time like "
       "2026-01-31T18:00:00Z\n"},
      {{"block", "test0", "--for", "0"},
       "block: --for '0' is not a number of seconds from 1 to 3153600000\n"},
      {{"block", "test0", "--for", "1h"},
       "block: --for '1h' is not a number of seconds from 1 to 3153600000\n"},
      {{"block", "test0", "--for", "99999999999"},
       "block: --for '99999999999' is not a number of seconds from 1 to "
       "3153600000\n"},
      {{"block", "test0", "--for", "60", "--until", "2026-02-01T00:00:00Z"},
       "block: give --until or --for, not both\n"},
      {{"block", "test0", "--for", "60", "--for", "70"},
       "block: --for given twice\n"},
      {{"block", "test0", "--for"}, "block: --for needs a value\n"},
      {{"block", "test0", "--forever"},
       "block: unknown option '--forever' (use --until or --for)\n"},
      {{"block"},
       "usage: block NAME [--until YYYY-MM-DDTHH:MM:SSZ | --for SECONDS]\n"},
      {{"block", "test0", "test1"},
       "usage: block NAME [--until YYYY-MM-DDTHH:MM:SSZ | --for SECONDS]\n"},
      {{"block", "nobody"}, "no account named 'nobody'\n"},
      {{"block", "no"},
       "account name 'no' is invalid: 4 to 10 characters of A-Z a-z 0-9 "
       "_\n"},
  };
  for (const Case& c : cases) {
    Outcome o = Run(c.args);
    EXPECT_EQ(o.code, 2) << c.err;
    EXPECT_EQ(o.out, "");
    EXPECT_EQ(o.err, c.err);
  }
  EXPECT_EQ(Store()->Get("test0")->state, AccountState::kActive);
}

TEST_F(AccountCliTest, UnblockUnknownAccount) {
  ASSERT_EQ(Run({"add", "test0"}, "pw\n").code, 0);
  Outcome o = Run({"unblock", "nobody"});
  EXPECT_EQ(o.code, 2);
  EXPECT_EQ(o.err, "no account named 'nobody'\n");
}

TEST_F(AccountCliTest, ShowPrintsOneAccount) {
  ASSERT_EQ(Run({"add", "Test0"}, "pw\n").code, 0);
  Outcome o = Run({"show", "test0"});
  EXPECT_EQ(o.code, 0);
  EXPECT_EQ(o.out,
            "name: Test0\n"
            "state: active\n"
            "blocked_until: -\n"
            "created_at: 2026-01-01T00:00:00Z\n"
            "last_login: never\n");
  clock_.Advance(absl::Minutes(2));
  ASSERT_EQ(Store()->Verify("Test0", "pw").result, LoginResult::kOk);
  ASSERT_EQ(Run({"block", "test0", "--for", "60"}).code, 0);
  o = Run({"show", "test0"});
  EXPECT_EQ(o.out,
            "name: Test0\n"
            "state: blocked\n"
            "blocked_until: 2026-01-01T00:03:00Z\n"
            "created_at: 2026-01-01T00:00:00Z\n"
            "last_login: 2026-01-01T00:02:00Z\n");
  // After the block ends it reads as active without anyone unblocking.
  clock_.Advance(absl::Minutes(1));
  o = Run({"show", "test0"});
  EXPECT_TRUE(absl::StrContains(o.out, "state: active\nblocked_until: -\n"))
      << o.out;
  o = Run({"show", "nobody"});
  EXPECT_EQ(o.code, 2);
  EXPECT_EQ(o.err, "no account named 'nobody'\n");
}

TEST_F(AccountCliTest, ListPrintsATable) {
  Outcome o = Run({"list"});
  EXPECT_EQ(o.code, 0);
  EXPECT_EQ(o.out,
            "NAME        STATE    BLOCKED_UNTIL         CREATED_AT           "
            " LAST_LOGIN\n");
  ASSERT_EQ(Run({"add", "test0"}, "pw\n").code, 0);
  ASSERT_EQ(Run({"add", "admin_1"}, "pw\n").code, 0);
  ASSERT_EQ(Run({"add", "zed9"}, "pw\n").code, 0);
  ASSERT_EQ(Run({"block", "test0"}).code, 0);
  ASSERT_EQ(Run({"block", "zed9", "--for", "30"}).code, 0);
  o = Run({"list"});
  EXPECT_EQ(o.code, 0);
  EXPECT_EQ(o.err, "");
  EXPECT_EQ(o.out,
            "NAME        STATE    BLOCKED_UNTIL         CREATED_AT           "
            " LAST_LOGIN\n"
            "admin_1     active   -                     2026-01-01T00:00:00Z "
            " never\n"
            "test0       blocked  permanent             2026-01-01T00:00:00Z "
            " never\n"
            "zed9        blocked  2026-01-01T00:00:30Z  2026-01-01T00:00:00Z "
            " never\n");
}

TEST_F(AccountCliTest, DatabaseThatCannotBeOpenedIsRuntimeFailure) {
  config_.path = dir_.File("missing/dir/accounts.db");
  Outcome o = Run({"list"});
  EXPECT_EQ(o.code, 1);
  EXPECT_EQ(o.out, "");
  EXPECT_EQ(o.err, "cannot open account database '" + config_.path +
                       "': No such file or directory\n");
  o = Run({"add", "test0"}, "pw\n");
  EXPECT_EQ(o.code, 1);
}

TEST_F(AccountCliTest, BadSettingsAreUsageErrors) {
  config_.hasher.memlimit = 1;
  Outcome o = Run({"list"});
  EXPECT_EQ(o.code, 2);
  EXPECT_TRUE(absl::StartsWith(o.err, "account memlimit 1 is out of range"))
      << o.err;
}

}  // namespace
}  // namespace muwarden::game
